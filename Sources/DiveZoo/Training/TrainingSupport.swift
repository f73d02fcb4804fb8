// What training shares: optimiser and schedule factories from the CLI's choices, the per-epoch
// record and a run's history of them, the metrics log (one JSON object per epoch), JSON helpers for checkpoints, and the loss
// an epoch sums on the device.
import Dive
import DiveData
import DiveNN
import Foundation

/// What a recipe's training returns besides its model: the record of every epoch.
public protocol TrainingRun {
    var history: [EpochRecord] { get }
}

extension TrainingRun {
    /// The last epoch's record.
    public var last: EpochRecord? { history.last }
    /// The last epoch's loss.
    public var loss: Double { history.last?.loss ?? .nan }
    /// The last epoch's rate (tokens, or NLI's examples, per second).
    public var tokensPerSecond: Double { history.last?.tokensPerSecond ?? 0 }
}

/// One epoch's figures, as the book reports them for the last epoch.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// The epoch's index from 0 (the metrics log writes it from 1).
    public var epoch: Int
    /// LM: mean cross-entropy per token; seq2seq: the book's Σl / Σ valid tokens.
    public var loss: Double
    /// exp(loss) for language models.
    public var perplexity: Double?
    /// Tokens (NLI: examples) trained per second over the epoch.
    public var tokensPerSecond: Double
    /// The learning rate of the epoch's last step.
    public var lr: Double
    /// The epoch's wall-clock time in seconds.
    public var seconds: Double
    /// Minibatches in the epoch, and what the device's work cost over it (launches, transfers,
    /// waits; `DeviceTrace.report(per: minibatches)` gives it per minibatch).
    public var minibatches = 0
    /// The device's launches, transfers and waits over the epoch.
    public var trace: DeviceTrace? = nil
    /// What the epoch counted: tokens (LM, seq2seq) or examples (NLI).
    public var count = 0
    /// NLI: the running accuracy over the epoch's training rows (dropout on), and the test set's.
    public var trainAccuracy: Double? = nil
    /// NLI: the accuracy on the test set after the epoch.
    public var testAccuracy: Double? = nil
    /// The held-out figure, where the run has one: perplexity, BLEU or accuracy (`Evaluation`).
    public var validation: Double? = nil
    /// The mean over the epoch's steps of the gradients' global L2 norm before clipping, measured
    /// when the run writes TensorBoard events (one more device read per epoch).
    public var gradientNorm: Double? = nil
    /// Data-parallel runs: what the gradients' all-reduce cost over the epoch.
    public var allReduce: AllReduceCost? = nil
    /// How the epoch's steps used the CPU's cores (nil on other devices).
    public var cores: CoreUse? = nil
}

/// An epoch's running figures, stored in a checkpoint taken mid-epoch so that its resumption
/// reports the epoch as the uninterrupted run does.
struct PartialEpoch: Codable {
    var lossSum: Double
    var count: Int
    var correct: Int
    var minibatches: Int
}

/// The gradients' all-reduce over an epoch of a data-parallel run.
public struct AllReduceCost: Codable, Equatable, Sendable {
    /// Seconds in the gradients' all-reduces, the copies between device and host included.
    public var seconds: Double
    /// Bytes each rank put into the all-reduces: the gradients as Float32, with a presence slot per parameter
    /// and the interrupt flag.
    public var bytes: Int
    /// The number of gradient all-reduces, one per step.
    public var calls: Int
}

enum Training {
    /// ", held-out <name> <last> (best <best>, epoch <k>)" for a report's line, each figure in
    /// `format`; "" when no epoch has a held-out figure (`EpochRecord.validation`).
    static func heldOutSummary(_ history: [EpochRecord], name: String, format: String, lowerIsBetter: Bool) -> String {
        let scored = history.filter { $0.validation != nil }
        guard let last = history.last?.validation,
            let best = scored.min(by: { lowerIsBetter ? $0.validation! < $1.validation! : $0.validation! > $1.validation! })
        else { return "" }
        return String(
            format: ", held-out \(name) \(format) (best \(format), epoch %d)", last, best.validation!, best.epoch + 1)
    }

