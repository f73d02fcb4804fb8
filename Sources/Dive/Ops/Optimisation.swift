// Optimiser primitives on tensors: fused SGD and Adam steps over a list of parameters (each
// parameter's `grad`), the global L2 norm of a list of tensors, and the book's clipping scale.

extension Tensor {
    /// Checks everything an update reads before anything launches, so a bad call changes nothing:
    /// every parameter holds floats on one device; each has a gradient, and each gradient and each
    /// state tensor (`state`: named lists, one tensor per parameter) has its parameter's shape,
    /// dtype and device; `gradScale` is one element of the parameters' dtype on their device.
    /// Errors name the tensor. Returns the gradients.
    private static func checkedGradients(
        _ params: [Tensor], op: String, state: [(name: String, tensors: [Tensor])] = [],
        gradScale: Tensor?
    ) throws -> [Tensor] {
        guard let first = params.first else { return [] }
        // Names are built only for an error: a step checks every tensor and must stay cheap.
        func name(_ what: String, _ i: Int) -> String { "\(what) of parameter \(i) (\(params[i].shape))" }
        func check(_ t: Tensor, _ what: @autoclosure () -> String, like p: Tensor, shape: [Int]? = nil) throws {
            guard t.backend === first.backend else {
                throw DiveError.deviceMismatch(op: op, detail: "\(what()) is on \(t.device), the parameters on \(first.device)")
            }
            guard t.dtype == p.dtype else {
                throw DiveError.invalidArgument(op: op, detail: "\(what()) holds \(t.dtype), the parameters \(p.dtype)")
            }
            if let shape, t.shape != shape {
                throw DiveError.shapeMismatch(op: op, detail: "\(what()) has shape \(t.shape), expected \(shape)")
            }
        }
        var grads: [Tensor] = []
        for (i, p) in params.enumerated() {
            guard p.dtype.isFloatingPoint else {
                throw DiveError.invalidArgument(op: op, detail: "parameter \(i) (\(p.shape)) holds \(p.dtype); parameters hold floats")
            }
            try check(p, "parameter \(i) (\(p.shape))", like: first)
            guard let g = p.grad else {
                throw DiveError.autograd(detail: "\(op) step on parameter \(i) (\(p.shape)) without a gradient; call backward() first")
            }
            try check(g, name("gradient", i), like: p, shape: p.shape)
            grads.append(g)
        }
        for (stateName, tensors) in state {
            guard tensors.count == params.count else {
                throw DiveError.shapeMismatch(
                    op: op, detail: "\(params.count) parameters need as many \(stateName) tensors, not \(tensors.count)")
            }
            for (i, t) in tensors.enumerated() { try check(t, name(stateName, i), like: params[i], shape: params[i].shape) }
        }
        if let gradScale {
            try check(gradScale, "the gradient scale", like: first)
            guard gradScale.count == 1 else {
                throw DiveError.shapeMismatch(op: op, detail: "the gradient scale has shape \(gradScale.shape); it must have one element")
            }
        }
        return grads
    }

    /// One SGD step on every parameter from its `grad`, p -= lr · scale · grad; `gradScale` (one
    /// element, on the same device) is the scale (gradient clipping without a host read). Nothing
    /// changes unless every tensor checks out.
    public static func sgdUpdate(_ params: [Tensor], lr: Float, gradScale: Tensor? = nil) throws {
        let grads = try checkedGradients(params, op: "sgd", gradScale: gradScale)
        guard let first = params.first else { return }
        try first.backend.sgdStep(params: params, grads: grads, lr: lr, gradScale: gradScale)
    }

    /// One fused Adam/AdamW update of every parameter in place from its `grad`, with its moments.
    /// Nothing changes unless every tensor checks out.
    public static func adamUpdate(_ params: [Tensor], m: [Tensor], v: [Tensor], hyper: AdamHyper) throws {
        let grads = try checkedGradients(
            params, op: "adam", state: [("first moment", m), ("second moment", v)],
            gradScale: hyper.gradScale)
        guard let first = params.first else { return }
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
        guard maxNorm > 0 else {
            throw DiveError.invalidArgument(op: "clipScale", detail: "the clipping threshold must be positive, not \(maxNorm)")
        }
        return try norm(tensors, clipTo: maxNorm, op: "clipScale")
    }

    private static func norm(_ tensors: [Tensor], clipTo maxNorm: Float?, op: String) throws -> Tensor {
        guard let first = tensors.first else {
            throw DiveError.invalidArgument(op: op, detail: "no tensors")
        }
        try first.checkSameDevice(tensors, op: op)
        for t in tensors { try t.checkFloat(op: op) }
        let out = try first.emptyLike([1])
        try first.backend.globalNorm(tensors, clipTo: maxNorm, into: out)
        return out
    }
}
