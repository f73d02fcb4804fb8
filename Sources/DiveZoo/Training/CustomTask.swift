// The `Trainer` for a program's own model and data: any module, any dataset whose minibatches
// split into rows (`RowBatch`), and a loss the program writes. The trainer brings the rest: the
// optimiser, clipping, the schedule, checkpoints, data parallelism, and a clean stop on Ctrl-C.
import Dive
import DiveData
import DiveNN

/// A `Trainer` task for a program's own model and dataset: the program gives a batch's mean loss;
/// the trainer brings the optimiser, clipping, schedule, checkpoints and data parallelism.
public final class CustomTask<Dataset: MinibatchDataset>: DatasetTask where Dataset.Batch: RowBatch {
    /// The name stored in checkpoints ("custom" unless given).
    public let recipe: String
    /// The program's model.
    public let model: Module
    /// The examples trained on.
    public let trainingSet: Dataset
    /// Examples per global minibatch.
    public let batchSize: Int
    /// The epoch's shuffling loader; nil until `startData`.
    public var loader: DataLoader<Dataset>?
    /// The model's width for the noam schedule (0 unless given).
    public let width: Int
    private let meanLoss: (Dataset.Batch) throws -> Tensor

    /// `loss` gives the mean loss over a batch's rows (one element). `name` is stored in
    /// checkpoints; `width` is the model's width for the noam schedule.
    public init(
        name: String = "custom", model: Module, data: Dataset, batchSize: Int, width: Int = 0,
        loss: @escaping (Dataset.Batch) throws -> Tensor
    ) throws {
        guard batchSize > 0, data.count > 0 else {
            throw ZooError.invalidOption("a task needs examples and a positive batch size (got \(data.count) examples, batch \(batchSize))")
        }
        recipe = name; self.model = model; trainingSet = data; self.batchSize = batchSize; self.width = width
        meanLoss = loss
    }

    /// "examples/s": the rate counts a batch's rows.
    public var unit: String { "examples/s" }
    /// A program's model describes itself in its own way: checkpoints hold its weights and the name.
    public func checkpointMetadata() throws -> [String: String] { ["kind": "custom"] }
    /// A batch's rows: its examples.
    public func count(_ batch: Dataset.Batch) -> Int { batch.batchSize }

    /// The shard's mean loss weighted by its share of the global minibatch, so that the shards'
    /// losses add up to the global mean.
    public func loss(_ shard: Dataset.Batch, globalRows: Int) throws -> StepLoss {
        let mean = try meanLoss(shard)
        guard mean.count == 1 else {
            throw ZooError.invalidOption("the loss must be one element (the batch's mean), not \(mean.shape)")
        }
        let share = Float(shard.batchSize) / Float(globalRows)
        return StepLoss(loss: share == 1 ? mean : try mean * share, toSum: Float(globalRows))
    }
}