    /// Reads the checkpoint at `url`, with `plainRecipe` the recipe to read it by when it is a plain
    /// PyTorch state_dict of the book's `layout` (see `plainRecipe(_:_:path:layout:names:)`).
    static func readCheckpoint<R>(_ url: URL, _ recipe: R?, layout: String, names: String) throws -> (
        file: SafeTensorsFile, plainRecipe: R?
    ) {
        let file = try SafeTensorsFile.read(from: url)
        return (file, try plainRecipe(file, recipe, path: url.path, layout: layout, names: names))
    }

    /// The recipe to read `file` with when it is a plain PyTorch state_dict (no Dive metadata): an
    /// error without one; nil for Dive's own checkpoints.
    static func plainRecipe<R>(_ file: SafeTensorsFile, _ recipe: R?, path: String, layout: String, names: String) throws -> R? {
        guard file.metadata["extra.kind"] == nil else { return nil }
        guard let recipe else {
            throw ZooError.badCheckpoint(
                path: path,
                detail:
                    "it holds weights only, without the model's kind, configuration and vocabulary; to read it as a PyTorch state_dict of the book's \(layout), name its recipe (\(names)): the recipe argument, or `--recipe` in the CLI"
            )
        }
        return recipe
    }

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
        case .adam: return try Adam(params, lr: hyper.lr, beta2: beta2, eps: eps, weightDecay: hyper.weightDecay ?? 0)
        case .adamw: return try AdamW(params, lr: hyper.lr, beta2: beta2, eps: eps, weightDecay: hyper.weightDecay ?? 0.01)
        }
    }

    /// The learning rate schedule over optimiser steps, from step 0. A warmup longer than the run is
    /// an error.
    static func makeSchedule(
        _ kind: ScheduleKind, lr: Float, finalLR: Float? = nil, warmup: Int, totalSteps: Int, width: Int
    ) throws -> LRSchedule {
        guard kind == .noam || warmup <= totalSteps else {
            throw ZooError.invalidOption("a warmup of \(warmup) steps is longer than the run's \(totalSteps)")
        }
        switch kind {
        case .constant:
            if warmup > 0 { return try CosineWarmupLR(maxUpdate: warmup, baseLR: lr, finalLR: lr, warmupSteps: warmup) }
            return ConstantLR(lr)
        case .noam:
            // Vaswani et al. with --lr as the scale factor: lr · d^-0.5 · min(s^-0.5, s · w^-1.5).
            return TransformerWarmupLR(dModel: width, warmup: max(warmup, 1), scale: Double(lr))
        case .cosine:
            return try CosineWarmupLR(maxUpdate: totalSteps, baseLR: lr, finalLR: finalLR ?? lr / 100, warmupSteps: warmup)
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?, key: String, path: String) throws -> T {
        guard let text else {
            throw ZooError.badCheckpoint(
                path: path, detail: "metadata '\(key)' is missing; was it saved by ZooModel.save(to:) or `dive train`?")
        }
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw ZooError.badCheckpoint(path: path, detail: "metadata '\(key)' does not decode: \(error)")
        }
    }

    /// The error for resuming from a checkpoint of another model; `detail` says how it differs.
    static func anotherModel(path: String, _ detail: String) -> ZooError {
        .badCheckpoint(
            path: path,
            detail: "it holds another model (\(detail)); it was left as it is: start without --resume, or pass another --checkpoint")
    }

    /// "hidden 256 here, 32 in the file; layers …": the fields where two configurations differ.
    static func differences<T: Encodable>(_ expected: T, _ stored: T) -> String {
        func fields(_ value: T) -> [String: String] {
            guard let data = try? JSONEncoder().encode(value),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return [:] }
            return object.mapValues { "\($0)" }
        }
        let a = fields(expected), b = fields(stored)
        return a.keys.sorted().filter { a[$0] != b[$0] }.map { "\($0) \(a[$0]!) here, \(b[$0] ?? "none") in the file" }
            .joined(separator: "; ")
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// An epoch's loss summed on the device: each minibatch adds its weighted loss (one launch, no
/// host read) and the host reads the sum once, at the epoch's end, which is when the book reports.
/// A non-finite minibatch loss leaves the sum non-finite, so the trainer stops then, before the
/// epoch's checkpoint is written: the last good checkpoint stays intact.
final class EpochLoss {
    private let sum: Tensor

