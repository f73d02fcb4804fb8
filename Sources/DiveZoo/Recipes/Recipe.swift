// The `Recipe` protocol and the registry of the book's recipes by name: each recipe trains one
// model of the book with its hyperparameters and returns the book-style report.
import Dive
import DiveData
import DiveDistributed
import Foundation

/// One runnable book section: `dive train <name>`.
public protocol Recipe: Sendable {
    /// Its name, book sections and summary (`dive list`).
    var listing: RecipeListing { get }
    /// The book's settings for a preset (defaults for the CLI options).
    func defaults(_ preset: BookEdition) -> Hyperparameters
    /// Trains (or demonstrates) with `options` and returns what the book prints.
    func run(_ options: RunOptions) throws -> RecipeReport
    /// The presets this recipe has settings for (`--preset`); zh and en unless it says otherwise.
    var presets: [BookEdition] { get }
}

extension Recipe {
    /// zh and en, unless a recipe has more.
    public var presets: [BookEdition] { [.zh, .en] }
    /// The registry name: `dive train <name>`.
    public var name: String { listing.name }
}

/// What `dive list` shows of a recipe.
public struct RecipeListing: Sendable {
    /// The registry name (`rnn`, `seq2seq`, ...).
    public let name: String
    /// The section in the zh 2.0 edition, e.g. "8.6".
    public let section: String
    /// The section in the en v1.0 edition, e.g. "9.6".
    public let enSection: String
    /// One line for `dive list`.
    public let summary: String

    /// A listing from the registry name, the zh and en sections, and the one-line summary.
    public init(name: String, section: String, enSection: String, summary: String) {
        self.name = name; self.section = section; self.enSection = enSection; self.summary = summary
    }
}

/// A recipe that trains nothing (4.8, 10.3, 10.5, 10.6): it runs the book's toy computation, and
/// its settings are zero epochs and the batch of the toy inputs.
public protocol Demonstration: Recipe {
    /// The batch of the book's toy inputs (2 unless the demonstration says otherwise).
    var toyBatch: Int { get }
}

extension Demonstration {
    /// 2, the batch of most of the book's toy inputs.
    public var toyBatch: Int { 2 }

    /// Nothing to train: zero epochs, lr 0, SGD, no clipping, and `toyBatch` as the batch.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        Hyperparameters(epochs: 0, lr: 0, batchSize: toyBatch, optimizer: .sgd, clip: nil)
    }
}

/// The tunable settings of a recipe; the CLI overrides them one by one.
public struct Hyperparameters: Codable, Equatable, Sendable {
    /// Passes over the training data.
    public var epochs: Int
    /// The learning rate (with the noam schedule, its scale factor).
    public var lr: Float
    /// Examples (sequences, sentence pairs) per global minibatch.
    public var batchSize: Int
    /// SGD, Adam or AdamW.
    public var optimizer: OptimizerKind
    /// The gradients' largest global L2 norm, above which they are scaled down (nil: no clipping).
    public var clip: Float?
    /// The extras of the Transformer paper (nil: the book's constant rate, no smoothing, PyTorch's Adam).
    public var schedule: ScheduleKind?
    /// Optimiser steps over which the learning rate warms up (nil: none; the paper preset's 400).
    public var warmupSteps: Int?
    /// The label smoothing ε of the cross-entropy (nil: none; the paper preset's 0.1).
    public var labelSmoothing: Float?
    /// Adam's and AdamW's β2 (nil: PyTorch's 0.999; the paper preset's 0.98).
    public var adamBeta2: Float?
    /// Adam's and AdamW's ε (nil: PyTorch's 1e-8; the paper preset's 1e-9).
    public var adamEps: Float?
    /// AdamW's decoupled weight decay (nil: PyTorch's 0.01; the gpt recipe's 0.1); Adam's L2 penalty (nil: 0).
    public var weightDecay: Float?
    /// The rate the cosine schedule ends at (nil: lr / 100; the gpt recipe's lr / 10).
    public var finalLR: Float?
    /// Settings from their values: clipping at norm 1 and none of the paper's extras unless given.
    public init(
        epochs: Int, lr: Float, batchSize: Int, optimizer: OptimizerKind, clip: Float? = 1,
        schedule: ScheduleKind? = nil, warmupSteps: Int? = nil, labelSmoothing: Float? = nil,
        adamBeta2: Float? = nil, adamEps: Float? = nil, weightDecay: Float? = nil, finalLR: Float? = nil
    ) {
        self.epochs = epochs; self.lr = lr; self.batchSize = batchSize; self.optimizer = optimizer; self.clip = clip
        self.schedule = schedule; self.warmupSteps = warmupSteps; self.labelSmoothing = labelSmoothing
        self.adamBeta2 = adamBeta2; self.adamEps = adamEps; self.weightDecay = weightDecay; self.finalLR = finalLR
    }
    /// The schedule, warmup and smoothing in force (the book's: constant, 0, 0).
    public var resolvedSchedule: ScheduleKind { schedule ?? .constant }
    /// The warmup in force: `warmupSteps`, or 0.
    public var resolvedWarmupSteps: Int { warmupSteps ?? 0 }
    /// The label smoothing in force: `labelSmoothing`, or 0.
    public var resolvedLabelSmoothing: Float { labelSmoothing ?? 0 }
}

