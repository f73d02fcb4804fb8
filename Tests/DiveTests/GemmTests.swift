// Batched GEMM on every device against the float64 reference: awkward sizes, all transposes,
// alpha/beta, shared operands (batch stride 0), K = 0.
import Dive
import DiveReference
import Testing

@Suite("GEMM") struct GemmTests {
    @Test(arguments: gemmTargets)
    func awkwardShapesAllTransposes(_ target: DeviceVariant<GemmVariant>) throws {
        try KernelVariants.$gemm.withValue(target.variant) {
            let device = target.device
            let b = try backend(device)
            var rng = TestRNG(1)
            var cases = 0
            for (m, n, k) in [(1, 1, 1), (7, 33, 1), (33, 7, 257), (257, 33, 7), (1, 257, 33), (33, 33, 33), (64, 48, 40), (5, 3, 0)] {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let batch = 2
                        let a = rng.array(batch * m * k), bv = rng.array(batch * k * n), c0 = rng.array(batch * m * n)
                        let (alpha, beta) = cases % 2 == 0 ? (1.0, 0.0) : (0.5, -1.5)
                        let shape = GemmShape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB)
                        let at = try tensor(a, [batch * m * k], on: b), bt = try tensor(bv, [batch * k * n], on: b)
                        let ct = beta == 0 ? try poisoned([batch * m * n], on: b) : try tensor(c0, [batch * m * n], on: b)
                        try b.gemm(at, bt, into: ct, shape: shape, alpha: Float(alpha), beta: Float(beta))
                        let expected = Ref.gemm(a, bv, c0, batch: batch, m: m, n: n, k: k, transA: transA, transB: transB,
                                                strideA: m * k, strideB: k * n, alpha: alpha, beta: beta)
                        try expectClose(ct, expected, rtol: 1e-4, atol: 1e-4, "gemm \(m)x\(n)x\(k) tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta)")
                        cases += 1
                    }
                }
            }
            report(device, "gemm, \(cases) shapes (\(target.variant))")
        }
    }

    /// Products above a million multiply-adds, which the CPU splits into blocks of rows (m ≥ n),
    /// of columns (n > m) or of batch items, one OpenBLAS call per core.
    @Test(arguments: gemmTargets)
    func productsLargeEnoughToSplit(_ target: DeviceVariant<GemmVariant>) throws {
        try KernelVariants.$gemm.withValue(target.variant) {
            let device = target.device
            let b = try backend(device)
            var rng = TestRNG(3)
            var cases = 0
            for (batch, m, n, k) in [(1, 301, 37, 101), (1, 37, 301, 101), (3, 101, 67, 61)] {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let a = rng.array(batch * m * k), bv = rng.array(batch * k * n), c0 = rng.array(batch * m * n)
                        let beta = transA ? 1.0 : 0.0
                        let shape = GemmShape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB)
                        let ct = beta == 0 ? try poisoned([batch * m * n], on: b) : try tensor(c0, [batch * m * n], on: b)
                        try b.gemm(try tensor(a, [a.count], on: b), try tensor(bv, [bv.count], on: b), into: ct, shape: shape,
                                   alpha: 0.5, beta: Float(beta))
                        let expected = Ref.gemm(a, bv, c0, batch: batch, m: m, n: n, k: k, transA: transA, transB: transB,
                                                strideA: m * k, strideB: k * n, alpha: 0.5, beta: beta)
                        try expectClose(ct, expected, rtol: 1e-4, atol: 1e-3, "gemm \(batch)×\(m)x\(n)x\(k) tA=\(transA) tB=\(transB)")
                        cases += 1
                    }
                }
            }
            report(device, "gemm split across cores, \(cases) shapes (\(target.variant))")
        }
    }

    /// Single products with a narrow operand (n or k at most 64: a Linear layer onto the book's
    /// 28-character vocabulary, and its input gradient), β 0 and 1, on every device.
    @Test(arguments: gemmTargets)
    func narrowProducts(_ target: DeviceVariant<GemmVariant>) throws {
        try KernelVariants.$gemm.withValue(target.variant) {
            let device = target.device
            let b = try backend(device)
            var rng = TestRNG(4)
            var cases = 0
            for (m, n, k) in [(1120, 28, 256), (1120, 256, 28), (301, 64, 65), (64, 1, 1), (67, 17, 300), (65, 300, 7)] {
                for transB in [false, true] {
                    for beta in [0.0, 1.0] {
                        let a = rng.array(m * k), bv = rng.array(k * n), c0 = rng.array(m * n)
                        let shape = GemmShape(m: m, n: n, k: k, transB: transB)
                        let ct = beta == 0 ? try poisoned([m * n], on: b) : try tensor(c0, [m * n], on: b)
                        try b.gemm(try tensor(a, [a.count], on: b), try tensor(bv, [bv.count], on: b), into: ct, shape: shape,
                                   alpha: 1, beta: Float(beta))
                        let expected = Ref.gemm(a, bv, c0, batch: 1, m: m, n: n, k: k, transA: false, transB: transB,
                                                strideA: m * k, strideB: k * n, alpha: 1, beta: beta)
                        try expectClose(ct, expected, rtol: 1e-4, atol: 1e-3, "gemm \(m)x\(n)x\(k) tB=\(transB) β=\(beta)")
                        cases += 1
                    }
                }
            }
            report(device, "gemm with a narrow operand, \(cases) shapes (\(target.variant))")
        }
    }

    @Test(arguments: gemmTargets)
    func sharedOperandAndLargeSquare(_ target: DeviceVariant<GemmVariant>) throws {
        try KernelVariants.$gemm.withValue(target.variant) {
            let device = target.device
            let b = try backend(device)
            var rng = TestRNG(2)
            // B shared across a batch of 3 (stride 0).
            let (m, n, k, batch) = (9, 17, 13, 3)
            let a = rng.array(batch * m * k), bv = rng.array(k * n)
            let c = try poisoned([batch * m * n], on: b)
            try b.gemm(try tensor(a, [a.count], on: b), try tensor(bv, [bv.count], on: b), into: c,
                       shape: GemmShape(batch: batch, m: m, n: n, k: k, strideB: 0), alpha: 1, beta: 0)
            try expectClose(c, Ref.gemm(a, bv, nil, batch: batch, m: m, n: n, k: k, transA: false, transB: false,
                                        strideA: m * k, strideB: 0, alpha: 1, beta: 0), "gemm with shared B")
            // One size beyond every tile size.
            let s = 300
            let x = rng.array(s * s), y = rng.array(s * s)
            let out = try poisoned([s * s], on: b)
            try b.gemm(try tensor(x, [x.count], on: b), try tensor(y, [y.count], on: b), into: out,
                       shape: GemmShape(m: s, n: s, k: s), alpha: 1, beta: 0)
            try expectClose(out, Ref.gemm(x, y, nil, batch: 1, m: s, n: s, k: s, transA: false, transB: false,
                                          strideA: 0, strideB: 0, alpha: 1, beta: 0), rtol: 1e-4, atol: 1e-3, "gemm 300³")
            report(device, "gemm shared operand and 300³ (\(target.variant))")
        }
    }

    /// The epilogue (a Linear layer and its ReLU in one launch): every row of every batch item gets
    /// the bias, then max(0, ·) when asked, with β 0 and 1, shapes past every tile size.
    @Test(arguments: gemmTargets)
    func biasIsAddedToEveryRow(_ target: DeviceVariant<GemmVariant>) throws {
        try KernelVariants.$gemm.withValue(target.variant) {
            let device = target.device
            let b = try backend(device)
            var rng = TestRNG(9)
            var cases = 0
            for (batch, m, n, k) in [(1, 1, 1, 1), (2, 7, 33, 5), (1, 257, 33, 65), (3, 33, 257, 7), (1, 1120, 28, 256)] {
                for (transB, beta, relu) in [(false, 0.0, false), (true, 0.0, false), (true, 1.0, false), (false, 0.0, true), (true, 1.0, true)] {
                    let a = rng.array(batch * m * k), bv = rng.array(batch * k * n), c0 = rng.array(batch * m * n), bias = rng.array(n)
                    let ct = beta == 0 ? try poisoned([batch * m * n], on: b) : try tensor(c0, [batch * m * n], on: b)
                    try b.gemm(try tensor(a, [a.count], on: b), try tensor(bv, [bv.count], on: b), into: ct,
                               shape: GemmShape(batch: batch, m: m, n: n, k: k, transB: transB), alpha: 1, beta: Float(beta),
                               bias: try tensor(bias, [n], on: b), relu: relu)
                    let product = Ref.gemm(a, bv, c0, batch: batch, m: m, n: n, k: k, transA: false, transB: transB,
                                           strideA: m * k, strideB: k * n, alpha: 1, beta: beta)
                    let expected = product.indices.map { relu ? Swift.max(0, product[$0] + bias[$0 % n]) : product[$0] + bias[$0 % n] }
                    try expectClose(ct, expected, rtol: 1e-4, atol: 1e-3, "gemm+bias\(relu ? "+relu" : "") \(batch)×\(m)x\(n)x\(k) tB=\(transB) β=\(beta)")
                    cases += 1
                }
            }
            report(device, "gemm with bias (and ReLU), \(cases) shapes (\(target.variant))")
        }
    }
}