    /// `start`: the sum so far of an epoch resumed mid-way (a Float32 value read back exactly).
    init(on backend: Backend, start: Double = 0) throws {
        sum = start == 0 ? try Tensor.zeros([1], on: backend) : try Tensor([Float(start)], on: backend)
    }

    func add(_ loss: Tensor, weight: Float = 1) throws { try sum.accumulate(loss, scale: weight) }

    /// The epoch's summed loss (a blocking read).
    func read() throws -> Double { try sum.item() }
}

/// Appends one JSON line per epoch to a file: a new run starts it empty; a resumed run keeps the
/// lines of the epochs its checkpoint had finished and drops any later ones (written by a run
/// that was killed before its next checkpoint), so every epoch appears once.
final class MetricsLog {
    private let handle: FileHandle?
    private let path: String

    /// `keepEpochs`: on resume, the epochs the checkpoint finished (nil: start empty).
    init(_ url: URL?, keepEpochs: Int?) throws {
        path = url?.path ?? ""
        guard let url else { handle = nil; return }
        let target: URL
        do { target = try AtomicFile.prepare(url) } catch let error as AtomicFileError {
            throw ZooError.invalidOption("--log \(url.path): \(error.reason)")
        }
        var kept = Data()
        if let keepEpochs, let old = try? String(contentsOf: target, encoding: .utf8) {
            for line in old.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let epoch = object["epoch"] as? Int, epoch <= keepEpochs
                else { continue }
                kept.append(Data((line + "\n").utf8))
            }
        }
        do { try AtomicFile.write(kept, to: target) } catch let error as AtomicFileError {
            throw ZooError.invalidOption("--log \(url.path): \(error.reason)")
        }
        do { handle = try FileHandle(forWritingTo: target) } catch {
            throw ZooError.invalidOption("--log \(url.path): \(error.localizedDescription)")
        }
        _ = try? handle?.seekToEnd()
    }

    func write(_ record: EpochRecord, recipe: String) throws {
        guard let handle else { return }
        var fields = [
            "\"recipe\": \"\(recipe)\"", "\"epoch\": \(record.epoch + 1)",
            "\"loss\": \(jsonNumber(record.loss))", "\"tokens_per_s\": \(jsonNumber(record.tokensPerSecond))",
            "\"lr\": \(jsonNumber(record.lr))", "\"seconds\": \(jsonNumber(record.seconds))"
        ]
        if let p = record.perplexity { fields.insert("\"perplexity\": \(jsonNumber(p))", at: 3) }
        if let v = record.validation { fields.append("\"validation\": \(jsonNumber(v))") }
        if let g = record.gradientNorm { fields.append("\"grad_norm\": \(jsonNumber(g))") }
        let bytes = Array(("{" + fields.joined(separator: ", ") + "}\n").utf8)
        let failure = bytes.withUnsafeBytes { AtomicFile.writeFully(handle.fileDescriptor, $0) }
        guard failure == 0 else { throw ZooError.invalidOption("cannot write the metrics log \(path): \(AtomicFile.reason(failure))") }
    }

    private func jsonNumber(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }

    deinit { try? handle?.close() }
}
