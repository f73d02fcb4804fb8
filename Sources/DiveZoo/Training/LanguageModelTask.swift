// The book's `train_ch8` as a task: per minibatch the state is created (first batch, or every batch
// for random iteration) or detached, and the mean cross-entropy over Y.T is the loss; the epoch
// reports perplexity, and the held-out perplexity when part of the corpus is held out. Checkpoints
// carry the configuration, the vocabulary and the tokenisation (characters or words).
import Dive
import DiveData
import DiveNN
import Foundation

/// The outcome of a language-model training run.
public struct LanguageModelRun: TrainingRun {
    /// The trained model.
    public var model: any LanguageModel
    /// The vocabulary it was trained with.
    public var vocab: Vocab
    /// Whether the vocabulary's tokens are characters or words.
    public var tokens: TokenKind = .char
    /// Every epoch's record, the last one what the book reports.
    public var history: [EpochRecord]
    /// The last epoch's perplexity (NaN before any epoch).
    public var perplexity: Double { history.last?.perplexity ?? .nan }
}

/// The book's `train_ch8` as a `Trainer` task (8.5–9.4): a character language model over a token
/// stream, its hidden state carried or begun anew per minibatch, the mean cross-entropy as loss.
public final class LanguageModelTask: TrainingTask {
    /// The recipe's registry name, stored in checkpoints ("custom" for a program's own stream).
    public let recipe: String
    /// The configuration the model was built from.
    public let config: LanguageModelConfig
    /// The model trained.
    public let languageModel: any LanguageModel
    /// The vocabulary of the corpus, stored in checkpoints.
    public let vocab: Vocab
    /// Whether the vocabulary's tokens are characters or words, stored in checkpoints.
    public let tokens: TokenKind
    /// The tokens held out for validation (none: empty): each epoch's `validation` is their perplexity.
    public let heldOut: TokenStream
    private let corpus: TokenStream
    private let preset: BookEdition
    private let batchSize: Int, numSteps: Int
    private let randomIter: Bool
    private let labelSmoothing: Float
    private var data: LanguageModelBatches?
    /// The hidden state carried between minibatches (this rank's rows).
    private var state: RecurrentState?

    /// A fresh model from `config` (initialised with `seed`) over `corpus`, batched the preset's way
    /// (zh sequential or random partitioning, en sliding windows) with `hyper`'s batch size; `heldOut`:
    /// tokens whose perplexity each epoch reports as its `validation` (at least `numSteps` + 1).
    public init(
        recipe: String, config: LanguageModelConfig, corpus: TokenStream, vocab: Vocab, tokens: TokenKind = .char,
        heldOut: TokenStream = TokenStream([]), preset: BookEdition, hyper: Hyperparameters, numSteps: Int, randomIter: Bool,
        on backend: Backend, seed: UInt64
    ) throws {
        guard heldOut.isEmpty || heldOut.count > numSteps else {
            throw ZooError.invalidOption("\(heldOut.count) held-out tokens are too few for one window of \(numSteps) steps")
        }
        self.recipe = recipe; self.config = config; self.corpus = corpus; self.vocab = vocab; self.preset = preset
        self.tokens = tokens; self.heldOut = heldOut
        self.batchSize = hyper.batchSize; self.numSteps = numSteps; self.randomIter = randomIter
        self.labelSmoothing = hyper.resolvedLabelSmoothing
        languageModel = try config.makeModel(on: backend, rng: HostRNG(seed: seed))
    }

    /// A language model on a program's own token stream, read the book's way: sequential
    /// partitioning, the state carried from one minibatch to the next.
    public convenience init(
        config: LanguageModelConfig, corpus: [Int32], vocab: Vocab, batchSize: Int, numSteps: Int,
        on backend: Backend, seed: UInt64 = 0
    ) throws {
        guard config.vocabSize == vocab.count else {
            throw ZooError.invalidOption("the model's vocabulary size \(config.vocabSize) is not the vocabulary's \(vocab.count)")
        }
        try self.init(
            recipe: "custom", config: config, corpus: TokenStream(corpus), vocab: vocab, preset: .zh,
            hyper: Hyperparameters(epochs: 1, lr: 0, batchSize: batchSize, optimizer: .adam),
            numSteps: numSteps, randomIter: false, on: backend, seed: seed)
    }

    /// The language model as a module.
    public var model: Module { languageModel }
    /// The hidden width, for the noam schedule.
    public var width: Int { config.hidden }

    /// Kind `language-model`, the configuration, the vocabulary and the tokenisation.
    public func checkpointMetadata() throws -> [String: String] {
        try ZooModel.languageModel(languageModel, vocab: vocab, tokens: tokens).metadata()
    }

