// The book's `predict_snli`, and the model and vocabulary rebuilt from a checkpoint that
// `dive train nli` wrote: what `dive predict-nli` runs.
import Dive
import DiveData
import DiveNN
import Foundation

/// Classifies a premise and hypothesis as entailment, contradiction or neutral with a trained
/// decomposable attention model (15.5).
public struct NLIPredictor {
    /// The trained model; each prediction runs it in eval mode.
    public let model: DecomposableAttention
    /// The vocabulary the model was trained with, mapping tokens to embedding rows.
    public let vocab: Vocab

    /// A predictor from a model and its vocabulary; throws when the vocabulary's size is not the
    /// model's `vocabSize`.
    public init(model: DecomposableAttention, vocab: Vocab) throws {
        guard vocab.count == model.config.vocabSize else {
            throw ZooError.invalidOption("the vocabulary has \(vocab.count) tokens, the model's embedding \(model.config.vocabSize)")
        }
        self.model = model
        self.vocab = vocab
    }

    /// Loads a checkpoint written by `dive train nli`: its config and vocabulary, then the weights
    /// (every name and shape checked before anything is assigned).
    public init(checkpoint url: URL, on backend: Backend) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ZooError.badCheckpoint(path: url.path, detail: "no such file; write one with `dive train nli --checkpoint \(url.path)`")
        }
        let meta = try SafeTensorsFile.read(from: url).metadata
        guard meta["extra.kind"] == "nli" else {
            throw ZooError.badCheckpoint(
                path: url.path, detail: "not an nli checkpoint (kind '\(meta["extra.kind"] ?? "none")'); train one with `dive train nli`")
        }
        let config = try Training.decodeConfig(NLIConfig.self, meta["extra.config"], path: url.path)
        let vocab = try Training.decode(Vocab.self, meta["extra.vocab"], key: "vocab", path: url.path)
        guard vocab.count == config.vocabSize else {
            throw ZooError.badCheckpoint(
                path: url.path, detail: "its vocabulary has \(vocab.count) tokens but its config says \(config.vocabSize)")
        }
        let model = try DecomposableAttention(config, on: backend, rng: HostRNG(seed: 0))
        try Checkpoint.load(from: url, into: model)
        model.eval()
        try self.init(model: model, vocab: vocab)
    }

    /// The book's tokenisation for prediction: whitespace split, case kept.
    public static func tokens(_ sentence: String) -> [String] { tokenize([sentence], as: .word)[0] }

    /// `predict_snli(net, vocab, premise, hypothesis)`: one pair, unpadded, in eval mode.
    public func predict(premise: [String], hypothesis: [String]) throws -> SNLILabel {
        guard !premise.isEmpty, !hypothesis.isEmpty else {
            throw ZooError.invalidOption(
                "the \(premise.isEmpty ? "premise" : "hypothesis") has no tokens; give a sentence such as \"he is good .\"")
        }
        guard let backend = model.backend else { throw ZooError.invalidOption("the model has no parameters") }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let p = premise.map { Int32(vocab[$0]) }, h = hypothesis.map { Int32(vocab[$0]) }
        let logits = try Autograd.withoutGrad {
            try model(
                premises: Tensor(p, shape: [1, p.count], on: backend),
                hypotheses: Tensor(h, shape: [1, h.count], on: backend))  // (1, 3)
        }
        let label = try logits.argmax(axis: 1).toInt32Array()[0]
        guard let result = SNLILabel(rawValue: Int(label)) else {
            throw ZooError.invalidOption("the model produced class \(label), outside 0...2")
        }
        return result
    }

    /// `predict` on two sentences tokenised as in training.
    public func predict(premise: String, hypothesis: String) throws -> SNLILabel {
        try predict(premise: Self.tokens(premise), hypothesis: Self.tokens(hypothesis))
    }
}
