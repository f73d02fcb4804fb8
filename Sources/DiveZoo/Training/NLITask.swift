// The book's `train_ch13` for decomposable attention as a task: per batch the cross-entropy per
// example summed (`l.sum()`); the epoch reports the mean loss, the running train accuracy (dropout
// on) and the test accuracy (eval mode), the held-out accuracy when there are held-out examples,
// and examples/s over the training batches.
import Dive
import DiveData
import DiveNN
import Foundation

/// The outcome of an NLI training run (15.5): the trained model, its vocabulary and every epoch's record.
public struct NLIRun: TrainingRun {
    /// The trained model.
    public var model: DecomposableAttention
    /// The vocabulary of SNLI's training set.
    public var vocab: Vocab
    /// Per epoch: loss, trainAccuracy, testAccuracy, examples/s (`tokensPerSecond`).
    public var history: [EpochRecord]
    /// The book's `metric[2] * num_epochs / timer.sum()`: examples of all epochs over their training time.
    public var examplesPerSecond: Double {
        Double(history.reduce(0) { $0 + $1.count }) / max(history.reduce(0) { $0 + $1.seconds }, 1e-9)
    }
}

/// The book's `train_ch13` for decomposable attention as a `Trainer` task (15.5): the summed
/// cross-entropy per batch, the running train accuracy, and the test accuracy after each epoch.
public final class NLITask: DatasetTask {
    /// The recipe's registry name, stored in checkpoints.
    public let recipe: String
    /// The sizes the model was built from.
    public let config: NLIConfig
    /// The model trained.
    public let attention: DecomposableAttention
    /// SNLI's training examples (whose vocabulary the model uses) and its test examples.
    public let trainingSet: SNLIDataset, testSet: SNLIDataset
    /// The examples of each epoch's held-out accuracy (`EpochRecord.validation`: the dev split, or
    /// part of train); nil: none.
    public let heldOut: SNLIDataset?
    /// Sentence pairs per global minibatch.
    public let batchSize: Int
    private let labelSmoothing: Float
    /// The epoch's shuffling loader; nil until `startData`.
    public var loader: DataLoader<SNLIDataset>?

    /// A fresh model (embedding rows from `embedding` when given, `vocab × embed` values); `heldOut`
    /// examples are scored after every epoch.
    public init(
        recipe: String, config: NLIConfig, train: SNLIDataset, test: SNLIDataset, heldOut: SNLIDataset? = nil, embedding: [Float]?,
        hyper: Hyperparameters, on backend: Backend, seed: UInt64
    ) throws {
        self.recipe = recipe; self.config = config; trainingSet = train; testSet = test; self.heldOut = heldOut
        batchSize = hyper.batchSize
        labelSmoothing = hyper.resolvedLabelSmoothing
        attention = try DecomposableAttention(config, on: backend, rng: HostRNG(seed: seed))
        if let embedding { try attention.embedding.weight.assign(embedding) }
        attention.useRandomStream(RandomStream(seed: seed))
        attention.train()
    }

    /// The decomposable attention model as a module.
    public var model: Module { attention }
    /// The MLPs' hidden width, for the noam schedule.
    public var width: Int { config.hidden }
    /// "examples/s": the rate counts sentence pairs.
    public var unit: String { "examples/s" }

    /// Kind `nli`, the configuration and the training set's vocabulary.
    public func checkpointMetadata() throws -> [String: String] {
        try ZooModel.nli(attention, vocab: trainingSet.vocab).metadata()
    }

    /// Throws unless the checkpoint holds this configuration and vocabulary, naming what differs.
    public func checkCompatible(_ meta: [String: String], path: String) throws {
        let stored = try Training.decodeConfig(NLIConfig.self, meta["extra.config"], path: path)
        guard stored == config, meta["extra.vocab"] == (try Training.json(trainingSet.vocab)) else {
            let detail = stored == config ? "another vocabulary" : Training.differences(config, stored)
            throw Training.anotherModel(path: path, detail)
        }
    }

    /// The pairs in a batch.
    public func count(_ batch: SNLIBatch) -> Int { batch.batchSize }

    /// The cross-entropy summed over this rank's rows (`l.sum()`), with how many it predicts right.
    public func loss(_ shard: SNLIBatch, globalRows: Int) throws -> StepLoss {
        try Self.loss(attention, shard, labelSmoothing: labelSmoothing)
    }

    /// A second model of the same configuration whose parameters share this one's memory.
    public func makeReplica() throws -> ShardReplica<SNLIBatch>? {
        let copy = try DecomposableAttention(config, on: try attention.backend.orThrow(), rng: HostRNG(seed: 0))
        try copy.shareParameters(with: attention)
        copy.useRandomStream(RandomStream(seed: 0))
        let labelSmoothing = labelSmoothing
        return ShardReplica(model: copy) { rows, _ in try Self.loss(copy, rows, labelSmoothing: labelSmoothing) }
    }

    /// The book's `l.sum()` over `batch` on `model`, and the rows predicted right.
    static func loss(_ model: DecomposableAttention, _ batch: SNLIBatch, labelSmoothing: Float) throws -> StepLoss {
        let (logits, labels) = try forward(model, batch)  // (B, 3), (B)
        let total = try logits.crossEntropySum(targets: labels, labelSmoothing: labelSmoothing)  // l.sum()
        return StepLoss(loss: total, correct: try matches(logits, batch.labels))
    }

    /// Sets the record's test accuracy, and its `validation` to the held-out accuracy, in eval mode.
    public func evaluate(_ record: inout EpochRecord) throws {
        record.testAccuracy = try Evaluation.accuracy(attention, testSet, batchSize: batchSize)
        if let heldOut { record.validation = try Evaluation.accuracy(attention, heldOut, batchSize: batchSize) }
    }

    /// "train acc 0.805  test acc 0.824" for progress lines, and "held-out acc 0.816" after it when there is one.
    public func metric(_ record: EpochRecord) -> String {
        String(format: "train acc %.3f  test acc %.3f", record.trainAccuracy ?? .nan, record.testAccuracy ?? .nan)
            + (record.validation.map { String(format: "  held-out acc %.3f", $0) } ?? "")
    }

    /// A higher accuracy is better (`--keep best`).
    public var lowerValidationIsBetter: Bool { false }

    /// One batch through the model: logits (B, 3) and the Int32 labels (B) on the model's device.
    public static func forward(_ model: DecomposableAttention, _ batch: SNLIBatch) throws -> (logits: Tensor, labels: Tensor) {
        let backend = try model.backend.orThrow()
        let shape = [batch.batchSize, batch.numSteps]
        let logits = try model(
            premises: Tensor(batch.premises, shape: shape, on: backend),
            hypotheses: Tensor(batch.hypotheses, shape: shape, on: backend))
        return (logits, try Tensor(batch.labels, shape: [batch.batchSize], on: backend))
    }

    /// How many rows of `logits` (B, 3) have their argmax at the label.
    static func matches(_ logits: Tensor, _ labels: [Int32]) throws -> Int {
        let predicted = try Autograd.withoutGrad { try logits.detached().argmax(axis: 1) }.toInt32Array()
        return zip(predicted, labels).filter { $0 == $1 }.count
    }
}
