import DiveReference
import Testing

// Batched GEMM on every device against the float64 reference: awkward sizes, all transposes,
// alpha/beta, shared operands (batch stride 0), K = 0.
@testable import Dive

@Suite("GEMM") struct GemmTests {
    @Test(arguments: gemmTargets)
    func awkwardShapesAllTransposes(_ target: DeviceVariant<GemmVariant>) throws {
        let sizes = [(1, 1, 1), (7, 33, 1), (33, 7, 257), (257, 33, 7), (1, 257, 33), (33, 33, 33), (64, 48, 40), (5, 3, 0)]
        try target.check(KernelVariants.$gemm, "gemm, \(sizes.count * 4) shapes", seed: 1) { b, rng in
            var cases = 0
            for (m, n, k) in sizes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let (alpha, beta) = cases % 2 == 0 ? (1.0, 0.0) : (0.5, -1.5)
                        try expectGemm(
                            GemmShape(batch: 2, m: m, n: n, k: k, transA: transA, transB: transB),
                            alpha: alpha, beta: beta, atol: 1e-4, on: b, rng: &rng)
                        cases += 1
                    }
                }
            }
        }
    }

    /// Products above a million multiply-adds, which the CPU splits into blocks of rows (m ≥ n),
    /// of columns (n > m) or of batch items, one OpenBLAS call per core.
    @Test(arguments: gemmTargets)
    func productsLargeEnoughToSplit(_ target: DeviceVariant<GemmVariant>) throws {
        let sizes = [(1, 301, 37, 101), (1, 37, 301, 101), (3, 101, 67, 61)]
        try target.check(KernelVariants.$gemm, "gemm split across cores, \(sizes.count * 4) shapes", seed: 3) { b, rng in
            for (batch, m, n, k) in sizes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        try expectGemm(
                            GemmShape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB),
                            alpha: 0.5, beta: transA ? 1 : 0, on: b, rng: &rng)
                    }
                }
            }
        }
    }

    /// Single products with a narrow operand (n or k at most 64: a Linear layer onto the book's
    /// 28-character vocabulary, and its input gradient), β 0 and 1, on every device.
    @Test(arguments: gemmTargets)
    func narrowProducts(_ target: DeviceVariant<GemmVariant>) throws {
        let sizes = [(1120, 28, 256), (1120, 256, 28), (301, 64, 65), (64, 1, 1), (67, 17, 300), (65, 300, 7)]
        try target.check(KernelVariants.$gemm, "gemm with a narrow operand, \(sizes.count * 4) shapes", seed: 4) { b, rng in
            for (m, n, k) in sizes {
                for transB in [false, true] {
                    for beta in [0.0, 1.0] {
                        try expectGemm(GemmShape(m: m, n: n, k: k, transB: transB), beta: beta, on: b, rng: &rng)
                    }
                }
            }
        }
    }

    @Test(arguments: gemmTargets)
    func sharedOperandAndLargeSquare(_ target: DeviceVariant<GemmVariant>) throws {
        try target.check(KernelVariants.$gemm, "gemm shared operand and 300³", seed: 2) { b, rng in
            // B shared across a batch of 3 (stride 0).
            let (m, n, k, batch) = (9, 17, 13, 3)
            let a = rng.array(batch * m * k), bv = rng.array(k * n)
            let c = try poisoned([batch * m * n], on: b)
            try b.gemm(
                try tensor(a, [a.count], on: b), try tensor(bv, [bv.count], on: b), into: c,
                shape: GemmShape(batch: batch, m: m, n: n, k: k, strideB: 0), alpha: 1, beta: 0)
            try expectClose(
                c,
                Ref.gemm(
                    a, bv, nil, batch: batch, m: m, n: n, k: k, transA: false, transB: false,
                    strideA: m * k, strideB: 0, alpha: 1, beta: 0), "gemm with shared B")
            // One size beyond every tile size.
            let s = 300
            let x = rng.array(s * s), y = rng.array(s * s)
            let out = try poisoned([s * s], on: b)
            try b.gemm(
                try tensor(x, [x.count], on: b), try tensor(y, [y.count], on: b), into: out,
                shape: GemmShape(m: s, n: s, k: s), alpha: 1, beta: 0)
            try expectClose(
                out,
                Ref.gemm(
                    x, y, nil, batch: 1, m: s, n: s, k: s, transA: false, transB: false,
                    strideA: 0, strideB: 0, alpha: 1, beta: 0), rtol: 1e-4, atol: 1e-3, "gemm 300³")
        }
    }

    /// The epilogue (a Linear layer and its ReLU in one launch): every row of every batch item gets
    /// the bias, then max(0, ·) when asked, with β 0 and 1, shapes past every tile size.
    @Test(arguments: gemmTargets)
    func biasIsAddedToEveryRow(_ target: DeviceVariant<GemmVariant>) throws {
        let sizes = [(1, 1, 1, 1), (2, 7, 33, 5), (1, 257, 33, 65), (3, 33, 257, 7), (1, 1120, 28, 256)]
        let epilogues = [(false, 0.0, false), (true, 0.0, false), (true, 1.0, false), (false, 0.0, true), (true, 1.0, true)]
        try target.check(KernelVariants.$gemm, "gemm with bias (and ReLU), \(sizes.count * epilogues.count) shapes", seed: 9) { b, rng in
            for (batch, m, n, k) in sizes {
                for (transB, beta, relu) in epilogues {
                    try expectGemm(
                        GemmShape(batch: batch, m: m, n: n, k: k, transB: transB), beta: beta, bias: true, relu: relu,
                        on: b, rng: &rng)
                }
            }
        }
    }

    /// Every gemm_lt tile candidate (plain, double-buffered with 16-byte loads, the large register
    /// blocks), with K whole and split, on every OpenCL device: all transposes, edges of every tile
    /// size, K not a multiple of a slice, leading dimensions that do and do not allow vector loads.
    @Test(arguments: allDevices.filter { $0 != .cpu })
    func everyLocalTileCandidate(_ device: Device) throws {
        let sizes = [(1, 1, 1), (33, 7, 257), (8, 132, 64), (64, 36, 100), (4, 260, 1032), (130, 68, 129)]
        try check(device, "gemm_lt, \(KernelVariants.gemmTileCandidates.count) tiles × whole and split K") { b in
            var rng = TestRNG(11)
            for tiles in KernelVariants.gemmTileCandidates {
                for variant in [GemmVariant.localTiles, .splitK] {
                    try KernelVariants.$gemmTiles.withValue(tiles) {
                        try KernelVariants.$gemm.withValue(variant) {
                            for (i, (m, n, k)) in sizes.enumerated() {
                                try expectGemm(
                                    GemmShape(batch: 1 + i % 2, m: m, n: n, k: k, transA: i % 2 == 1, transB: i % 3 == 1),
                                    alpha: 0.5, beta: i % 2 == 0 ? 0 : 1, bias: i == 2, relu: i == 2, atol: 2e-3, on: b, rng: &rng)
                            }
                        }
                    }
                }
            }
        }
    }

    /// `DIVE_VARIANTS`'s `tiles=` names a candidate; anything else is a one-line error naming them.
    @Test func tilesAreForcedByName() throws {
        #expect(KernelVariants.parse("gemm=localTiles,tiles=lt64x64x16/4x4/db/v4").gemmTiles == "lt64x64x16/4x4/db/v4")
        let error = try #require(KernelVariants.parse("tiles=lt7x7x7/1x1").error)
        #expect(error.contains("lt64x64x16/4x4/db/v4") && !error.contains("\n"))
    }

    /// One product against the float64 reference: random A, B and C (C poisoned when β is 0, so
    /// every element must be written), then a random bias on every row and max(0, ·) when asked.
    private func expectGemm(
        _ s: GemmShape, alpha: Double = 1, beta: Double, bias withBias: Bool = false, relu: Bool = false,
        atol: Double = 1e-3, on b: Backend, rng: inout TestRNG
    ) throws {
        let (sizeA, sizeB, sizeC) = (s.batch * s.m * s.k, s.batch * s.k * s.n, s.batch * s.m * s.n)
        let a = rng.array(sizeA), bv = rng.array(sizeB), c0 = rng.array(sizeC), bias = withBias ? rng.array(s.n) : nil
        let c = beta == 0 ? try poisoned([sizeC], on: b) : try tensor(c0, [sizeC], on: b)
        try b.gemm(
            try tensor(a, [sizeA], on: b), try tensor(bv, [sizeB], on: b), into: c, shape: s, alpha: Float(alpha),
            beta: Float(beta), bias: try bias.map { try tensor($0, [s.n], on: b) }, relu: relu)
        let product = Ref.gemm(
            a, bv, c0, batch: s.batch, m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB,
            strideA: s.strideA, strideB: s.strideB, alpha: alpha, beta: beta)
        let expected = bias.map { bias in
            product.indices.map { relu ? Swift.max(0, product[$0] + bias[$0 % s.n]) : product[$0] + bias[$0 % s.n] }
        }
        let epilogue = bias == nil ? "" : relu ? "+bias+relu" : "+bias"
        try expectClose(
            c, expected ?? product, rtol: 1e-4, atol: atol,
            "gemm\(epilogue) \(s.batch)×\(s.m)x\(s.n)x\(s.k) tA=\(s.transA) tB=\(s.transB) α=\(alpha) β=\(beta)")
    }
}