/// The optimisers a recipe can train with (`--optimizer sgd|adam|adamw`).
public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case sgd, adam, adamw }
/// Learning rate schedules (`--schedule`): constant (after any warmup), the Transformer paper's noam
/// warmup, or cosine decay to lr/100 after the warmup.
public enum ScheduleKind: String, Codable, CaseIterable, Sendable { case constant, noam, cosine }

/// Everything a run needs besides the recipe: the CLI options, resolved.
public struct RunOptions {
    /// The device to train on (the CPU unless `--device` says otherwise).
    public var device: Device = .cpu
    /// Whose settings the recipe takes: the zh edition's (the default), the en edition's, or the paper's.
    public var preset: BookEdition = .zh
    /// Changes to the recipe's hyperparameters for the preset, in order (`dive train`'s flags).
    private var overrides: [(inout Hyperparameters) -> Void] = []
    /// The seed of the model's initialisation, the data's shuffling and dropout.
    public var seed: UInt64 = 0
    /// Where checkpoints go (nil: no checkpoint file).
    public var checkpoint: URL?
    /// An optimiser-step budget (`--steps`): training stops after this many steps in all, the last
    /// epoch ending early (nil: the epochs). The recipes trained by `Trainer` honour it.
    public var steps: Int?
    /// Epochs between checkpoints (the last epoch always writes one).
    public var checkpointEvery: Int = 25
    /// Whether to continue from the file at `checkpoint` (`--resume`) instead of starting anew.
    public var resume = false
    /// Whether to keep, beside `checkpoint`, the checkpoint of the epoch with the best held-out
    /// figure (`--keep best`): `bestCheckpoint`.
    public var keepBest = false
    /// A text of one's own to train a language model on instead of the book's data (`--text`).
    public var text: TextCorpus?
    /// Sentence pairs of one's own to train a translation recipe on instead of fra-eng (`--pairs`).
    public var pairs: SentencePairs?
    /// An SNLI folder to train `nli` on instead of the data directory's (`--snli`).
    public var snli: SNLICorpus?
    /// The share held out for validation, in [0, 1) (`--valid-fraction`): a language model's last
    /// tokens, or a seeded shuffle's last sentence pairs or SNLI training examples (`HeldOutSplit`).
    /// nil: 0.1 with `text` or `pairs`, 0 on the book's data; with `snli`, its dev split instead.
    public var validFraction: Double?
    /// Weights to start from instead of the initialisation (a Dive checkpoint, or a PyTorch
    /// state_dict in the book's layout); the optimiser starts fresh.
    public var initFrom: URL?
    /// One JSON object per epoch.
    public var metricsLog: URL?
    /// The training curve as SVG.
    public var plot: URL?
    /// A folder for TensorBoard event files (`TensorBoardLog`): the metrics log's figures per
    /// epoch and the learning rate per step (rank 0 writes them).
    public var tensorboard: URL?
    /// Where datasets are read from: `$DIVE_DATA` or the user's cache folder, downloading what is missing.
    public var dataDirectory = DataDirectory(allowsDownload: true)
    /// Beam width for the seq2seq report (1: greedy).
    public var beam: Int = 1
    /// Beam-search length penalty exponent α (score = log P / L^α).
    public var lengthPenalty: Double = 0
    /// Progress display; nil for none (tests).
    public var progress: ProgressDisplay?
    /// Set by a SIGINT handler: the trainer checkpoints and stops at the next step boundary.
    public var interrupt: InterruptFlag?
    /// The processes of the run: one, or the ranks of `mpirun … --distributed`.
    public var communicator: Communicator = SingleProcess()
    /// A folder where, after every step, each rank appends a digest of its parameters' bits to
    /// `rank-<r>.txt` (to check that replicas stay identical; costs a read of every parameter).
    public var parameterDigests: URL?
    /// Whether each training step goes to a device that can take it (CUDA) as one graph launch
    /// (`--graphs on|off`).
    public var stepGraphs = true

