// Checkpoints: one safetensors file with the model's parameters under their PyTorch names, the
// optimiser's moments under `optimizer.*`, and in the metadata the step, optimiser step and lr,
// the dropout stream's state and the caller's data position. Loading checks every name, shape and
// dtype before it changes anything, so a bad file never leaves a partial model.
import Dive
import Foundation

/// What a checkpoint carries besides tensors.
public struct CheckpointInfo: Equatable {
    /// Training steps done.
    public var step: Int
    /// Free-form entries (data position, epoch, ...), stored as `extra.<key>` metadata.
    public var extra: [String: String]
    /// State a training loop carries between steps besides the model (a language model's hidden
    /// state mid-epoch), stored as `carried.<name>` tensors.
    public var carried: [String: SafeTensor]
    /// Info for a checkpoint at training step `step`, with optional free-form entries and carried tensors.
    public init(step: Int, extra: [String: String] = [:], carried: [String: SafeTensor] = [:]) {
        self.step = step; self.extra = extra; self.carried = carried
    }
}

/// Saving and loading a model (and optimiser) as one safetensors checkpoint, checked in full before anything is changed.
public enum Checkpoint {
    static let optimizerPrefix = "optimizer.", carriedPrefix = "carried."

    /// Writes model, optimiser state and info atomically to `url`.
    public static func save(to url: URL, model: Module, optimizer: Optimizer? = nil, info: CheckpointInfo) throws {
        try encode(model: model, optimizer: optimizer, info: info).write(to: url)
    }

    /// Model, optimiser state and info as a checkpoint in memory.
    public static func encode(model: Module, optimizer: Optimizer? = nil, info: CheckpointInfo) throws -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for (name, p) in model.namedParameters() {
            file.tensors[name] = SafeTensor(try p.toArray(), shape: p.shape)
        }
        var meta: [String: String] = [
            "format": "dive-checkpoint-1", "step": String(info.step),
            "rng.seed": String(model.randomStream.seed), "rng.offset": String(model.randomStream.offset)
        ]
        if let optimizer {
            for (name, t) in optimizer.stateTensors { file.tensors[optimizerPrefix + name] = SafeTensor(try t.toArray(), shape: t.shape) }
            meta["optimizer.step"] = String(optimizer.stepCount)
            meta["optimizer.lr"] = String(optimizer.lr.bitPattern)
        }
        for (k, v) in info.extra { meta["extra." + k] = v }
        for (k, t) in info.carried { file.tensors[carriedPrefix + k] = t }
        file.metadata = meta
        return file
    }

    /// Loads `url` into `model` (and `optimizer`): every parameter must be present with its shape
    /// and dtype F32, and nothing else may be there; otherwise nothing is changed and the error
    /// names the tensor. Restores the dropout stream and returns the stored info.
    @discardableResult
    public static func load(from url: URL, into model: Module, optimizer: Optimizer? = nil) throws -> CheckpointInfo {
        try load(SafeTensorsFile.read(from: url), path: url.path, into: model, optimizer: optimizer)
    }

    /// Loads a checkpoint already in memory (`path` names it in errors).
    @discardableResult
    public static func load(_ file: SafeTensorsFile, path: String, into model: Module, optimizer: Optimizer? = nil) throws -> CheckpointInfo
    {
        if let format = file.metadata["format"], format != "dive-checkpoint-1", format != "pt" {
            throw CheckpointError(file: path, "unknown format '\(format)' (this Dive reads dive-checkpoint-1)")
        }
        var assignments: [(Tensor, [Float])] = []
        func take(_ name: String, _ target: Tensor) throws {
            guard let t = file.tensors[name] else {
                throw CheckpointError(file: path, "missing tensor '\(name)' (expected shape \(target.shape), F32)")
            }
            guard t.shape == target.shape else {
                throw CheckpointError(file: path, "tensor '\(name)' has shape \(t.shape), the model expects \(target.shape)")
            }
            guard let values = t.floats else {
                throw CheckpointError(file: path, "tensor '\(name)' has dtype \(t.dtype), the model expects floats (F32, F16, BF16 or F64)")
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError(
                    file: path, "tensor '\(name)' holds \(values[bad]) at element \(bad); a model with non-finite weights cannot be used")
            }
            assignments.append((target, values))
        }
        let params = model.namedParameters()
        for (name, p) in params { try take(name, p) }
        var known = Set(params.map(\.name))
        if let optimizer, file.tensors.keys.contains(where: { $0.hasPrefix(optimizerPrefix) }) || !optimizer.stateTensors.isEmpty {
            for (name, t) in optimizer.stateTensors { try take(optimizerPrefix + name, t); known.insert(optimizerPrefix + name) }
        }
        if let unexpected = file.tensors.keys.sorted().first(where: {
            !known.contains($0) && !$0.hasPrefix(carriedPrefix) && !(optimizer == nil && $0.hasPrefix(optimizerPrefix))
        }) {
            throw CheckpointError(file: path, "unexpected tensor '\(unexpected)' that the model does not have")
        }
        let meta = file.metadata
        func number<T: FixedWidthInteger>(_ key: String, _: T.Type) throws -> T? {
            guard let s = meta[key] else { return nil }
            guard let v = T(s) else { throw CheckpointError(file: path, "metadata '\(key)' = '\(s)' is not an integer") }
            return v
        }
        let step = try number("step", Int.self) ?? 0
        let seed = try number("rng.seed", UInt64.self), offset = try number("rng.offset", UInt64.self)
        let optStep = try number("optimizer.step", Int.self), optLR = try number("optimizer.lr", UInt32.self)
        // Everything checked: now change the model.
        for (t, values) in assignments { try t.assign(values) }
        if let seed, let offset {
            model.randomStream.seed = seed
            model.randomStream.offset = offset
        }
        if let optimizer {
            if let optStep { optimizer.stepCount = optStep }
            if let optLR { optimizer.lr = Float(bitPattern: optLR) }
        }
        var extra: [String: String] = [:]
        for (k, v) in meta where k.hasPrefix("extra.") { extra[String(k.dropFirst(6))] = v }
        var carried: [String: SafeTensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix(carriedPrefix) { carried[String(k.dropFirst(carriedPrefix.count))] = t }
        return CheckpointInfo(step: step, extra: extra, carried: carried)
    }
}
