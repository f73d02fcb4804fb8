// What a recipe brings to the one `Trainer`: its model, its minibatches, its loss, its checkpoint
// metadata and its per-epoch evaluation. The three tasks are the language model (8.5–9.4), the
// encoder–decoder (9.7, 10.4, 10.7) and natural language inference (15.5).
import Dive
import DiveData
import DiveNN

/// A minibatch whose rows the ranks of a data-parallel run split between them.
public protocol RowBatch {
    var batchSize: Int { get }
    /// Rows `range` as a batch of their own.
    func rows(_ range: Range<Int>) -> Self
}

/// One rank's loss on its rows of a global minibatch.
public struct StepLoss {
    /// The scalar to back-propagate: the rows' losses summed, times the constant of the loss's
    /// reduction over the whole global minibatch (1/(T·B) for the LM's mean, 1 for sums), so
    /// the ranks' losses, and their gradients, add up to the global minibatch's.
    public var loss: Tensor
    /// Multiplies `loss` into the epoch's summed loss (T·B for the LM's mean, 1 for sums).
    public var toSum: Float = 1
    /// Rows predicted right (NLI's running train accuracy).
    public var correct: Int? = nil
}

/// What the `Trainer` trains: a model, its minibatches and loss, its checkpoint metadata and its
/// per-epoch evaluation.
public protocol TrainingTask: AnyObject {
    associatedtype Batch: RowBatch
    /// The recipe's registry name, stored in checkpoints.
    var recipe: String { get }
    var model: Module { get }
    /// The model's width, for the noam schedule.
    var width: Int { get }
    /// What `count` counts per second in progress lines: "tok/s" (the default) or "examples/s".
    var unit: String { get }
    /// The checkpoint's metadata besides model, optimiser, step, position and hyperparameters:
    /// kind, configuration, vocabularies.
    func checkpointMetadata() throws -> [String: String]
    /// Throws when a checkpoint's metadata belongs to another model.
    func checkCompatible(_ meta: [String: String], path: String) throws

    /// Puts the data at `position` (the start of a run, or a checkpoint's position).
    func startData(at position: LoaderPosition) throws
    /// The position of the next minibatch.
    var position: LoaderPosition { get }
    var batchesPerEpoch: Int { get }
    /// The next global minibatch of the epoch, or nil at its end.
    func nextBatch() -> Batch?
    /// What a global minibatch counts towards the epoch's rate and mean: tokens, or examples.
    func count(_ batch: Batch) -> Int

    /// Called before each epoch's first minibatch.
    func beginEpoch()
    /// What the task carries from one minibatch to the next (a language model's hidden state),
    /// for a checkpoint taken mid-epoch, and its restoration on resume.
    func carriedState() throws -> [String: SafeTensor]
    func restore(carriedState: [String: SafeTensor]) throws
    /// The loss of `shard`, this rank's rows of a global minibatch of `globalRows` rows.
    func loss(_ shard: Batch, globalRows: Int) throws -> StepLoss
    /// A copy of the model sharing its parameters, with its loss, for one shard of a minibatch
    /// split across the CPU's cores (`BatchSplit`); nil (the default) where a task carries state
    /// from one minibatch to the next: its steps then split ops across the cores instead.
    func makeReplica() throws -> ShardReplica<Batch>?
    /// What the book evaluates after each epoch (NLI's test accuracy), into `record`.
    func evaluate(_ record: inout EpochRecord) throws
    /// The epoch's figure for progress lines ("perplexity 9.87"; none by default).
    func metric(_ record: EpochRecord) -> String
    /// Whether a lower held-out figure (`EpochRecord.validation`) is better, as for a perplexity or
    /// a loss (the default), or a higher one, as for BLEU or an accuracy (`--keep best`).
    var lowerValidationIsBetter: Bool { get }
}

