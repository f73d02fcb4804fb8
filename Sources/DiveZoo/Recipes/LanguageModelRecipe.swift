// The recipe shared by the character language models of 8.5–9.4: the book's data (10,000
// characters of The Time Machine, batch 32, 35 steps), `train_ch8` and its report: perplexity and
// tokens/s of the last epoch, then the continuations of "time traveller" and "traveller". On a
// text of one's own (`--text`) it reports the held-out perplexity too and continues the text's first word.
import Dive
import DiveData
import DiveNN
import Foundation

/// 8.5–9.4: a character language model trained on The Time Machine as the book's `train_ch8` trains
/// it; each section's settings are a static instance (`rnnScratch`, `rnn`, … `biLSTM`).
public struct LanguageModelRecipe: Recipe {
    /// The en v1.0 settings: batch 1024, 32 steps, hidden 32, sliding windows.
    public struct EnSettings: Sendable {
        /// The model the en edition trains (its 9.3 row stacks GRUs where zh stacks LSTMs).
        public var kind: LanguageModelConfig.Kind
        /// The hidden width (32 in every en row).
        public var hidden: Int
        /// The number of stacked layers.
        public var layers: Int = 1
        /// Whether the recurrent layer is bidirectional (9.4).
        public var bidirectional = false
        /// The SGD learning rate.
        public var lr: Float
        /// Epochs of training (50 or 100 in the en rows).
        public var epochs: Int
    }

    /// The recipe's registry name, sections and summary.
    public let listing: RecipeListing
    /// The zh edition's model.
    public let kind: LanguageModelConfig.Kind
    /// The zh hidden width (256; 512 for 8.5).
    public let hidden: Int
    /// The zh number of stacked layers (2 for 9.3 and 9.4).
    public var layers = 1
    /// Whether the zh model is bidirectional (9.4).
    public var bidirectional = false
    /// The zh SGD learning rate (1; 2 for 9.3).
    public let lr: Float
    /// What the book prints (zh, V100).
    public let bookResult: String
    /// The en v1.0 row's model and training.
    public let en: EnSettings

    init(
        _ listing: RecipeListing, kind: LanguageModelConfig.Kind,
        hidden: Int, layers: Int = 1, bidirectional: Bool = false, lr: Float, bookResult: String, en: EnSettings
    ) {
        self.listing = listing
        self.kind = kind; self.hidden = hidden; self.layers = layers; self.bidirectional = bidirectional
        self.lr = lr; self.bookResult = bookResult; self.en = en
    }

    /// SGD with clipping at 1: zh and paper 500 epochs of batch 32 at `lr`; en the en row's epochs and
    /// lr at batch 1024.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        switch preset {
        case .zh, .paper: return Hyperparameters(epochs: 500, lr: lr, batchSize: 32, optimizer: .sgd, clip: 1)
        case .en: return Hyperparameters(epochs: en.epochs, lr: en.lr, batchSize: 1024, optimizer: .sgd, clip: 1)
        }
    }

    /// Steps per sequence: 35 (zh), 32 (en).
    public func numSteps(_ preset: BookEdition) -> Int { preset == .zh ? 35 : 32 }

    /// The model configuration for a preset and vocabulary size.
    public func config(_ preset: BookEdition, vocabSize: Int) -> LanguageModelConfig {
        preset == .zh
            ? LanguageModelConfig(kind: kind, vocabSize: vocabSize, hidden: hidden, layers: layers, bidirectional: bidirectional)
            : LanguageModelConfig(
                kind: en.kind, vocabSize: vocabSize, hidden: en.hidden, layers: en.layers, bidirectional: en.bidirectional)
    }

    /// The corpus and vocabulary of a preset: zh keeps the first 10,000 characters.
    public func corpus(_ options: RunOptions) throws -> (corpus: [Int32], vocab: Vocab) {
        let file = try options.dataDirectory.locate(.timeMachine)
        return try TimeMachine.loadCorpus(file: file, maxTokens: options.preset == .zh ? 10_000 : nil, edition: options.preset)
    }

    /// Trains on `data(options)` and returns the model with its history (what `run` reports).
    public func train(_ options: RunOptions, randomIter: Bool = false) throws -> LanguageModelRun {
        let prepared = try data(options)
        let hyper = options.resolve(defaults(options.preset))
        let task = try LanguageModelTask(
            recipe: name, config: config(options.preset, vocabSize: prepared.vocab.count), corpus: prepared.train,
            vocab: prepared.vocab, tokens: prepared.tokens, heldOut: prepared.heldOut, preset: options.preset, hyper: hyper,
            numSteps: numSteps(options.preset), randomIter: randomIter, on: try options.backend, seed: options.seed)
        let history = try Trainer(task, hyper: hyper, options: options).run(steps: options.steps)
        return LanguageModelRun(model: task.languageModel, vocab: prepared.vocab, tokens: prepared.tokens, history: history)
    }

    /// Trains, then prints the last epoch's perplexity (and held-out perplexity) and tokens/s, greedy
    /// continuations (zh: 50 characters after "time traveller" and "traveller"; en: 20 after "it
    /// has"; a text of one's own: 50 characters or 20 words after its first word) and the book's result.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let run = try train(options)
        let backend = try options.backend
        let prefixes = options.text.map { [Self.firstWord($0)] } ?? (options.preset == .zh ? ["time traveller", "traveller"] : ["it has"])
        let count = options.text == nil ? (options.preset == .zh ? 50 : 20) : (run.tokens == .char ? 50 : 20)
        let predictions = try prefixes.map {
            try LanguageModelPrediction.predict(
                $0, count: count, model: run.model,
                vocab: run.vocab, tokens: run.tokens, on: backend)
        }
        let heldOut = Training.heldOutSummary(run.history, name: "perplexity", format: "%.1f", lowerIsBetter: true)
        let line = String(
            format: "perplexity %.1f%@, %.1f tokens/sec on %@", run.perplexity, heldOut as NSString, run.tokensPerSecond,
            options.device.description as NSString)
        var metrics = ["perplexity": run.perplexity, "tokens_per_s": run.tokensPerSecond, "loss": run.history.last?.loss ?? .nan]
        metrics["validation"] = run.history.last?.validation
        return RecipeReport(
            lines: [line] + predictions + (options.text == nil ? ["(book, zh \(listing.section): \(bookResult))"] : []),
            metrics: metrics, history: run.history, curve: "perplexity")
    }

    /// A text of one's own is continued after its first word (and a space, for characters).
    static func firstWord(_ text: TextCorpus) -> String {
        let tokens = text.corpus.lazy.map { text.vocab.token(at: Int($0)) }
        if text.tokens == .word { return tokens.first ?? "" }
        return tokens.drop { $0.allSatisfy(\.isWhitespace) }.prefix { !$0.allSatisfy(\.isWhitespace) }.joined() + " "
    }
}