    /// The defaults: the CPU, the zh preset, seed 0, no checkpoint, no overrides.
    public init() {}

    /// Sets one hyperparameter over the recipe's preset: `options.override(\.lr, 0.1)`.
    public mutating func override<Value>(_ key: WritableKeyPath<Hyperparameters, Value>, _ value: Value) {
        overrides.append { $0[keyPath: key] = value }
    }

    /// The hyperparameters of a run, resolved once: the recipe's preset, then the overrides.
    public func resolve(_ defaults: Hyperparameters) -> Hyperparameters {
        var h = defaults
        for change in overrides { change(&h) }
        return h
    }

    /// The backend of `device`; throws when that device is not available.
    public var backend: Backend { get throws { try Backends.backend(for: device) } }

    /// With `keepBest`, the best epoch's checkpoint: `checkpoint` with `.best` before its extension
    /// (runs/lstm.safetensors → runs/lstm.best.safetensors).
    public var bestCheckpoint: URL? {
        guard keepBest, let checkpoint else { return nil }
        let ext = checkpoint.pathExtension
        let stem = checkpoint.deletingPathExtension().appendingPathExtension("best")
        return ext.isEmpty ? stem : stem.appendingPathExtension(ext)
    }
}

/// What a recipe prints at the end, and the figures tests and benchmarks read.
public struct RecipeReport: Sendable {
    /// The lines the recipe prints, as the book prints them.
    public var lines: [String]
    /// Named figures: "perplexity", "loss", "tokens_per_s", "bleu.go .", ...
    public var metrics: [String: Double]
    /// Per-epoch figures (for `--plot`).
    public var history: [EpochRecord]
    /// The curve's name for the plot ("perplexity", "loss").
    public var curve: String
    /// Figures the book shows besides the curve (attention heatmaps, positional encodings), as
    /// SVG documents by name; `--plot out.svg` writes each to `out-<name>.svg`.
    public var figures: [(name: String, svg: String)] = []
    /// The plot's label of the held-out figure (`EpochRecord.validation`): "held-out", "held-out BLEU", ...
    public var heldOutLabel = "held-out"
    /// A report from its lines, metrics, per-epoch history and curve name, without figures.
    public init(lines: [String] = [], metrics: [String: Double] = [:], history: [EpochRecord] = [], curve: String = "loss") {
        self.lines = lines; self.metrics = metrics; self.history = history; self.curve = curve
    }
}

/// A flag a signal handler sets and the training loops poll.
public final class InterruptFlag: @unchecked Sendable {  // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var raised: Int32?
    /// A flag not yet raised.
    public init() {}
    /// Raised by `signal` (SIGINT unless said otherwise).
    public func raise(_ signal: Int32 = SIGINT) { lock.lock(); raised = signal; lock.unlock() }
    /// Whether a signal has raised the flag.
    public var isRaised: Bool { signal != nil }
    /// The signal that raised it.
    public var signal: Int32? { lock.lock(); defer { lock.unlock() }; return raised }
}

/// The recipes by name, in book order.
public enum RecipeRegistry {
    /// The book's recipes in book order, 4.8 to 15.5.
    public static let all: [any Recipe] = [
        NumericsRecipe(),
        SequenceModelRecipe(),
        LanguageModelRecipe.rnnScratch, LanguageModelRecipe.rnn,
        LanguageModelRecipe.gruScratch, LanguageModelRecipe.gru,
        LanguageModelRecipe.lstmScratch, LanguageModelRecipe.lstm,
        LanguageModelRecipe.deepLSTM, LanguageModelRecipe.biLSTM,
        Seq2SeqRecipe(),
        NadarayaWatsonRecipe(), AttentionScoringRecipe(), BahdanauRecipe(), MultiHeadRecipe(), SelfAttentionRecipe(),
        TransformerRecipe(),
        NLIRecipe()
    ]

    /// Trainable by name but not in the zh book: a benchmark variant, and the GPT of en 11.9 trained
    /// nanoGPT's way; `dive list` shows them apart.
    public static let extras: [any Recipe] = [TransformerRecipe.wide, GPTRecipe()]

    /// Every registry name: the book's recipes, then the extras.
    public static var names: [String] { (all + extras).map(\.name) }

    /// The recipe called `name`, or an error listing the names.
    public static func recipe(named name: String) throws -> any Recipe {
        guard let r = (all + extras).first(where: { $0.name == name }) else {
            throw ZooError.unknownRecipe(name: name, available: names)
        }
        return r
    }
}
