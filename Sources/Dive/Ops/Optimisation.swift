// Optimiser primitives on tensors: the fused Adam step and the global L2 norm of a list of tensors.

extension Tensor {
    /// One fused Adam/AdamW update of this parameter in place from its `grad`.
    public func adamUpdate(m: Tensor, v: Tensor, hyper: AdamHyper) throws {
        guard let grad else {
            throw DiveError.autograd(detail: "adam step on a parameter \(shape) without a gradient; call backward() first")
        }
        try checkSameDevice([grad, m, v], op: "adam")
        guard grad.count == count, m.count == count, v.count == count else {
            throw DiveError.shapeMismatch(op: "adam", detail: "parameter \(shape), grad \(grad.shape), moments \(m.shape) \(v.shape)")
        }
        try backend.adamStep(param: self, grad: grad, m: m, v: v, hyper: hyper)
    }

    /// √(Σ over tensors of Σ x²), as a one-element tensor on the tensors' device.
    public static func globalNorm(_ tensors: [Tensor]) throws -> Tensor {
        guard let first = tensors.first else {
            throw DiveError.invalidArgument(op: "globalNorm", detail: "no tensors")
        }
        try first.checkSameDevice(tensors, op: "globalNorm")
        let out = try first.emptyLike([1])
        try first.backend.sumOfSquares(tensors, into: out)
        return try Autograd.withoutGrad { try out.sqrt() }
    }
}
