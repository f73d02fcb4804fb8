// Self-describing checkpoints of the zoo's models. Saving writes the weights with the model's
// kind, configuration and vocabularies (the metadata `dive train` writes too), and one
// `ZooModel.load` rebuilds any of them on any device, ready to use: `dive predict`, `dive translate`
// and `dive predict-nli` read the same files.
import Dive
import DiveData
import DiveNN
import Foundation

/// A zoo model with the vocabularies it needs to be used.
public enum ZooModel {
    /// A language model (8.5–9.4), its vocabulary, and whether its tokens are characters (the book's)
    /// or words.
    case languageModel(any LanguageModel, vocab: Vocab, tokens: TokenKind = .char)
    /// An encoder–decoder (9.7, 10.4, 10.7) and its source and target vocabularies.
    case translation(any EncoderDecoder, source: Vocab, target: Vocab)
    /// Decomposable attention (15.5) and its vocabulary.
    case nli(DecomposableAttention, vocab: Vocab)
    /// A decoder-only Transformer language model (the `gpt` recipe), its vocabulary and tokenisation.
    case gpt(GPT, vocab: Vocab, tokens: TokenKind)

    /// The model itself (to move, evaluate or train further).
    public var module: Module {
        switch self {
        case let .languageModel(m, _, _): return m
        case let .translation(m, _, _): return m
        case let .nli(m, _): return m
        case let .gpt(m, _, _): return m
        }
    }

    /// The kind stored in checkpoints: "language-model", "seq2seq", "bahdanau", "transformer", "nli", "gpt".
    public var kind: String {
        switch self {
        case .languageModel: return "language-model"
        case let .translation(m, _, _): return m.modelConfig.kind
        case .nli: return "nli"
        case .gpt: return "gpt"
        }
    }

    /// The metadata that describes the model: its kind, configuration and vocabularies, and a language
    /// model's tokenisation (stored as `extra.<key>` in a checkpoint).
    public func metadata() throws -> [String: String] {
        switch self {
        case let .languageModel(m, vocab, tokens):
            return ["kind": kind, "config": try Training.json(m.config), "vocab": try Training.json(vocab), "tokens": tokens.rawValue]
        case let .translation(m, source, target):
            return [
                "kind": kind, "config": try m.modelConfig.json(),
                "src_vocab": try Training.json(source), "tgt_vocab": try Training.json(target)
            ]
        case let .nli(m, vocab):
            return ["kind": kind, "config": try Training.json(m.config), "vocab": try Training.json(vocab)]
        case let .gpt(m, vocab, tokens):
            return ["kind": kind, "config": try Training.json(m.config), "vocab": try Training.json(vocab), "tokens": tokens.rawValue]
        }
    }

    /// Writes the model with its description (and, when given, the optimiser's state and the step
    /// count) atomically to `url`.
    public func save(to url: URL, optimizer: Optimizer? = nil, step: Int = 0) throws {
        try Checkpoint.save(to: url, model: module, optimizer: optimizer, info: CheckpointInfo(step: step, extra: metadata()))
    }

    /// Rebuilds the model a checkpoint describes (saved by `save(to:)` or `dive train`) on
    /// `backend`, in eval mode, with its vocabularies. A file of weights only (a PyTorch
    /// state_dict) needs its recipe: `LanguageModelTask.load` and `TranslationTask.load` take one.
    public static func load(from url: URL, on backend: Backend) throws -> ZooModel {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ZooError.badCheckpoint(path: url.path, detail: "no such file")
        }
        let kind = try SafeTensorsFile.read(from: url).metadata["extra.kind"]
        let loaded: ZooModel
        switch kind {
        case "language-model":
            let (model, vocab, _, tokens) = try LanguageModelTask.load(checkpoint: url, on: backend)
            loaded = .languageModel(model, vocab: vocab, tokens: tokens)
        case "seq2seq", "bahdanau", "transformer":
            let (model, source, target) = try TranslationTask.load(checkpoint: url, on: backend)
            loaded = .translation(model, source: source, target: target)
        case "nli":
            let predictor = try NLIPredictor(checkpoint: url, on: backend)
            loaded = .nli(predictor.model, vocab: predictor.vocab)
        case "gpt":
            let file = try SafeTensorsFile.read(from: url)
            let config = try Training.decodeConfig(GPTConfig.self, file.metadata["extra.config"], path: url.path)
            let model = try GPT(config, on: backend, rng: HostRNG(seed: 0))
            try Checkpoint.load(file, path: url.path, into: model)
            loaded = .gpt(
                model, vocab: try Training.decode(Vocab.self, file.metadata["extra.vocab"], key: "vocab", path: url.path),
                tokens: try LanguageModelTask.tokenKind(file.metadata, path: url.path))
        case nil:
            throw ZooError.badCheckpoint(
                path: url.path,
                detail:
                    "it holds weights only, without the model's kind, configuration and vocabularies; save zoo models with ZooModel.save(to:)"
            )
        case let other?:
            throw ZooError.badCheckpoint(
                path: url.path,
                detail: "unknown model kind '\(other)'; this Dive knows language-model, seq2seq, bahdanau, transformer, nli and gpt")
        }
        loaded.module.eval()
        return loaded
    }

    /// The language model and its vocabulary, or an error naming what the checkpoint holds
    /// (`tokenKind` says whether its tokens are characters or words).
    public func languageModel() throws -> (model: any LanguageModel, vocab: Vocab) {
        guard case let .languageModel(m, vocab, _) = self else {
            throw ZooError.invalidOption("this is a \(kind) model, not a language model")
        }
        return (m, vocab)
    }

    /// A language model's or GPT's tokenisation (characters or words); nil for the other kinds.
    public var tokenKind: TokenKind? {
        switch self {
        case let .languageModel(_, _, tokens), let .gpt(_, _, tokens): return tokens
        default: return nil
        }
    }

    /// The encoder–decoder and its vocabularies, or an error naming what the checkpoint holds.
    public func translation() throws -> (model: any EncoderDecoder, source: Vocab, target: Vocab) {
        guard case let .translation(m, s, t) = self else {
            throw ZooError.invalidOption("this is a \(kind) model, not a translation model")
        }
        return (m, s, t)
    }

    /// The NLI model and its vocabulary, or an error naming what the checkpoint holds.
    public func nli() throws -> (model: DecomposableAttention, vocab: Vocab) {
        guard case let .nli(m, vocab) = self else { throw ZooError.invalidOption("this is a \(kind) model, not an NLI model") }
        return (m, vocab)
    }
}
