// The GPT recipe as a task, nanoGPT's way: each minibatch is `batchSize` windows of `blockSize`
// tokens at random offsets of the training tokens (drawn from the seed and the step, so a resumed
// run draws the same), the loss the mean next-token cross-entropy; an "epoch" is a fixed number of
// iterations, after which the held-out loss is measured over every whole window of the held-out tokens.
import Dive
import DiveData
import DiveNN
import Foundation

/// The outcome of a GPT training run.
public struct GPTRun: TrainingRun {
    /// The trained model, its vocabulary and tokenisation.
    public var model: GPT, vocab: Vocab, tokens: TokenKind
    /// Every epoch's record; `validation` is the held-out perplexity.
    public var history: [EpochRecord]
}

/// A GPT trained on random windows of a token stream (nanoGPT's `get_batch`).
public final class GPTTask: TrainingTask {
    /// "gpt".
    public let recipe = "gpt"
    /// The model trained and its configuration.
    public let gpt: GPT
    /// The vocabulary and tokenisation, stored in checkpoints.
    public let vocab: Vocab, tokens: TokenKind
    /// The tokens trained on and those held out (each epoch's `validation` is their perplexity).
    public let corpus: TokenStream, heldOut: TokenStream
    /// Windows per minibatch, and minibatches per epoch.
    public let batchSize: Int, batchesPerEpoch: Int
    private let seed: UInt64
    private var cursor = LoaderPosition.notStarted

    /// A fresh GPT of `config` (initialised from `seed`) over `corpus`; `heldOut` needs at least one
    /// window (blockSize + 1 tokens), `corpus` one more than that.
    public init(
        config: GPTConfig, corpus: TokenStream, heldOut: TokenStream, vocab: Vocab, tokens: TokenKind, batchSize: Int,
        batchesPerEpoch: Int, on backend: Backend, seed: UInt64
    ) throws {
        guard corpus.count > config.blockSize + 1, heldOut.count > config.blockSize, batchSize > 0, batchesPerEpoch > 0 else {
            throw ZooError.invalidOption(
                "gpt: \(corpus.count) training and \(heldOut.count) held-out tokens are too few for windows of \(config.blockSize)")
        }
        gpt = try GPT(config, on: backend, rng: HostRNG(seed: seed))
        self.corpus = corpus; self.heldOut = heldOut; self.vocab = vocab; self.tokens = tokens
        self.batchSize = batchSize; self.batchesPerEpoch = batchesPerEpoch; self.seed = seed
    }

    /// The GPT as a module.
    public var model: Module { gpt }
    /// The model's width, for the noam schedule.
    public var width: Int { gpt.config.width }

    /// Kind `gpt`, the configuration, the vocabulary and the tokenisation.
    public func checkpointMetadata() throws -> [String: String] {
        try ZooModel.gpt(gpt, vocab: vocab, tokens: tokens).metadata()
    }

    /// Throws unless the checkpoint holds a GPT of this configuration, vocabulary and tokenisation.
    public func checkCompatible(_ meta: [String: String], path: String) throws {
        guard meta["extra.kind"] == "gpt" else { throw Training.anotherModel(path: path, "kind \(meta["extra.kind"] ?? "none")") }
        let stored = try Training.decodeConfig(GPTConfig.self, meta["extra.config"], path: path)
        guard stored == gpt.config else { throw Training.anotherModel(path: path, Training.differences(gpt.config, stored)) }
        guard try LanguageModelTask.tokenKind(meta, path: path) == tokens,
            try Training.decode(Vocab.self, meta["extra.vocab"], key: "vocab", path: path) == vocab
        else { throw Training.anotherModel(path: path, "another vocabulary or tokenisation: another text") }
    }

    /// Starts at `position` (a run's start, or a checkpoint's).
    public func startData(at position: LoaderPosition) throws {
        try position.check(batchesPerEpoch: batchesPerEpoch)
        cursor = position
    }

    /// The position of the next minibatch.
    public var position: LoaderPosition { cursor }

