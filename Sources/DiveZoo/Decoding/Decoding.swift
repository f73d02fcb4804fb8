// Decoding a trained seq2seq model (9.7, 9.8): the book's greedy `predict_seq2seq`, beam search
// scored by log-probability with an optional length penalty, and the log-probability of a given
// output under step-by-step decoding (the measure both searches optimise).
import Dive
import DiveData
import Foundation

/// One decoded output: tokens without `<eos>`, whether `<eos>` ended it, and its log-probability.
public struct Decoded: Equatable, Sendable {
    /// The output's target-vocabulary indices, without `<bos>` and `<eos>`.
    public var tokens: [Int]
    /// Whether the model predicted `<eos>` (false: decoding stopped after `numSteps` steps).
    public var endedWithEOS: Bool
    /// The natural log of the probability of `tokens`, and of the `<eos>` when it ended with one.
    public var logProbability: Double
    /// The tokens as target-vocabulary words joined by single spaces.
    public var text: String
}

/// Translates English sentences with a trained encoder-decoder (9.7, 10.4, 10.7): greedy decoding,
/// beam search (9.8) and the log-probability of a given output.
public struct Translator {
    /// The trained model it decodes with; each decoding call puts it in eval mode.
    public let model: any EncoderDecoder
    /// The source (English) and target (French) vocabularies the model was trained with.
    public let srcVocab: Vocab, tgtVocab: Vocab
    let backend: Backend
    /// Whether a sentence is lower-cased before it is looked up: the book's vocabulary has no
    /// capitals; one of raw pairs (`--raw`) may, and then the sentence keeps its case.
    let lowercasesSource: Bool

    /// A translator for `model` and its two vocabularies, on the model's backend; throws when the
    /// model has no parameters.
    public init(model: any EncoderDecoder, srcVocab: Vocab, tgtVocab: Vocab) throws {
        guard let b = model.backend else { throw ZooError.invalidOption("the model has no parameters") }
        self.model = model; self.srcVocab = srcVocab; self.tgtVocab = tgtVocab; backend = b
        lowercasesSource = !srcVocab.idxToToken.contains { $0 != Vocab.unknownToken && $0.contains(where: \.isUppercase) }
    }

    var numSteps: Int { model.numSteps }
    var bos: Int { tgtVocab["<bos>"] }
    var eos: Int { tgtVocab["<eos>"] }

    /// The decoder's initial state for a sentence (lower-cased unless the vocabulary has capitals,
    /// split on spaces, `<eos>`), with the book's `enc_valid_len` (the source length with `<eos>`).
    func encode(_ sentence: String) throws -> DecoderState {
        let (indices, validLength) = Translation.encodeSource(
            sentence, vocab: srcVocab, numSteps: numSteps, lowercase: lowercasesSource)
        return try model.beginDecoding(source: indices, validLength: validLength)
    }

    /// One decoder step for K hypotheses: last tokens (K) and state → log-probabilities
    /// (K rows of V) and the new state.
    func step(_ tokens: [Int], _ state: DecoderState) throws -> (logProbs: [[Double]], state: DecoderState) {
        let K = tokens.count
        let (logits, next) = try model.decodeStep(tokens.map(Int32.init), state: state)
        let flat = try logits.toDoubleArray()  // (K, V)
        let V = flat.count / K
        let rows = (0..<K).map { k -> [Double] in
            let row = flat[(k * V)..<((k + 1) * V)]
            let m = row.max()!
            let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            return row.map { $0 - lse }
        }
        return (rows, next)
    }

    func decoded(_ tokens: [Int], eos ended: Bool, logP: Double) -> Decoded {
        Decoded(
            tokens: tokens, endedWithEOS: ended, logProbability: logP,
            text: tokens.map { tgtVocab.token(at: $0) }.joined(separator: " "))
    }

    /// The book's `predict_seq2seq`: argmax each step; stops when `<eos>` is predicted (not
    /// emitted) or after num_steps steps.
    public func greedy(_ sentence: String) throws -> Decoded {
        try greedy(sentence, eachStep: nil)
    }

    /// Greedy decoding that calls `eachStep` after every decoder step (the attention recorder).
    func greedy(_ sentence: String, eachStep: (() throws -> Void)?) throws -> Decoded {
        try Autograd.withoutGrad {
            model.eval()
            var state = try encode(sentence)
            var out: [Int] = [], logP = 0.0, last = bos
            for _ in 0..<numSteps {
                let (lp, next) = try step([last], state)
                try eachStep?()
                state = next
                let best = lp[0].indices.max { lp[0][$0] < lp[0][$1] }!
                logP += lp[0][best]
                if best == eos { return decoded(out, eos: true, logP: logP) }
                out.append(best)
                last = best
            }
            return decoded(out, eos: false, logP: logP)
        }
    }

    /// Beam search (9.8): keeps the `beam` most probable prefixes each step; a prefix that
    /// predicts `<eos>` is complete. Candidates are ranked by log P / L^α (L counts the tokens and
    /// the `<eos>`; α = `lengthPenalty`, the book uses 0.75; 0 ranks by probability alone). The
    /// greedy output is always among the candidates, so with α = 0 the result is at least as
    /// probable as greedy decoding.
    public func beamSearch(_ sentence: String, beam: Int, lengthPenalty alpha: Double = 0) throws -> Decoded {
        guard beam >= 1 else { throw ZooError.invalidOption("--beam must be at least 1 (got \(beam))") }
        let greedyResult = try greedy(sentence)
        if beam == 1 { return greedyResult }
        return try Autograd.withoutGrad {
            model.eval()
            var state = try encode(sentence)  // one hypothesis
            var alive: [(tokens: [Int], logP: Double)] = [([], 0)]
            var complete: [Decoded] = [greedyResult]
            for _ in 0..<numSteps {
                let K = alive.count
                let (lp, next) = try step(alive.map { $0.tokens.last ?? bos }, state)
                var candidates: [(parent: Int, token: Int, logP: Double)] = []
                for k in 0..<K { for (v, p) in lp[k].enumerated() { candidates.append((k, v, alive[k].logP + p)) } }
                candidates.sort { $0.logP > $1.logP }
                var newAlive: [(tokens: [Int], logP: Double)] = [], parents: [Int] = []
                for c in candidates.prefix(beam) {
                    if c.token == eos {
                        complete.append(decoded(alive[c.parent].tokens, eos: true, logP: c.logP))
                    } else {
                        newAlive.append((alive[c.parent].tokens + [c.token], c.logP))
                        parents.append(c.parent)
                    }
                }
                alive = newAlive
                if alive.isEmpty { break }
                state = try next.selecting(parents)
            }
            complete += alive.map { decoded($0.tokens, eos: false, logP: $0.logP) }
            func ranked(_ d: Decoded) -> Double {
                d.logProbability / Foundation.pow(Double(d.tokens.count + (d.endedWithEOS ? 1 : 0)), alpha)
            }
            return complete.max { ranked($0) < ranked($1) }!
        }
    }

    /// log P(tokens [, <eos>]) under step-by-step decoding from `<bos>`: what greedy and beam
    /// search maximise, computed independently of either.
    public func logProbability(_ sentence: String, tokens: [Int], endedWithEOS: Bool) throws -> Double {
        try Autograd.withoutGrad {
            model.eval()
            var state = try encode(sentence)
            var logP = 0.0, last = bos
            for target in tokens + (endedWithEOS ? [eos] : []) {
                let (lp, next) = try step([last], state)
                state = next
                logP += lp[0][target]
                last = target
            }
            return logP
        }
    }
}
