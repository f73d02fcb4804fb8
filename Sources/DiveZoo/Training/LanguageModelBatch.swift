// A language-model minibatch on a device, in the layout the models take: loaders cut batch-major
// rows (`TokenBatch`, row b = x[b·T ..< (b+1)·T]); the models take time-major tokens (T, B) and give
// logits in time-major row order, so the targets are (T·B) in that order. Building the batch through
// this type is the one place the layout changes.
import Dive
import DiveData
import DiveNN

/// A language-model minibatch on a device in the models' time-major layout: inputs (T, B) and
/// targets (T·B) in the logits' row order.
public struct LanguageModelBatch {
    /// Token indices, Int32 (T, B): the models' input.
    public let inputs: Tensor
    /// The next token of every input, Int32 (T·B), in the logits' row order.
    public let targets: Tensor

    /// A loader's batch moved to `backend` in the models' layout (two uploads).
    public init(_ batch: TokenBatch, on backend: Backend) throws {
        let B = batch.batchSize, T = batch.numSteps
        inputs = try Tensor(batch.xTimeMajor, shape: [T, B], on: backend)  // (T, B)
        targets = try Tensor(batch.yTimeMajor, shape: [T * B], on: backend)  // (T·B)
    }

    /// T, the steps per sequence.
    public var numSteps: Int { inputs.shape[0] }
    /// B, the sequences in the batch.
    public var batchSize: Int { inputs.shape[1] }
}

extension LanguageModel {
    /// The logits (T·B, V) of a batch and the state after it.
    public func forward(_ batch: LanguageModelBatch, state: RecurrentState) throws -> (logits: Tensor, state: RecurrentState) {
        try forward(batch.inputs, state: state)
    }

    /// The mean cross-entropy over the batch's T·B tokens (one element, to back-propagate) and the
    /// state after it.
    public func loss(_ batch: LanguageModelBatch, state: RecurrentState) throws -> (loss: Tensor, state: RecurrentState) {
        let (logits, next) = try forward(batch, state: state)  // (T·B, V)
        return (try logits.crossEntropySum(targets: batch.targets, scale: 1 / Float(batch.targets.count)), next)
    }
}