    /// `batchSize` windows (B, T) and their next tokens, at offsets drawn from the seed and the
    /// minibatch's global index; nil at the epoch's end (the position then moves to the next epoch).
    public func nextBatch() -> TokenBatch? {
        guard cursor.batchIndex < batchesPerEpoch else {
            cursor = LoaderPosition(epoch: cursor.epoch + 1, batchIndex: 0, rng: cursor.rng)
            return nil
        }
        let T = gpt.config.blockSize, starts = corpus.count - T  // offsets 0..<starts leave T + 1 tokens
        let first = UInt64(cursor.epoch * batchesPerEpoch + cursor.batchIndex) * UInt64(batchSize)
        var x = [Int32](), y = [Int32]()
        x.reserveCapacity(batchSize * T); y.reserveCapacity(batchSize * T)
        for b in 0..<UInt64(batchSize) {
            let u = Double(CounterRNG.uniform(seed: seed, counter: first + b))
            let start = min(starts - 1, Int(u * Double(starts)))
            x += corpus[start..<(start + T)]
            y += corpus[(start + 1)..<(start + 1 + T)]
        }
        cursor.batchIndex += 1
        return TokenBatch(x: x, y: y, batchSize: batchSize, numSteps: T)
    }

    /// The tokens of a minibatch: B · T.
    public func count(_ batch: TokenBatch) -> Int { batch.batchSize * batch.numSteps }

    /// This rank's windows' cross-entropy summed and divided by the global minibatch's B · T tokens.
    public func loss(_ shard: TokenBatch, globalRows: Int) throws -> StepLoss {
        try Self.loss(gpt, shard, globalRows: globalRows)
    }

    /// A second GPT of the same configuration whose parameters share this one's memory.
    public func makeReplica() throws -> ShardReplica<TokenBatch>? {
        let copy = try GPT(gpt.config, on: try gpt.backend.orThrow(), rng: HostRNG(seed: 0))
        try copy.shareParameters(with: gpt)
        copy.useRandomStream(RandomStream(seed: 0))
        return ShardReplica(model: copy) { rows, globalRows in try Self.loss(copy, rows, globalRows: globalRows) }
    }

    /// The mean next-token cross-entropy of `shard`'s share of a global minibatch of `globalRows` windows, on `gpt`.
    static func loss(_ gpt: GPT, _ shard: TokenBatch, globalRows: Int) throws -> StepLoss {
        let backend = try gpt.backend.orThrow()
        let x = try Tensor(shard.x, shape: [shard.batchSize, shard.numSteps], on: backend)
        let y = try Tensor(shard.y, shape: [shard.batchSize * shard.numSteps], on: backend)
        let tokens = globalRows * shard.numSteps
        let loss = try gpt(x).crossEntropySum(targets: y, scale: 1 / Float(tokens))
        return StepLoss(loss: loss, toSum: Float(tokens))
    }

    /// The record's perplexity exp(loss), and `validation`, the held-out perplexity.
    public func evaluate(_ record: inout EpochRecord) throws {
        record.perplexity = Foundation.exp(record.loss)
        record.validation = Foundation.exp(try Evaluation.meanLoss(gpt, tokens: heldOut))
    }

    /// "held-out loss 1.456" for progress lines (the held-out figure as a loss, as nanoGPT prints it).
    public func metric(_ record: EpochRecord) -> String {
        record.validation.map { String(format: "held-out loss %.4f", Foundation.log($0)) } ?? ""
    }
}

extension Evaluation {
    /// The mean next-token cross-entropy of `model` over every whole window of `blockSize` tokens
    /// of `tokens` (windows side by side, each predicting its next `blockSize` tokens), in batches
    /// of `batchSize` windows. One host read.
    public static func meanLoss(_ model: GPT, tokens: TokenStream, batchSize: Int = 64) throws -> Double {
        let T = model.config.blockSize, windows = (tokens.count - 1) / T
        guard windows > 0 else { throw ZooError.invalidOption("\(tokens.count) tokens are too few for one window of \(T)") }
        let backend = try model.backend.orThrow()
        return try evaluating(model) {
            let sum = try EpochLoss(on: backend)
            for first in stride(from: 0, to: windows, by: batchSize) {
                let B = min(batchSize, windows - first)
                var x = [Int32](), y = [Int32]()
                for w in first..<(first + B) {
                    x += tokens[(w * T)..<(w * T + T)]
                    y += tokens[(w * T + 1)..<(w * T + T + 1)]
                }
                let logits = try model(Tensor(x, shape: [B, T], on: backend))
                try sum.add(logits.crossEntropySum(targets: Tensor(y, shape: [B * T], on: backend)))
            }
            return try sum.read() / Double(windows * T)
        }
    }
}
