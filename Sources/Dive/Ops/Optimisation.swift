// Optimiser primitives on tensors: fused SGD and Adam steps over a list of parameters (each
// parameter's `grad`), the global L2 norm of a list of tensors, and the book's clipping scale.

extension Tensor {
    /// The gradients of `params`, checked against their parameters (same device, same count).
    private static func gradients(_ params: [Tensor], op: String, extra: [Tensor] = []) throws -> [Tensor] {
        guard let first = params.first else { return [] }
        let grads = try params.map { p in
            guard let g = p.grad else {
                throw DiveError.autograd(detail: "\(op) step on a parameter \(p.shape) without a gradient; call backward() first")
            }
            guard g.count == p.count else {
                throw DiveError.shapeMismatch(op: op, detail: "parameter \(p.shape), grad \(g.shape)")
            }
            return g
        }
        try first.checkSameDevice(params + grads + extra, op: op)
        return grads
    }

    /// One SGD step on every parameter from its `grad`, p -= lr · scale · grad; `gradScale` (one
    /// element, on the same device) is the scale (gradient clipping without a host read).
    public static func sgdUpdate(_ params: [Tensor], lr: Float, gradScale: Tensor? = nil) throws {
        let grads = try gradients(params, op: "sgd", extra: gradScale.map { [$0] } ?? [])
        guard let first = params.first else { return }
        guard gradScale.map({ $0.count == 1 }) ?? true else {
            throw DiveError.shapeMismatch(op: "sgd", detail: "gradient scale \(gradScale!.shape) must have one element")
        }
        try first.backend.sgdStep(params: params, grads: grads, lr: lr, gradScale: gradScale)
    }

    /// One fused Adam/AdamW update of every parameter in place from its `grad`, with its moments.
    public static func adamUpdate(_ params: [Tensor], m: [Tensor], v: [Tensor], hyper: AdamHyper) throws {
        let grads = try gradients(params, op: "adam", extra: m + v)
        guard let first = params.first else { return }
        guard m.count == params.count, v.count == params.count,
              params.indices.allSatisfy({ m[$0].count == params[$0].count && v[$0].count == params[$0].count }) else {
            throw DiveError.shapeMismatch(op: "adam", detail: "\(params.count) parameters need as many moments of their sizes")
        }
        try first.backend.adamStep(params: params, grads: grads, m: m, v: v, hyper: hyper)
    }

    /// One SGD step on this parameter (see `sgdUpdate(_:lr:gradScale:)`).
    public func sgdUpdate(lr: Float, gradScale: Tensor? = nil) throws {
        try Tensor.sgdUpdate([self], lr: lr, gradScale: gradScale)
    }

    /// One Adam step on this parameter with its moments (see `adamUpdate(_:m:v:hyper:)`).
    public func adamUpdate(m: Tensor, v: Tensor, hyper: AdamHyper) throws {
        try Tensor.adamUpdate([self], m: [m], v: [v], hyper: hyper)
    }

    /// √(Σ over tensors of Σ x²), as a one-element tensor on the tensors' device.
    public static func globalNorm(_ tensors: [Tensor]) throws -> Tensor {
        try norm(tensors, clipTo: nil, op: "globalNorm")
    }

    /// The book's `grad_clipping` as a factor: θ / max(‖tensors‖₂, θ), a one-element tensor on the
    /// tensors' device (no host read), for `gradScale`.
    public static func clipScale(_ tensors: [Tensor], maxNorm: Float) throws -> Tensor {
        guard maxNorm > 0 else { throw DiveError.invalidArgument(op: "clipScale", detail: "the clipping threshold must be positive, not \(maxNorm)") }
        return try norm(tensors, clipTo: maxNorm, op: "clipScale")
    }

    private static func norm(_ tensors: [Tensor], clipTo maxNorm: Float?, op: String) throws -> Tensor {
        guard let first = tensors.first else {
            throw DiveError.invalidArgument(op: op, detail: "no tensors")
        }
        try first.checkSameDevice(tensors, op: op)
        let out = try first.emptyLike([1])
        try first.backend.globalNorm(tensors, clipTo: maxNorm, into: out)
        return out
    }
}
