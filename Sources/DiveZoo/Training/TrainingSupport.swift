// What training shares: optimiser and schedule factories from the CLI's choices, the per-epoch
// record, the metrics log (one JSON object per epoch), JSON helpers for checkpoints, and the loss
// an epoch sums on the device.
import Dive
import DiveData
import DiveNN
import Foundation

/// One epoch's figures, as the book reports them for the last epoch.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    /// LM: mean cross-entropy per token; seq2seq: the book's Σl / Σ valid tokens.
    public var loss: Double
    /// exp(loss) for language models.
    public var perplexity: Double?
    public var tokensPerSecond: Double
    public var lr: Double
    public var seconds: Double
    /// Minibatches in the epoch, and what the device's work cost over it (launches, transfers,
    /// waits; `DeviceTrace.report(per: minibatches)` gives it per minibatch).
    public var minibatches = 0
    public var trace: DeviceTrace? = nil
    /// What the epoch counted: tokens (LM, seq2seq) or examples (NLI).
    public var count = 0
    /// NLI: the running accuracy over the epoch's training rows (dropout on), and the test set's.
    public var trainAccuracy: Double? = nil
    public var testAccuracy: Double? = nil
    /// Data-parallel runs: what the gradients' all-reduce cost over the epoch.
    public var allReduce: AllReduceCost? = nil
}

/// The gradients' all-reduce over an epoch of a data-parallel run.
public struct AllReduceCost: Codable, Equatable, Sendable {
    public var seconds: Double
    public var bytes: Int
    public var calls: Int
}

enum Training {
    static func makeOptimizer(_ kind: OptimizerKind, _ params: [Tensor], lr: Float) throws -> Optimizer {
        try makeOptimizer(Hyperparameters(epochs: 0, lr: lr, batchSize: 1, optimizer: kind), params)
    }

    /// The optimiser of `hyper`, with its β2 and ε for Adam and AdamW (PyTorch's defaults unless set).
    static func makeOptimizer(_ hyper: Hyperparameters, _ params: [Tensor]) throws -> Optimizer {
        let beta2 = hyper.adamBeta2 ?? 0.999, eps = hyper.adamEps ?? 1e-8
        guard beta2 > 0 && beta2 < 1, eps > 0 else {
            throw ZooError.invalidOption("Adam needs 0 < β2 < 1 and ε > 0 (got β2 \(beta2), ε \(eps))")
        }
        switch hyper.optimizer {
        case .sgd: return SGD(params, lr: hyper.lr)
        case .adam: return try Adam(params, lr: hyper.lr, beta2: beta2, eps: eps)
        case .adamw: return try AdamW(params, lr: hyper.lr, beta2: beta2, eps: eps)
        }
    }

    /// The learning rate schedule over optimiser steps (1-based for noam).
    static func makeSchedule(_ kind: ScheduleKind, lr: Float, warmup: Int, totalSteps: Int, width: Int) -> LRSchedule {
        switch kind {
        case .constant:
            if warmup > 0 { return CosineWarmupLR(maxUpdate: warmup, baseLR: lr, finalLR: lr, warmupSteps: warmup) }
            return ConstantLR(lr)
        case .noam:
            // Vaswani et al. with --lr as the scale factor: lr · d^-0.5 · min(s^-0.5, s · w^-1.5).
            return TransformerWarmupLR(dModel: width, warmup: max(warmup, 1), scale: Double(lr))
        case .cosine:
            return CosineWarmupLR(maxUpdate: max(totalSteps, warmup + 1), baseLR: lr, finalLR: lr / 100, warmupSteps: warmup)
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?, key: String, path: String) throws -> T {
        guard let text else { throw ZooError.badCheckpoint(path: path, detail: "metadata '\(key)' is missing; was it written by `dive train`?") }
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw ZooError.badCheckpoint(path: path, detail: "metadata '\(key)' does not decode: \(error)")
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// An epoch's loss summed on the device: each minibatch adds its weighted loss (one launch, no
/// host read) and the host reads the sum once, at the epoch's end, which is when the book reports.
/// A non-finite minibatch loss leaves the sum non-finite, so the trainer stops then, before the
/// epoch's checkpoint is written: the last good checkpoint stays intact.
final class EpochLoss {
    private let sum: Tensor

    init(on backend: Backend) throws { sum = try Tensor.zeros([1], on: backend) }

    func add(_ loss: Tensor, weight: Float = 1) throws { try sum.accumulate(loss, scale: weight) }

    /// The epoch's summed loss (a blocking read).
    func read() throws -> Double { try sum.item() }
}

/// Appends one JSON line per epoch to a file (truncated when the run starts, kept on resume).
final class MetricsLog {
    private let handle: FileHandle?

    init(_ url: URL?, append: Bool) throws {
        guard let url else { handle = nil; return }
        let fm = FileManager.default
        if !append || !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw ZooError.invalidOption("cannot create the metrics log \(url.path)")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        handle?.seekToEndOfFile()
    }

    func write(_ record: EpochRecord, recipe: String) throws {
        guard let handle else { return }
        var fields = ["\"recipe\": \"\(recipe)\"", "\"epoch\": \(record.epoch + 1)",
                      "\"loss\": \(jsonNumber(record.loss))", "\"tokens_per_s\": \(jsonNumber(record.tokensPerSecond))",
                      "\"lr\": \(jsonNumber(record.lr))", "\"seconds\": \(jsonNumber(record.seconds))"]
        if let p = record.perplexity { fields.insert("\"perplexity\": \(jsonNumber(p))", at: 3) }
        handle.write(Data(("{" + fields.joined(separator: ", ") + "}\n").utf8))
    }

    private func jsonNumber(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }

    deinit { try? handle?.close() }
}
