// CPU matrix products (Ops/MatMul.swift): OpenBLAS GEMM with the bias and ReLU epilogue. Products
// of more multiply-adds than the GEMM threshold (`SplitThresholds`) are split into one OpenBLAS
// call per core, each on one thread: OpenBLAS's own threads would spin between calls, competing
// with Dive's workers for the same cores (a quarter of the time of the book's LSTM went to that).
import CBLAS
import Foundation

extension CPUBackend {
    /// OpenBLAS's thread count at start-up (OPENBLAS_NUM_THREADS or the core count).
    static let maxBlasThreads = Int(openblas_get_num_threads())

    /// OpenBLAS GEMM split across the cores, then the bias row added and ReLU applied in place over C.
    public func gemm(
        _ a: Tensor, _ b: Tensor, into c: Tensor, shape s: GemmShape, alpha: Float, beta: Float, bias: Tensor?,
        relu: Bool
    ) throws {
        if try isDouble(c, "gemm") {
            gemmLoop(
                a.cpuPointer(Double.self), b.cpuPointer(Double.self), c.cpuPointer(Double.self), s,
                Double(alpha), Double(beta))
        } else {
            gemmLoop(a.cpuPointer(Float.self), b.cpuPointer(Float.self), c.cpuPointer(Float.self), s, alpha, beta)
        }
        // The bias (the broadcasting add) and the activation, in place over C's rows.
        let rows = Tensor(shape: [s.batch * s.m, s.n], dtype: c.dtype, storage: c.storage, backend: self)
        if let bias {
            try binary(.add, rows, bias, into: rows, plan: try BroadcastPlan.make(rows.shape, [s.n], op: "gemm"))
        }
        if relu { try unary(.relu, rows, into: rows) }
    }

    private func gemmLoop<T: CPUFloat>(
        _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
        _ c: UnsafeMutablePointer<T>, _ s: GemmShape, _ alpha: T, _ beta: T
    ) {
        guard s.m > 0, s.n > 0 else { return }
        let lda = max(1, s.transA ? s.m : s.k), ldb = max(1, s.transB ? s.k : s.n)
        let work = s.batch * s.m * s.n * s.k
        if s.batch > 1 {
            Parallel.forRanges(s.batch, costPerItem: work / s.batch, family: .gemm) { items in
                for i in items {
                    T.blasGemm(
                        transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: alpha,
                        a: a + i * s.strideA, lda: lda, b: b + i * s.strideB, ldb: ldb,
                        beta: beta, c: c + i * s.strideC, ldc: s.n)
                }
            }
        } else if s.m >= s.n {
            // Blocks of C's rows: rows of A (columns when A is transposed).
            Parallel.forRanges(s.m, costPerItem: s.n * s.k, family: .gemm) { rows in
                T.blasGemm(
                    transA: s.transA, transB: s.transB, m: rows.count, n: s.n, k: s.k, alpha: alpha,
                    a: a + rows.lowerBound * (s.transA ? 1 : lda), lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c + rows.lowerBound * s.n, ldc: s.n)
            }
        } else {
            // Blocks of C's columns: columns of B (rows when B is transposed).
            Parallel.forRanges(s.n, costPerItem: s.m * s.k, family: .gemm) { cols in
                T.blasGemm(
                    transA: s.transA, transB: s.transB, m: s.m, n: cols.count, k: s.k, alpha: alpha,
                    a: a, lda: lda, b: b + cols.lowerBound * (s.transB ? ldb : 1), ldb: ldb,
                    beta: beta, c: c + cols.lowerBound, ldc: s.n)
            }
        }
    }
}
