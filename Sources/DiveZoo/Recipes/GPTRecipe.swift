// The `gpt` recipe: a decoder-only Transformer language model with nanoGPT's documented CPU run
// of shakespeare-char as its preset (4 layers, 4 heads, width 128, block 64, batch 12, dropout 0,
// AdamW lr 1e-3, β2 0.99, weight decay 0.1, 100 warmup iterations, cosine to 1e-4 at 2000, clip 1,
// 90/10 split), on The Time Machine (the book's 28 characters) or a text of one's own (`--text`).
// An epoch is 100 iterations, so the preset's 20 epochs are nanoGPT's 2000.
import Dive
import DiveData
import Foundation

/// A recipe that trains on a token stream, the book's or a text of one's own (`--text`).
public protocol TextTrainable: Recipe {
    /// The run's training and held-out tokens, checked: too few for one minibatch or one held-out
    /// window is a one-line error naming the source.
    func data(_ options: RunOptions) throws -> LanguageModelCorpus
}

extension LanguageModelRecipe: TextTrainable {}

/// A GPT (en 11.9) trained nanoGPT's way.
public struct GPTRecipe: TextTrainable {
    /// Registered as `gpt`.
    public let listing = RecipeListing(
        name: "gpt", section: "—", enSection: "11.9",
        summary: "decoder-only Transformer LM (pre-LN, tied embeddings), nanoGPT's shakespeare-char CPU run")
    /// Iterations per epoch.
    public static let iterationsPerEpoch = 100
    /// The preset's window length.
    public static let blockSize = 64

    /// The recipe; its settings come from `defaults` and `config`.
    public init() {}

    /// One preset for every edition: 20 epochs of 100 iterations, batch 12, AdamW (lr 1e-3, β2 0.99,
    /// weight decay 0.1), 100 warmup steps then cosine to 1e-4, clipping at 1.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        Hyperparameters(
            epochs: 20, lr: 1e-3, batchSize: 12, optimizer: .adamw, clip: 1, schedule: .cosine, warmupSteps: 100,
            adamBeta2: 0.99, weightDecay: 0.1, finalLR: 1e-4)
    }

    /// 4 layers, 4 heads, width 128, block 64, dropout 0 over `vocabSize` tokens.
    public func config(vocabSize: Int) -> GPTConfig {
        GPTConfig(vocabSize: vocabSize, blockSize: Self.blockSize, layers: 4, heads: 4, width: 128, dropout: 0)
    }

    /// The Time Machine whole (the book's 28 characters) or `options.text`, its last
    /// `options.validFraction` (default 0.1) held out.
    public func data(_ options: RunOptions) throws -> LanguageModelCorpus {
        let fraction = options.validFraction ?? 0.1
        guard fraction > 0 && fraction < 1 else {
            throw ZooError.invalidOption("gpt: --valid-fraction must be in (0, 1): the held-out loss is its figure (got \(fraction))")
        }
        let source: String, all: TokenStream, vocab: Vocab, tokens: TokenKind
        if let text = options.text {
            (source, all, vocab, tokens) = (text.path, text.corpus, text.vocab, text.tokens)
        } else {
            let book = try TimeMachine.loadCorpus(file: try options.dataDirectory.locate(.timeMachine), maxTokens: nil, edition: .zh)
            (source, all, vocab, tokens) = ("The Time Machine", TokenStream(book.corpus), book.vocab, .char)
        }
        let held = Int((Double(all.count) * fraction).rounded())
        let T = Self.blockSize
        guard held > T, all.count - held > T + 1 else {
            throw ZooError.invalidOption(
                "\(source): \(all.count - held) training and \(held) held-out tokens are too few for windows of \(T) (\(T + 2) and \(T + 1) needed); use a longer text"
            )
        }
        return LanguageModelCorpus(
            source: source, train: TokenStream(rebasing: all[..<(all.count - held)]),
            heldOut: TokenStream(rebasing: all[(all.count - held)...]), vocab: vocab, tokens: tokens)
    }

    /// Trains and returns the model with its history.
    public func train(_ options: RunOptions) throws -> GPTRun {
        let prepared = try data(options)
        let hyper = options.resolve(defaults(options.preset))
        let task = try GPTTask(
            config: config(vocabSize: prepared.vocab.count), corpus: prepared.train, heldOut: prepared.heldOut,
            vocab: prepared.vocab, tokens: prepared.tokens, batchSize: hyper.batchSize, batchesPerEpoch: Self.iterationsPerEpoch,
            on: try options.backend, seed: options.seed)
        let history = try Trainer(task, hyper: hyper, options: options).run()
        return GPTRun(model: task.gpt, vocab: prepared.vocab, tokens: prepared.tokens, history: history)
    }

    /// Trains, then prints the last epoch's training and held-out loss and tokens/s, and 100
    /// characters (or 30 words) sampled at temperature 0.8 after the text's start.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let run = try train(options)
        let last = run.history.last
        let heldOut = last?.validation.map { Foundation.log($0) } ?? .nan
        let line = String(
            format: "loss %.4f, held-out loss %.4f, %.1f tokens/sec on %@", last?.loss ?? .nan, heldOut, last?.tokensPerSecond ?? 0,
            options.device.description as NSString)
        let prefix = options.text.map { LanguageModelRecipe.firstWord($0) } ?? "time traveller "
        let sample = try GPTGeneration.generate(
            prefix, count: run.tokens == .char ? 100 : 30, model: run.model, vocab: run.vocab, tokens: run.tokens, temperature: 0.8,
            seed: options.seed)
        var metrics: [String: Double] = ["loss": last?.loss ?? .nan, "tokens_per_s": last?.tokensPerSecond ?? 0, "validation_loss": heldOut]
        metrics["validation"] = last?.validation
        return RecipeReport(lines: [line, sample], metrics: metrics, history: run.history, curve: "perplexity")
    }
}
