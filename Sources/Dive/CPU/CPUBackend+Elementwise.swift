// CPU elementwise ops (Ops/Elementwise.swift): unary ops, their derivatives, broadcasting binary ops.
import RealModule

extension CPUBackend {
    /// y = op(x) elementwise; Float32 exp, log, tanh and sigmoid go through CKernels' vector kernels.
    public func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor) throws {
        if try isDouble(x, "unary") {
            unaryLoop(op, x.cpuPointer(Double.self), y.cpuPointer(Double.self), x.count)
        } else {
            let xp = x.cpuPointer(Float.self), yp = y.cpuPointer(Float.self)
            // Transcendentals go through the vector kernels.
            let k = CPUKernels.table
            let kernel: (@convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void)?
            switch op {
            case .exp: kernel = k.exp
            case .log: kernel = k.log
            case .tanh: kernel = k.tanh
            case .sigmoid: kernel = k.sigmoid
            default: kernel = nil
            }
            if let kernel {
                Parallel.forRanges(x.count, costPerItem: 16, family: .elementwise) { r in
                    kernel(xp + r.lowerBound, yp + r.lowerBound, r.count)
                }
            } else {
                unaryLoop(op, xp, yp, x.count)
            }
        }
    }

    private func unaryLoop<T: CPUFloat>(_ op: UnaryOp, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        let s = T(op.scalar)
        switch op {
        case .neg: map(n, x, y, s, CPUKernel.Neg.self)
        case .exp: map(n, x, y, s, CPUKernel.Exp.self)
        case .log: map(n, x, y, s, CPUKernel.Log.self)
        case .tanh: map(n, x, y, s, CPUKernel.Tanh.self)
        case .sigmoid: map(n, x, y, s, CPUKernel.Sigmoid.self)
        case .relu: map(n, x, y, s, CPUKernel.ReLU.self)
        case .sqrt: map(n, x, y, s, CPUKernel.Sqrt.self)
        case .addScalar: map(n, x, y, s, CPUKernel.AddScalar.self)
        case .mulScalar: map(n, x, y, s, CPUKernel.MulScalar.self)
        case .rsubScalar: map(n, x, y, s, CPUKernel.RSubScalar.self)
        case .rdivScalar: map(n, x, y, s, CPUKernel.RDivScalar.self)
        case .powScalar: map(n, x, y, s, CPUKernel.PowScalar.self)
        }
    }

    /// y[i] = K(x[i], s) over 0..<n: generic over the kernel type so each op compiles to its own loop.
    private func map<T: CPUFloat, K: UnaryKernel>(
        _ n: Int, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
        _ s: T, _: K.Type
    ) {
        Parallel.forRanges(n, costPerItem: 4, family: .elementwise) { r in for i in r { y[i] = K.apply(x[i], s) } }
    }

    /// y += scale · x elementwise, in place.
    public func accumulate(_ x: Tensor, scale: Float, into y: Tensor) throws {
        if try isDouble(x, "accumulate") {
            let xp = x.cpuPointer(Double.self), yp = y.cpuPointer(Double.self), a = Double(scale)
            for i in 0..<x.count { yp[i] += a * xp[i] }
        } else {
            let xp = x.cpuPointer(Float.self), yp = y.cpuPointer(Float.self)
            Parallel.forRanges(x.count, costPerItem: 2, family: .elementwise) { r in for i in r { yp[i] += scale * xp[i] } }
        }
    }

    /// dx = dy · op'(x) for ops with a fused derivative; throws for neg and the scalar ops other than pow.
    public func unaryBackward(
        _ op: UnaryOp, input x: Tensor, output y: Tensor, gradOutput dy: Tensor,
        into dx: Tensor
    ) throws {
        if try isDouble(x, "unaryBackward") {
            try unaryBackwardLoop(
                op, x.cpuPointer(Double.self), y.cpuPointer(Double.self),
                dy.cpuPointer(Double.self), dx.cpuPointer(Double.self), x.count)
        } else {
            try unaryBackwardLoop(
                op, x.cpuPointer(Float.self), y.cpuPointer(Float.self),
                dy.cpuPointer(Float.self), dx.cpuPointer(Float.self), x.count)
        }
    }

    private func unaryBackwardLoop<T: CPUFloat>(
        _ op: UnaryOp, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
        _ dy: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>, _ n: Int
    ) throws {
        let s = T(op.scalar)
        switch op {
        case .exp: mapBackward(n, x, y, dy, dx, s, CPUKernel.Exp.self)
        case .log: mapBackward(n, x, y, dy, dx, s, CPUKernel.Log.self)
        case .tanh: mapBackward(n, x, y, dy, dx, s, CPUKernel.Tanh.self)
        case .sigmoid: mapBackward(n, x, y, dy, dx, s, CPUKernel.Sigmoid.self)
        case .relu: mapBackward(n, x, y, dy, dx, s, CPUKernel.ReLU.self)
        case .sqrt: mapBackward(n, x, y, dy, dx, s, CPUKernel.Sqrt.self)
        case .powScalar: mapBackward(n, x, y, dy, dx, s, CPUKernel.PowScalar.self)
        case .neg, .addScalar, .mulScalar, .rsubScalar, .rdivScalar:
            throw DiveError.invalidArgument(op: "unaryBackward", detail: "\(op) has no fused backward; the ops layer composes it")
        }
    }

    /// dx[i] = K'(x[i], y[i], dy[i], s) over 0..<n.
    private func mapBackward<T: CPUFloat, K: UnaryKernel>(
        _ n: Int, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
        _ dy: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>,
        _ s: T, _: K.Type
    ) {
        Parallel.forRanges(n, costPerItem: 4, family: .elementwise) { r in for i in r { dx[i] = K.gradient(x[i], y[i], dy[i], s) } }
    }

    /// c = a op b elementwise under `plan`'s broadcasting, one vectorisable loop per innermost row.
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into c: Tensor, plan: BroadcastPlan) throws {
        if try isDouble(a, "binary") {
            binaryLoop(op, a.cpuPointer(Double.self), b.cpuPointer(Double.self), c.cpuPointer(Double.self), plan)
        } else {
            binaryLoop(op, a.cpuPointer(Float.self), b.cpuPointer(Float.self), c.cpuPointer(Float.self), plan)
        }
    }

    private func binaryLoop<T: CPUFloat>(
        _ op: BinaryOp, _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
        _ c: UnsafeMutablePointer<T>, _ plan: BroadcastPlan
    ) {
        switch op {
        case .add: broadcast(a, b, c, plan, CPUKernel.Add.self)
        case .sub: broadcast(a, b, c, plan, CPUKernel.Sub.self)
        case .mul: broadcast(a, b, c, plan, CPUKernel.Mul.self)
        case .div: broadcast(a, b, c, plan, CPUKernel.Div.self)
        }
    }

    /// c = K(a, b) under a broadcast plan. Generic over the kernel type, so every (type, op) pair
    /// gets its own loops with the operation inlined and the contiguous cases vectorised.
    private func broadcast<T: CPUFloat, K: BinaryKernel>(
        _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
        _ c: UnsafeMutablePointer<T>, _ plan: BroadcastPlan, _: K.Type
    ) {
        let n = plan.count
        switch plan.kind {
        case .sameShape:
            Parallel.forRanges(n, costPerItem: 2, family: .elementwise) { r in
                Self.row(a + r.lowerBound, 1, b + r.lowerBound, 1, c + r.lowerBound, r.count, K.self)
            }
        case .scalarB:
            Parallel.forRanges(n, costPerItem: 2, family: .elementwise) { r in
                Self.row(a + r.lowerBound, 1, b, 0, c + r.lowerBound, r.count, K.self)
            }
        case .scalarA:
            Parallel.forRanges(n, costPerItem: 2, family: .elementwise) { r in
                Self.row(a, 0, b + r.lowerBound, 1, c + r.lowerBound, r.count, K.self)
            }
        case .general:
            let d = plan.dims, sa = plan.aStrides, sb = plan.bStrides
            Parallel.forRanges(d[0] * d[1] * d[2], costPerItem: 2 * d[3], family: .elementwise) { range in
                // The row's index (i0, i1, i2) is divided out once, then stepped like an odometer:
                // three divisions a row cost more than adding a short row (a bias of 32).
                let first = range.lowerBound
                var i0 = first / (d[1] * d[2]), i1 = (first / d[2]) % d[1], i2 = first % d[2]
                for row in range {
                    Self.row(
                        a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2], sa[3], b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2], sb[3],
                        c + row * d[3], d[3], K.self)
                    i2 += 1
                    if i2 == d[2] { i2 = 0; i1 += 1; if i1 == d[1] { i1 = 0; i0 += 1 } }
                }
            }
        }
    }

    /// c[i] = K(a[i·sa], b[i·sb]) for i in 0..<n; strides 1 and 0 (a broadcast scalar) take loops
    /// the compiler vectorises.
    @inline(__always)
    private static func row<T: CPUFloat, K: BinaryKernel>(
        _ a: UnsafeMutablePointer<T>, _ sa: Int, _ b: UnsafeMutablePointer<T>,
        _ sb: Int, _ c: UnsafeMutablePointer<T>, _ n: Int, _: K.Type
    ) {
        if sa == 1 && sb == 1 {
            for i in 0..<n { c[i] = K.apply(a[i], b[i]) }
        } else if sa == 1 && sb == 0 {
            let s = b[0]
            for i in 0..<n { c[i] = K.apply(a[i], s) }
        } else if sa == 0 && sb == 1 {
            let s = a[0]
            for i in 0..<n { c[i] = K.apply(s, b[i]) }
        } else {
            for i in 0..<n { c[i] = K.apply(a[i * sa], b[i * sb]) }
        }
    }
}
