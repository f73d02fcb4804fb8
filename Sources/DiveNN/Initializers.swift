// Parameter initialisers: Xavier uniform/normal, normal(σ), uniform, zeros, ones, and PyTorch's
// defaults for Linear, Embedding and the recurrent layers. Values are drawn on the host and uploaded.
import Dive
import Foundation

/// How to fill a parameter tensor.
public enum Initializer: Sendable {
    /// U(-a, a), a = gain·√(6 / (fan_in + fan_out)).
    case xavierUniform(gain: Double = 1)
    /// N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)).
    case xavierNormal(gain: Double = 1)
    case normal(mean: Double = 0, std: Double)
    case uniform(Double, Double)
    case zeros, ones
    case constant(Double)

    /// Host values for a tensor of `shape`; fans as PyTorch computes them (dim 1 · receptive
    /// field in, dim 0 · receptive field out).
    public func values(shape: [Int], rng: HostRNG) -> [Float] {
        let n = shape.reduce(1, *)
        let receptive = shape.count > 2 ? shape.dropFirst(2).reduce(1, *) : 1
        let fanIn = shape.count >= 2 ? shape[1] * receptive : (shape.first ?? 1)
        let fanOut = shape.count >= 2 ? shape[0] * receptive : (shape.first ?? 1)
        switch self {
        case let .xavierUniform(gain):
            let a = gain * (6 / Double(max(fanIn + fanOut, 1))).squareRoot()
            return (0..<n).map { _ in Float(rng.uniform(-a, a)) }
        case let .xavierNormal(gain):
            let s = gain * (2 / Double(max(fanIn + fanOut, 1))).squareRoot()
            return (0..<n).map { _ in Float(rng.normal(std: s)) }
        case let .normal(mean, std): return (0..<n).map { _ in Float(rng.normal(mean: mean, std: std)) }
        case let .uniform(lo, hi): return (0..<n).map { _ in Float(rng.uniform(lo, hi)) }
        case .zeros: return [Float](repeating: 0, count: n)
        case .ones: return [Float](repeating: 1, count: n)
        case let .constant(c): return [Float](repeating: Float(c), count: n)
        }
    }

    /// A new Float32 tensor on `backend` filled by this initialiser.
    public func make(_ shape: [Int], on backend: Backend, rng: HostRNG) throws -> Tensor {
        try Tensor(values(shape: shape, rng: rng), shape: shape, on: backend)
    }

    /// Overwrites `tensor` in place (its identity, and so optimiser state, is kept).
    public func apply(to tensor: Tensor, rng: HostRNG) throws {
        try tensor.assign(values(shape: tensor.shape, rng: rng))
    }

    /// PyTorch's default for Linear weights and biases and all recurrent weights: U(±1/√fan).
    public static func pytorchUniform(fan: Int) -> Initializer {
        let a = 1 / Double(max(fan, 1)).squareRoot()
        return .uniform(-a, a)
    }
}

extension Tensor {
    /// Overwrites this tensor's contents in place with host values (Float32 tensors).
    public func assign(_ values: [Float]) throws {
        guard values.count == count, dtype == .float32 else {
            throw DiveError.shapeMismatch(op: "assign", detail: "\(values.count) Float32 values for a \(dtype) tensor of shape \(shape)")
        }
        try values.withUnsafeBytes { try backend.upload($0, to: storage) }
    }
}

extension Module {
    /// Applies `initializer` to every parameter whose name satisfies `filter`, e.g. the book's
    /// `xavier_uniform_` on Linear and GRU weights: `{ $0.hasSuffix("weight") || $0.contains("weight_") }`.
    public func initialize(_ initializer: Initializer, rng: HostRNG, where filter: (String) -> Bool) throws {
        for (name, p) in namedParameters() where filter(name) { try initializer.apply(to: p, rng: rng) }
    }
}