    /// Throws unless the checkpoint holds a language model of this configuration, vocabulary and
    /// tokenisation, naming what differs.
    public func checkCompatible(_ meta: [String: String], path: String) throws {
        let stored = try Training.decodeConfig(LanguageModelConfig.self, meta["extra.config"], path: path)
        guard meta["extra.kind"] == "language-model", stored == config else {
            throw Training.anotherModel(
                path: path,
                meta["extra.kind"] == "language-model"
                    ? Training.differences(config, stored)
                    : "kind \(meta["extra.kind"] ?? "none")")
        }
        let storedTokens = try Self.tokenKind(meta, path: path)
        guard storedTokens == tokens, try Training.decode(Vocab.self, meta["extra.vocab"], key: "vocab", path: path) == vocab else {
            throw Training.anotherModel(
                path: path,
                storedTokens == tokens ? "another vocabulary: another text" : "\(storedTokens.rawValue) tokens, not \(tokens.rawValue)")
        }
    }

    /// The tokenisation a checkpoint stores (`extra.tokens`); checkpoints from before it was stored hold characters.
    static func tokenKind(_ meta: [String: String], path: String) throws -> TokenKind {
        guard let text = meta["extra.tokens"] else { return .char }
        guard let kind = TokenKind(rawValue: text) else {
            throw ZooError.badCheckpoint(path: path, detail: "metadata 'tokens' is '\(text)'; this Dive knows char and word")
        }
        return kind
    }

    /// The preset's loader over the corpus, from `position`.
    public func startData(at position: LoaderPosition) throws {
        data = try LanguageModelBatches.make(
            corpus: corpus, preset: preset, batchSize: batchSize, numSteps: numSteps,
            randomIter: randomIter, position: position)
    }

    /// The loader's position; before `startData`, the start of the first epoch.
    public var position: LoaderPosition { data?.position ?? .notStarted }
    /// The loader's minibatches per epoch; 0 before `startData`.
    public var batchesPerEpoch: Int { data?.batchesPerEpoch ?? 0 }
    /// The loader's next batch-major `TokenBatch`, or nil at the epoch's end (and before `startData`).
    public func nextBatch() -> TokenBatch? { data?.next() }
    /// The tokens of a batch: B · T.
    public func count(_ batch: TokenBatch) -> Int { batch.batchSize * batch.numSteps }
    /// Drops the hidden state: each epoch starts from `beginState`.
    public func beginEpoch() { state = nil }

    /// The hidden state (and LSTM memory) when it carries over to the next minibatch.
    public func carriedState() throws -> [String: SafeTensor] {
        guard let state, data?.carriesState == true else { return [:] }
        var out = ["h": SafeTensor(try state.h.toArray(), shape: state.h.shape)]
        if let c = state.c { out["c"] = SafeTensor(try c.toArray(), shape: c.shape) }
        return out
    }

    /// Puts back the hidden state (and LSTM memory) of a checkpoint taken mid-epoch; none when it has
    /// no `h`.
    public func restore(carriedState: [String: SafeTensor]) throws {
        guard let h = carriedState["h"], let hv = h.floats else { state = nil; return }
        let backend = try languageModel.backend.orThrow()
        let c = try carriedState["c"].map { t -> Tensor in
            guard let v = t.floats else { throw ZooError.invalidOption("carried state 'c' is not F32") }
            return try Tensor(v, shape: t.shape, on: backend)
        }
        state = RecurrentState(h: try Tensor(hv, shape: h.shape, on: backend), c: c)
    }

    /// This rank's rows' cross-entropy summed and divided by the global minibatch's T·B tokens, with the
    /// state detached when it carries over and begun anew when not.
    public func loss(_ shard: TokenBatch, globalRows: Int) throws -> StepLoss {
        let backend = try languageModel.backend.orThrow()
        let B = shard.batchSize, T = shard.numSteps
        if let s = state, data?.carriesState == true {
            state = s.detached()
        } else {
            state = try languageModel.beginState(batchSize: B, on: backend)
        }
        let batch = try LanguageModelBatch(shard, on: backend)  // (T, B) and (T·B)
        let (logits, next) = try languageModel.forward(batch, state: state!)  // (T·B, V)
        state = next
        // The mean over the global minibatch's T·B tokens, of which these rows hold T·B_shard.
        let tokens = T * globalRows
        let loss = try logits.crossEntropySum(targets: batch.targets, labelSmoothing: labelSmoothing, scale: 1 / Float(tokens))
        return StepLoss(loss: loss, toSum: Float(tokens))
    }

