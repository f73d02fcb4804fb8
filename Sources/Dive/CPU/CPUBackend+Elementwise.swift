// CPU elementwise ops (unary, their derivatives, broadcasting binary ops) and reductions.
import RealModule

extension CPUBackend {
    public func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor) throws {
        if try isDouble(x, "unary") {
            unaryLoop(op, x.cpuPointer(Double.self), y.cpuPointer(Double.self), x.count)
        } else {
            let xp = x.cpuPointer(Float.self), yp = y.cpuPointer(Float.self)
            // Transcendentals go through the SIMD math library.
            switch op {
            case .exp: Parallel.forRanges(x.count, costPerItem: 16) { r in VectorMath.exp(xp + r.lowerBound, yp + r.lowerBound, count: r.count) }
            case .log: Parallel.forRanges(x.count, costPerItem: 16) { r in VectorMath.log(xp + r.lowerBound, yp + r.lowerBound, count: r.count) }
            case .tanh: Parallel.forRanges(x.count, costPerItem: 16) { r in VectorMath.tanh(xp + r.lowerBound, yp + r.lowerBound, count: r.count) }
            case .sigmoid: Parallel.forRanges(x.count, costPerItem: 16) { r in VectorMath.sigmoid(xp + r.lowerBound, yp + r.lowerBound, count: r.count) }
            // The cheap ops as plain loops the compiler vectorises (through `unaryLoop` each
            // element is a call to a closure).
            case .mulScalar: let c = Float(op.scalar); Parallel.forRanges(x.count, costPerItem: 4) { r in for i in r { yp[i] = xp[i] * c } }
            case .addScalar: let c = Float(op.scalar); Parallel.forRanges(x.count, costPerItem: 4) { r in for i in r { yp[i] = xp[i] + c } }
            case .relu: Parallel.forRanges(x.count, costPerItem: 4) { r in for i in r { let v = xp[i]; yp[i] = v > 0 ? v : 0 } }
            default: unaryLoop(op, xp, yp, x.count)
            }
        }
    }

    private func unaryLoop<T: CPUFloat>(_ op: UnaryOp, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        let s = T(op.scalar)
        @inline(__always) func map(_ f: (T) -> T) {
            Parallel.forRanges(n, costPerItem: 4) { r in for i in r { y[i] = f(x[i]) } }
        }
        switch op {
        case .neg: map { -$0 }
        case .exp: map { T.exp($0) }
        case .log: map { T.log($0) }
        case .tanh: map { T.tanh($0) }
        case .sigmoid: map { 1 / (1 + T.exp(-$0)) }
        case .relu: map { $0 > 0 ? $0 : 0 }
        case .sqrt: map { $0.squareRoot() }
        case .addScalar: map { $0 + s }
        case .mulScalar: map { $0 * s }
        case .rsubScalar: map { s - $0 }
        case .rdivScalar: map { s / $0 }
        case .powScalar: map { T.pow($0, s) }
        }
    }

    public func unaryBackward(_ op: UnaryOp, input x: Tensor, output y: Tensor, gradOutput dy: Tensor,
                              into dx: Tensor) throws {
        if try isDouble(x, "unaryBackward") {
            try unaryBackwardLoop(op, x.cpuPointer(Double.self), y.cpuPointer(Double.self),
                                  dy.cpuPointer(Double.self), dx.cpuPointer(Double.self), x.count)
        } else if op == .relu {
            let xp = x.cpuPointer(Float.self), gp = dy.cpuPointer(Float.self), dp = dx.cpuPointer(Float.self)
            Parallel.forRanges(x.count, costPerItem: 4) { r in for i in r { let g = gp[i]; dp[i] = xp[i] > 0 ? g : 0 } }
        } else {
            try unaryBackwardLoop(op, x.cpuPointer(Float.self), y.cpuPointer(Float.self),
                                  dy.cpuPointer(Float.self), dx.cpuPointer(Float.self), x.count)
        }
    }

    private func unaryBackwardLoop<T: CPUFloat>(_ op: UnaryOp, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                _ dy: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>, _ n: Int) throws {
        let s = T(op.scalar)
        @inline(__always) func map(_ f: (T, T, T) -> T) {
            Parallel.forRanges(n, costPerItem: 4) { r in for i in r { dx[i] = f(x[i], y[i], dy[i]) } }
        }
        switch op {
        case .exp: map { _, y, g in g * y }
        case .log: map { x, _, g in g / x }
        case .tanh: map { _, y, g in g * (1 - y * y) }
        case .sigmoid: map { _, y, g in g * y * (1 - y) }
        case .relu: map { x, _, g in x > 0 ? g : 0 }
        case .sqrt: map { _, y, g in g * 0.5 / y }
        case .powScalar: map { x, _, g in g * s * T.pow(x, s - 1) }
        case .neg, .addScalar, .mulScalar, .rsubScalar, .rdivScalar:
            throw DiveError.invalidArgument(op: "unaryBackward", detail: "\(op) has no fused backward; the ops layer composes it")
        }
    }

    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into c: Tensor, plan: BroadcastPlan) throws {
        if try isDouble(a, "binary") {
            binaryLoop(op, a.cpuPointer(Double.self), b.cpuPointer(Double.self), c.cpuPointer(Double.self), plan)
        } else {
            binaryLoop(op, a.cpuPointer(Float.self), b.cpuPointer(Float.self), c.cpuPointer(Float.self), plan)
        }
    }

    private func binaryLoop<T: CPUFloat>(_ op: BinaryOp, _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
                                         _ c: UnsafeMutablePointer<T>, _ plan: BroadcastPlan) {
        switch op {
        case .add: broadcast(a, b, c, plan, +)
        case .sub: broadcast(a, b, c, plan, -)
        case .mul: broadcast(a, b, c, plan, *)
        case .div: broadcast(a, b, c, plan, /)
        }
    }

    @inline(__always)
    private func broadcast<T: CPUFloat>(_ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
                                        _ c: UnsafeMutablePointer<T>, _ plan: BroadcastPlan, _ f: (T, T) -> T) {
        let n = plan.count
        switch plan.kind {
        case .sameShape: Parallel.forRanges(n, costPerItem: 2) { r in for i in r { c[i] = f(a[i], b[i]) } }
        case .scalarB: let s = b[0]; Parallel.forRanges(n, costPerItem: 2) { r in for i in r { c[i] = f(a[i], s) } }
        case .scalarA: let s = a[0]; Parallel.forRanges(n, costPerItem: 2) { r in for i in r { c[i] = f(s, b[i]) } }
        case .general:
            let d = plan.dims, sa = plan.aStrides, sb = plan.bStrides
            Parallel.forRanges(d[0] * d[1] * d[2], costPerItem: 2 * d[3]) { range in
                for row in range {
                    let i0 = row / (d[1] * d[2]), i1 = (row / d[2]) % d[1], i2 = row % d[2]
                    let ap = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2]
                    let bp = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2]
                    let cp = c + row * d[3]
                    let a3 = sa[3], b3 = sb[3]
                    if a3 == 1 && b3 == 1 {
                        // Contiguous rows (a bias add): a loop the compiler vectorises.
                        for i3 in 0..<d[3] { cp[i3] = f(ap[i3], bp[i3]) }
                    } else {
                        for i3 in 0..<d[3] { cp[i3] = f(ap[i3 * a3], bp[i3 * b3]) }
                    }
                }
            }
        }
    }

    public func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor, outer: Int, length: Int, inner: Int) throws {
        if try isDouble(x, "reduce") {
            reduceLoop(op, x.cpuPointer(Double.self), y, outer, length, inner)
        } else {
            reduceLoop(op, x.cpuPointer(Float.self), y, outer, length, inner)
        }
    }

    private func reduceLoop<T: CPUFloat>(_ op: ReduceOp, _ x: UnsafeMutablePointer<T>, _ y: Tensor,
                                         _ outer: Int, _ length: Int, _ inner: Int) {
        // One output element per (o, i); walking i innermost keeps memory access contiguous.
        if op == .argmax {
            let out = y.cpuPointer(Int32.self)
            Parallel.forRanges(outer, costPerItem: length * inner) { r in
                for o in r {
                    for i in 0..<inner {
                        var best = -T.infinity, index = 0
                        for l in 0..<length {
                            let v = x[(o * length + l) * inner + i]
                            if v > best { best = v; index = l }
                        }
                        out[o * inner + i] = Int32(index)
                    }
                }
            }
            return
        }
        let out = y.cpuPointer(T.self)
        let scale: T = op == .mean ? 1 / T(max(length, 1)) : 1
        Parallel.forRanges(outer, costPerItem: length * inner) { r in
            for o in r {
                let dst = out + o * inner
                let src = x + o * length * inner
                if op == .max {
                    dst.update(repeating: -T.infinity, count: inner)
                    for l in 0..<length { let row = src + l * inner; for i in 0..<inner { dst[i] = Swift.max(dst[i], row[i]) } }
                } else if inner == 1 {
                    var acc: T = 0
                    for l in 0..<length { acc += src[l] }
                    dst[0] = acc * scale
                } else {
                    dst.update(repeating: 0, count: inner)
                    for l in 0..<length { let row = src + l * inner; for i in 0..<inner { dst[i] += row[i] } }
                    if scale != 1 { for i in 0..<inner { dst[i] *= scale } }
                }
            }
        }
    }
}
