// CKernels' packed GEMM (the CPU's recurrent-step product) against the float64 reference: every
// tile height 1–6 and the row tails, partial panels, k split into 256-row blocks with a short last
// block, both packings of B, β 0 and 1.
import CKernels
import Dive
import DiveReference
import Testing

@Suite("PackedGemm") struct PackedGemmTests {
    @Test func everyTileAndTail() throws {
        var rng = TestRNG(11)
        var cases = 0
        for m in 1...13 {
            for (n, k) in [(1, 1), (16, 19), (37, 5), (70, 33), (21, 300), (16, 512)] {
                for trans in [false, true] {
                    for beta in [0.0, 1.0] {
                        let a = rng.array(m * k), b = rng.array(k * n), c0 = rng.array(m * n)
                        var packed = [Float](repeating: .nan, count: dive_packed_size(k, n))
                        let bf = b.map(Float.init)
                        dive_pack_panels(bf, k, n, trans ? k : n, trans ? 1 : 0, &packed)
                        var c = c0.map(Float.init)
                        if beta == 0 { c = [Float](repeating: .nan, count: m * n) }
                        dive_gemm_packed(m, n, k, a.map(Float.init), k, packed, Float(beta), &c, n)
                        let expected = Ref.gemm(
                            a, b, c0, batch: 1, m: m, n: n, k: k, transA: false, transB: trans,
                            strideA: 0, strideB: 0, alpha: 1, beta: beta)
                        for i in 0..<(m * n) {
                            #expect(
                                abs(Double(c[i]) - expected[i]) <= 1e-4 + 1e-4 * abs(expected[i]),
                                "m\(m) n\(n) k\(k) trans=\(trans) β=\(beta) at \(i): \(c[i]) vs \(expected[i])")
                        }
                        cases += 1
                    }
                }
            }
        }
        print("packed gemm (\(dive_gemm_packed_is_vectorised() != 0 ? "AVX2/FMA" : "portable") kernel): \(cases) shapes ok")
    }
}