    /// Sets the record's perplexity to exp(loss), and its `validation` to the held-out tokens'
    /// perplexity (`Evaluation.perplexity` in `heldOutRows` rows of `numSteps`) when there are some.
    public func evaluate(_ record: inout EpochRecord) throws {
        record.perplexity = Foundation.exp(record.loss)
        if !heldOut.isEmpty {
            record.validation = try Evaluation.perplexity(languageModel, tokens: heldOut, batchSize: heldOutRows, numSteps: numSteps)
        }
    }

    /// The rows the held-out perplexity is read in: the batch size, or fewer so that each row
    /// predicts at least `numSteps` tokens.
    public var heldOutRows: Int { Swift.max(1, Swift.min(batchSize, (heldOut.count - 1) / numSteps)) }

    /// "perplexity 9.87" for progress lines, and "held-out 10.12" after it when there is one.
    public func metric(_ record: EpochRecord) -> String {
        String(format: "perplexity %.2f", record.perplexity ?? .nan)
            + (record.validation.map { String(format: "  held-out %.2f", $0) } ?? "")
    }

    /// Rebuilds a trained model, its vocabulary and tokenisation from a checkpoint `dive train` wrote
    /// (one without a tokenisation holds characters), or, with
    /// `recipe`, from a PyTorch `state_dict` in the book's `RNNModel` layout saved by
    /// `safetensors.torch.save_file` (no Dive metadata): the configuration is read from the
    /// shapes and the vocabulary rebuilt the book's way from the recipe's data.
    public static func load(
        checkpoint url: URL, on backend: Backend, recipe: LanguageModelRecipe? = nil,
        data: DataDirectory = DataDirectory()
    ) throws -> (model: any LanguageModel, vocab: Vocab, recipe: String, tokens: TokenKind) {
        let (file, plainRecipe) = try Training.readCheckpoint(
            url, recipe, layout: "RNNModel", names: "rnn, gru, lstm, deep-lstm, bi-lstm")
        if let recipe = plainRecipe {
            var options = RunOptions()
            options.dataDirectory = data
            let vocab = try recipe.corpus(options).vocab
            let config = try plainConfig(file, kind: recipe.kind, vocab: vocab.count, path: url.path)
            let model = try config.makeModel(on: backend, rng: HostRNG(seed: 0))
            try Checkpoint.load(file, path: url.path, into: model)
            return (model, vocab, recipe.name, .char)
        }
        let meta = file.metadata
        guard meta["extra.kind"] == "language-model" else {
            throw ZooError.badCheckpoint(
                path: url.path,
                detail: "not a language-model checkpoint (kind '\(meta["extra.kind"] ?? "none")'); use `dive translate` for seq2seq")
        }
        let config = try Training.decodeConfig(LanguageModelConfig.self, meta["extra.config"], path: url.path)
        let vocab = try Training.decode(Vocab.self, meta["extra.vocab"], key: "vocab", path: url.path)
        let tokens = try tokenKind(meta, path: url.path)
        let model = try config.makeModel(on: backend, rng: HostRNG(seed: 0))
        try Checkpoint.load(file, path: url.path, into: model)
        return (model, vocab, meta["extra.recipe"] ?? "?", tokens)
    }
}

extension LanguageModelTask {
    /// The configuration of a PyTorch `RNNModel` state_dict, from its tensors' names and shapes.
    static func plainConfig(_ file: SafeTensorsFile, kind: LanguageModelConfig.Kind, vocab: Int, path: String) throws -> LanguageModelConfig
    {
        guard let hh = file.tensors["rnn.weight_hh_l0"], hh.shape.count == 2, let linear = file.tensors["linear.weight"],
            linear.shape.count == 2
        else {
            throw ZooError.badCheckpoint(path: path, detail: "not the book's RNNModel: it needs rnn.weight_hh_l0 and linear.weight")
        }
        let layers = (0...).prefix { file.tensors["rnn.weight_ih_l\($0)"] != nil }.count
        let config = LanguageModelConfig(
            kind: kind, vocabSize: linear.shape[0], hidden: hh.shape[1], layers: layers,
            bidirectional: file.tensors["rnn.weight_ih_l0_reverse"] != nil)
        try ModelLimits.check(config, path: path)
        guard config.vocabSize == vocab else {
            throw ZooError.badCheckpoint(
                path: path, detail: "its output layer has \(config.vocabSize) tokens; the book's vocabulary for this recipe has \(vocab)")
        }
        return config
    }
}

extension Optional where Wrapped == Backend {
    /// The model's device, or an error for a model without parameters.
    func orThrow() throws -> Backend {
        guard let self else { throw ZooError.invalidOption("the model has no parameters") }
        return self
    }
}
