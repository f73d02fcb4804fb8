// Held-out figures of the zoo's three kinds of model, in eval mode (dropout off) and without
// recording gradients: a language model's perplexity over a token stream, a translation model's
// mean BLEU over sentence pairs (greedy decoding, as the book scores), and a classifier's accuracy.
// The tasks' per-epoch evaluations use these.
import Dive
import DiveData
import DiveNN
import Foundation

/// Held-out figures in eval mode without recording gradients: a language model's perplexity, a
/// translation model's mean BLEU and the NLI model's accuracy.
public enum Evaluation {
    /// exp(mean cross-entropy per token) of `model` over `tokens`, read the way the model trains:
    /// the stream laid out as `batchSize` rows walked `numSteps` at a time, the state carried from
    /// one window to the next. Every token but the first of each row is predicted once; a tail too
    /// short for a full row is left out. One host read.
    public static func perplexity<Tokens: RandomAccessCollection>(
        _ model: any LanguageModel, tokens: Tokens, batchSize: Int = 32, numSteps: Int = 35
    ) throws -> Double where Tokens.Element == Int32, Tokens.Index == Int {
        guard batchSize > 0, numSteps > 0 else {
            throw ZooError.invalidOption("perplexity needs a positive batch size and number of steps, not \(batchSize) and \(numSteps)")
        }
        let rowLength = (tokens.count - 1) / batchSize
        guard rowLength >= 1 else {
            throw ZooError.invalidOption("\(tokens.count) tokens are too few for \(batchSize) rows of at least one prediction")
        }
        let backend = try model.backend.orThrow()
        return try evaluating(model) {
            var state = try model.beginState(batchSize: batchSize, on: backend)
            let sum = try EpochLoss(on: backend)
            for start in stride(from: 0, to: rowLength, by: numSteps) {
                let T = min(numSteps, rowLength - start)
                var x = [Int32](), y = [Int32]()  // batch-major rows, as a loader cuts them
                for b in 0..<batchSize {
                    let row = tokens.startIndex + b * rowLength + start
                    x += tokens[row..<(row + T)]
                    y += tokens[(row + 1)..<(row + 1 + T)]
                }
                let batch = try LanguageModelBatch(TokenBatch(x: x, y: y, batchSize: batchSize, numSteps: T), on: backend)
                let (logits, next) = try model.forward(batch, state: state)  // (T·B, V)
                state = next
                try sum.add(logits.crossEntropySum(targets: batch.targets))
            }
            return Foundation.exp(try sum.read() / Double(rowLength * batchSize))
        }
    }

    /// The mean over `pairs` (source, reference) of the book's BLEU (n-grams up to `k`) of the
    /// greedy translation.
    public static func bleu(_ model: any EncoderDecoder, source: Vocab, target: Vocab, pairs: [(String, String)], k: Int = 2) throws
        -> Double
    {
        guard !pairs.isEmpty else { throw ZooError.invalidOption("BLEU over no sentence pairs") }
        let translator = try Translator(model: model, srcVocab: source, tgtVocab: target)
        return try evaluating(model) {
            try pairs.reduce(0) { $0 + BLEU.score(try translator.greedy($1.0).text, $1.1, k: k) } / Double(pairs.count)
        }
    }

    /// The book's `evaluate_accuracy_gpu`: the share of `data`'s examples whose predicted class is
    /// their label.
    public static func accuracy(_ model: DecomposableAttention, _ data: SNLIDataset, batchSize: Int = 256) throws -> Double {
        var loader = try DataLoader(data, batchSize: batchSize, shuffle: false)
        return try evaluating(model) {
            var correct = 0
            while let batch = loader.next() { correct += try NLITask.matches(NLITask.forward(model, batch).logits, batch.labels) }
            return Double(correct) / Double(max(data.count, 1))
        }
    }

    /// `body` with `model` in eval mode and no gradients recorded; the mode is restored after.
    static func evaluating<R>(_ model: Module, _ body: () throws -> R) throws -> R {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        return try Autograd.withoutGrad(body)
    }
}