extension TrainingTask {
    /// "tok/s", the rate's unit unless the task counts examples.
    public var unit: String { "tok/s" }
    /// No figure besides the loss by default.
    public func metric(_ record: EpochRecord) -> String { "" }
    /// Nothing to reset by default.
    public func beginEpoch() {}
    /// Nothing carried between minibatches by default.
    public func carriedState() throws -> [String: SafeTensor] { [:] }
    /// Nothing to restore by default.
    public func restore(carriedState: [String: SafeTensor]) throws {}
    /// No replicas by default: the steps split ops across the cores.
    public func makeReplica() throws -> ShardReplica<Batch>? { nil }
    /// No per-epoch evaluation by default.
    public func evaluate(_ record: inout EpochRecord) throws {}
    /// A lower held-out figure is better by default (a perplexity, a loss).
    public var lowerValidationIsBetter: Bool { true }
    /// Accepts any checkpoint by default.
    public func checkCompatible(_ meta: [String: String], path: String) throws {}
}

/// A task whose minibatches are a `DataLoader`'s shuffled batches of one dataset (translation, NLI).
public protocol DatasetTask: TrainingTask where Batch == Dataset.Batch {
    associatedtype Dataset: MinibatchDataset
    /// The examples trained on.
    var trainingSet: Dataset { get }
    var batchSize: Int { get }
    /// The epoch's loader: nil until `startData`.
    var loader: DataLoader<Dataset>? { get set }
}

extension DatasetTask {
    /// A shuffling `DataLoader` over `trainingSet` in minibatches of `batchSize`, from `position`.
    public func startData(at position: LoaderPosition) throws {
        loader = try DataLoader(trainingSet, batchSize: batchSize, shuffle: true, resumingFrom: position)
    }

    /// The loader's position; before `startData`, the start of the first epoch.
    public var position: LoaderPosition { loader?.position ?? .notStarted }
    /// The loader's minibatches per epoch; 0 before `startData`.
    public var batchesPerEpoch: Int { loader?.batchesPerEpoch ?? 0 }
    /// The loader's next minibatch, or nil at the epoch's end (and before `startData`).
    public func nextBatch() -> Batch? { loader?.next() }
}

extension LoaderPosition {
    /// What a task reports as its position before `startData`: the first epoch's start.
    static let notStarted = LoaderPosition(epoch: 0, batchIndex: 0, rng: DataRNG(seed: 0))
}

/// Rows `range` of a row-major (rows, width) array.
func rows<T>(_ values: [T], _ range: Range<Int>, width: Int) -> [T] {
    Array(values[(range.lowerBound * width)..<(range.upperBound * width)])
}

extension TokenBatch: RowBatch {
    /// Rows `range` of the inputs and labels, `numSteps` tokens each.
    public func rows(_ range: Range<Int>) -> TokenBatch {
        TokenBatch(
            x: DiveZoo.rows(x, range, width: numSteps), y: DiveZoo.rows(y, range, width: numSteps),
            batchSize: range.count, numSteps: numSteps)
    }
}

extension TranslationBatch: RowBatch {
    /// Rows `range` of the source and target tokens and their valid lengths.
    public func rows(_ range: Range<Int>) -> TranslationBatch {
        TranslationBatch(
            src: DiveZoo.rows(src, range, width: numSteps), srcValidLen: Array(srcValidLen[range]),
            tgt: DiveZoo.rows(tgt, range, width: numSteps), tgtValidLen: Array(tgtValidLen[range]),
            batchSize: range.count, numSteps: numSteps)
    }
}

extension SNLIBatch: RowBatch {
    /// Rows `range` of the premises, hypotheses and labels.
    public func rows(_ range: Range<Int>) -> SNLIBatch {
        SNLIBatch(
            premises: DiveZoo.rows(premises, range, width: numSteps),
            hypotheses: DiveZoo.rows(hypotheses, range, width: numSteps),
            labels: Array(labels[range]), batchSize: range.count, numSteps: numSteps)
    }
}
