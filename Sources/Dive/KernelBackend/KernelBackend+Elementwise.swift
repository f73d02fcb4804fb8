// Kernel-device (OpenCL, CUDA) elementwise ops (Ops/Elementwise.swift): unary ops, their derivatives and broadcasting
// binary ops, argument plumbing for Kernels/elementwise.cl.

extension KernelBackend {
    private func kernel(for op: UnaryOp) -> Kernel {
        switch op {
        case .neg: return .u_neg
        case .exp: return .u_exp
        case .log: return .u_log
        case .tanh: return .u_tanh
        case .sigmoid: return .u_sigmoid
        case .relu: return .u_relu
        case .sqrt: return .u_sqrt
        case .addScalar: return .u_adds
        case .mulScalar: return .u_muls
        case .rsubScalar: return .u_rsubs
        case .rdivScalar: return .u_rdivs
        case .powScalar: return .u_pows
        }
    }

    /// The 3-D grid kernel (general broadcasting) and the flat kernel (equal shapes or a scalar operand) of `op`.
    private func kernels(for op: BinaryOp) -> (grid: Kernel, flat: Kernel) {
        switch op {
        case .add: return (.g_add, .b_add)
        case .sub: return (.g_sub, .b_sub)
        case .mul: return (.g_mul, .b_mul)
        case .div: return (.g_div, .b_div)
        }
    }

    /// Float32 y = op(x) in one launch, each work-item taking 8 elements.
    public func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor) throws {
        try requireFloat32(x, op: "unary")
        try launch(kernel(for: op), global: ((x.count + 7) / 8, 1, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.int(x.count); try a.float(op.scalar)
        }
    }

    /// Float32 y += scale · x in one `axpy` launch, each work-item taking 8 elements.
    public func accumulate(_ x: Tensor, scale: Float, into y: Tensor) throws {
        try requireFloat32(x, y, op: "accumulate")
        try launch(.axpy, global: ((x.count + 7) / 8, 1, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.int(x.count); try a.float(scale)
        }
    }

    /// Float32 dx = dy · op'(x) in one launch; throws for neg and the scalar ops other than pow.
    public func unaryBackward(
        _ op: UnaryOp, input x: Tensor, output y: Tensor, gradOutput dy: Tensor,
        into dx: Tensor
    ) throws {
        try requireFloat32(x, op: "unaryBackward")
        let id: Kernel
        switch op {
        case .exp: id = .d_exp
        case .log: id = .d_log
        case .tanh: id = .d_tanh
        case .sigmoid: id = .d_sigmoid
        case .relu: id = .d_relu
        case .sqrt: id = .d_sqrt
        case .powScalar: id = .d_pows
        default:
            throw DiveError.invalidArgument(op: "unaryBackward", detail: "\(op) has no fused backward; the ops layer composes it")
        }
        try launch(id, global: ((x.count + 7) / 8, 1, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.buffer(dy); try a.buffer(dx); try a.int(x.count); try a.float(op.scalar)
        }
    }

    /// Float32 c = a op b in one launch: a flat kernel for equal shapes or a scalar operand, else a 3-D grid.
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into c: Tensor, plan: BroadcastPlan) throws {
        try requireFloat32(a, b, op: "binary")
        let kernels = kernels(for: op)
        if plan.kind == .general {
            let d = plan.dims
            try launch(kernels.grid, global: (d[3], d[2], d[0] * d[1])) { k in
                try k.buffer(a); try k.buffer(b); try k.buffer(c)
                try k.int4(d); try k.int4(plan.aStrides); try k.int4(plan.bStrides)
            }
        } else {
            let mode = plan.kind == .sameShape ? 0 : (plan.kind == .scalarB ? 1 : 2)
            try launch(kernels.flat, global: ((plan.count + 7) / 8, 1, 1)) { k in
                try k.buffer(a); try k.buffer(b); try k.buffer(c); try k.int(plan.count); try k.int(mode)
            }
        }
    }
}
