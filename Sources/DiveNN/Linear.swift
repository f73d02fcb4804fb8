// Linear (weight [out, in], bias [out]), Embedding (weight [V, D]), Dropout and LayerNorm: the
// basic layers with PyTorch's parameter names and default initialisation.
import Dive

/// y = x Wᵀ + b over the last axis. PyTorch default init: U(±1/√in) for W and b.
public final class Linear: Module {
    /// The weight matrix W, shape (out, in).
    public let weight: Tensor  // (out, in)
    /// The bias b, shape (out), or nil for a layer without bias.
    public let bias: Tensor?  // (out)
    /// The sizes of the input and output feature axes.
    public let inFeatures: Int, outFeatures: Int

    /// A fresh `inFeatures` → `outFeatures` layer, weight and (optional) bias drawn from U(±1/√inFeatures) with `rng`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, on backend: Backend, rng: HostRNG) throws {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        let initial = Initializer.pytorchUniform(fan: inFeatures)
        weight = try initial.make([outFeatures, inFeatures], on: backend, rng: rng)
        self.bias = bias ? try initial.make([outFeatures], on: backend, rng: rng) : nil
        super.init()
        register("weight", weight)
        if let b = self.bias { register("bias", b) }
    }

    /// A layer over an existing weight (out, in) and bias (out), such as row blocks of one
    /// matrix (multi-head attention's packed projections).
    public init(weight: Tensor, bias: Tensor? = nil) throws {
        guard weight.rank == 2, bias.map({ $0.shape == [weight.shape[0]] }) ?? true else {
            throw DiveError.shapeMismatch(op: "Linear", detail: "weight \(weight.shape), bias \(bias?.shape ?? [])")
        }
        outFeatures = weight.shape[0]; inFeatures = weight.shape[1]
        self.weight = weight; self.bias = bias
        super.init()
        register("weight", weight)
        if let bias { register("bias", bias) }
    }

    /// x (..., in) → (..., out); with `relu`, max(0, ·) of that in the same launch.
    public func callAsFunction(_ x: Tensor, relu: Bool = false) throws -> Tensor {
        guard x.shape.last == inFeatures else {
            throw DiveError.shapeMismatch(op: "Linear(\(inFeatures), \(outFeatures))", detail: "input \(x.shape) must end in \(inFeatures)")
        }
        if x.rank == 1 {
            return try x.reshaped([1, inFeatures]).matmul(weight, transposeB: true, bias: bias, relu: relu).reshaped([outFeatures])
        }
        return try x.matmul(weight, transposeB: true, bias: bias, relu: relu)
    }
}

/// Rows of a (V, D) table for Int32 indices. PyTorch default init: N(0, 1).
public final class Embedding: Module {
    /// The embedding table, one row of D values per index, shape (V, D).
    public let weight: Tensor  // (V, D)

    /// A table of `count` rows of `dim` values, drawn from N(0, 1) with `rng`.
    public init(_ count: Int, _ dim: Int, on backend: Backend, rng: HostRNG) throws {
        weight = try Initializer.normal(std: 1).make([count, dim], on: backend, rng: rng)
        super.init()
        register("weight", weight)
    }

    /// indices (...) → (..., D).
    public func callAsFunction(_ indices: Tensor) throws -> Tensor { try Tensor.embedding(weight, indices: indices) }
}

/// Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval.
public final class Dropout: Module {
    /// The probability of zeroing each element in training mode.
    public let p: Float
    /// A dropout layer (section 4.6) with drop probability `p`; it has no parameters.
    public init(_ p: Float) { self.p = p; super.init() }
    /// x with elements dropped and the rest scaled by 1/(1-p) in training mode (masks from `randomStream`), x itself otherwise.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        isTraining && p > 0 ? try x.dropout(p: p, stream: randomStream) : x
    }
}

/// Layer normalisation over the last axis (eps 1e-5), weight 1 and bias 0 initially.
public final class LayerNorm: Module {
    /// The scale γ (initially 1) and shift β (initially 0), each shape (dim).
    public let weight: Tensor, bias: Tensor
    /// The constant added to the variance before the square root.
    public let eps: Float

    /// Layer normalisation over a last axis of size `dim`, with γ = 1 and β = 0.
    public init(_ dim: Int, eps: Float = 1e-5, on backend: Backend) throws {
        self.eps = eps
        weight = try Tensor.ones([dim], on: backend)
        bias = try Tensor.zeros([dim], on: backend)
        super.init()
        register("weight", weight)
        register("bias", bias)
    }

    /// x (..., dim) normalised over its last axis to zero mean and unit variance, then scaled by γ and shifted by β.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.layerNorm(gamma: weight, beta: bias, eps: eps) }
}
