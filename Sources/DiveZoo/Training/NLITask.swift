// The book's `train_ch13` for decomposable attention as a task: per batch the cross-entropy per
// example summed (`l.sum()`); the epoch reports the mean loss, the running train accuracy (dropout
// on) and the test accuracy (eval mode), and examples/s over the training batches.
import Dive
import DiveData
import DiveNN
import Foundation

public struct NLIRun: TrainingRun {
    public var model: DecomposableAttention
    public var vocab: Vocab
    /// Per epoch: loss, trainAccuracy, testAccuracy, examples/s (`tokensPerSecond`).
    public var history: [EpochRecord]
    /// The book's `metric[2] * num_epochs / timer.sum()`: examples of all epochs over their training time.
    public var examplesPerSecond: Double {
        Double(history.reduce(0) { $0 + $1.count }) / max(history.reduce(0) { $0 + $1.seconds }, 1e-9)
    }
}

public final class NLITask: DatasetTask {
    public let recipe: String
    public let config: NLIConfig
    public let attention: DecomposableAttention
    public let trainingSet: SNLIDataset, testSet: SNLIDataset
    public let batchSize: Int
    private let labelSmoothing: Float
    public var loader: DataLoader<SNLIDataset>?

    /// A fresh model (embedding rows from `embedding` when given, `vocab × embed` values).
    public init(recipe: String, config: NLIConfig, train: SNLIDataset, test: SNLIDataset, embedding: [Float]?,
                hyper: Hyperparameters, on backend: Backend, seed: UInt64) throws {
        self.recipe = recipe; self.config = config; trainingSet = train; testSet = test
        batchSize = hyper.batchSize
        labelSmoothing = hyper.resolvedLabelSmoothing
        attention = try DecomposableAttention(config, on: backend, rng: HostRNG(seed: seed))
        if let embedding { try attention.embedding.weight.assign(embedding) }
        attention.useRandomStream(RandomStream(seed: seed))
        attention.train()
    }

    public var model: Module { attention }
    public var width: Int { config.hidden }
    public var unit: String { "examples/s" }

    public func checkpointMetadata() throws -> [String: String] {
        try ZooModel.nli(attention, vocab: trainingSet.vocab).metadata()
    }

    public func checkCompatible(_ meta: [String: String], path: String) throws {
        let stored = try Training.decodeConfig(NLIConfig.self, meta["extra.config"], path: path)
        guard stored == config, meta["extra.vocab"] == (try Training.json(trainingSet.vocab)) else {
            let detail = stored == config ? "another vocabulary" : Training.differences(config, stored)
            throw Training.anotherModel(path: path, detail)
        }
    }

    public func count(_ batch: SNLIBatch) -> Int { batch.batchSize }

    public func loss(_ shard: SNLIBatch, globalRows: Int) throws -> StepLoss {
        let (logits, labels) = try Self.forward(attention, shard)                             // (B, 3), (B)
        let total = try logits.crossEntropySum(targets: labels, labelSmoothing: labelSmoothing)   // l.sum()
        return StepLoss(loss: total, correct: try Self.matches(logits, shard.labels))
    }

    public func evaluate(_ record: inout EpochRecord) throws {
        record.testAccuracy = try Evaluation.accuracy(attention, testSet, batchSize: batchSize)
    }

    public func metric(_ record: EpochRecord) -> String {
        String(format: "train acc %.3f  test acc %.3f", record.trainAccuracy ?? .nan, record.testAccuracy ?? .nan)
    }

    /// One batch through the model: logits (B, 3) and the Int32 labels (B) on the model's device.
    public static func forward(_ model: DecomposableAttention, _ batch: SNLIBatch) throws -> (logits: Tensor, labels: Tensor) {
        let backend = try model.backend.orThrow()
        let shape = [batch.batchSize, batch.numSteps]
        let logits = try model(premises: Tensor(batch.premises, shape: shape, on: backend),
                               hypotheses: Tensor(batch.hypotheses, shape: shape, on: backend))
        return (logits, try Tensor(batch.labels, shape: [batch.batchSize], on: backend))
    }

    /// How many rows of `logits` (B, 3) have their argmax at the label.
    static func matches(_ logits: Tensor, _ labels: [Int32]) throws -> Int {
        let predicted = try Autograd.withoutGrad { try logits.detached().argmax(axis: 1) }.toInt32Array()
        return zip(predicted, labels).filter { $0 == $1 }.count
    }
}
