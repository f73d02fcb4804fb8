// The recipe shared by the character language models of 8.5–9.4: the book's data (10,000
// characters of The Time Machine, batch 32, 35 steps), `train_ch8` and its report: perplexity and
// tokens/s of the last epoch, then the continuations of "time traveller" and "traveller".
import Dive
import DiveData
import DiveNN
import Foundation

public struct LanguageModelRecipe: Recipe {
    /// The en v1.0 settings: batch 1024, 32 steps, hidden 32, sliding windows.
    public struct EnSettings: Sendable {
        public var kind: LanguageModelConfig.Kind
        public var hidden: Int
        public var layers: Int = 1
        public var bidirectional = false
        public var lr: Float
        public var epochs: Int
    }

    public let listing: RecipeListing
    public let kind: LanguageModelConfig.Kind
    public let hidden: Int
    public var layers = 1
    public var bidirectional = false
    public let lr: Float
    /// What the book prints (zh, V100).
    public let bookResult: String
    public let en: EnSettings

    init(_ listing: RecipeListing, kind: LanguageModelConfig.Kind,
         hidden: Int, layers: Int = 1, bidirectional: Bool = false, lr: Float, bookResult: String, en: EnSettings) {
        self.listing = listing
        self.kind = kind; self.hidden = hidden; self.layers = layers; self.bidirectional = bidirectional
        self.lr = lr; self.bookResult = bookResult; self.en = en
    }

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
            : LanguageModelConfig(kind: en.kind, vocabSize: vocabSize, hidden: en.hidden, layers: en.layers, bidirectional: en.bidirectional)
    }

    /// The corpus and vocabulary of a preset: zh keeps the first 10,000 characters.
    public func corpus(_ options: RunOptions) throws -> (corpus: [Int32], vocab: Vocab) {
        let file = try options.dataDirectory.locate(.timeMachine)
        return try TimeMachine.loadCorpus(file: file, maxTokens: options.preset == .zh ? 10_000 : nil, edition: options.preset)
    }

    /// Trains and returns the model with its history (what `run` reports).
    public func train(_ options: RunOptions, randomIter: Bool = false) throws -> LanguageModelRun {
        let (corpus, vocab) = try corpus(options)
        let hyper = options.resolve(defaults(options.preset))
        let task = try LanguageModelTask(recipe: name, config: config(options.preset, vocabSize: vocab.count), corpus: corpus,
                                         vocab: vocab, preset: options.preset, hyper: hyper, numSteps: numSteps(options.preset),
                                         randomIter: randomIter, on: try options.backend, seed: options.seed)
        let history = try Trainer(task, hyper: hyper, options: options).run()
        return LanguageModelRun(model: task.languageModel, vocab: vocab, history: history)
    }

    public func run(_ options: RunOptions) throws -> RecipeReport {
        let run = try train(options)
        let backend = try options.backend
        let prefixes = options.preset == .zh ? ["time traveller", "traveller"] : ["it has"]
        let predictions = try prefixes.map {
            try LanguageModelPrediction.predict($0, count: options.preset == .zh ? 50 : 20, model: run.model,
                                                vocab: run.vocab, on: backend)
        }
        let line = String(format: "perplexity %.1f, %.1f tokens/sec on %@", run.perplexity, run.tokensPerSecond,
                          options.device.description as NSString)
        return RecipeReport(lines: [line] + predictions + ["(book, zh \(listing.section): \(bookResult))"],
                            metrics: ["perplexity": run.perplexity, "tokens_per_s": run.tokensPerSecond,
                                      "loss": run.history.last?.loss ?? .nan],
                            history: run.history, curve: "perplexity")
    }
}
