// The floating-point types the CPU backend computes in (Float32, and Float64 for gradient
// checks), with the BLAS routine for each.
import CBLAS
import RealModule

/// The signature cblas_sgemm and cblas_dgemm share, for element type T.
typealias CBLASGemm<T> = (
    CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, T, UnsafePointer<T>?, blasint,
    UnsafePointer<T>?, blasint, T, UnsafeMutablePointer<T>?, blasint
) -> Void

protocol CPUFloat: BinaryFloatingPoint & Real {
    /// cblas_sgemm or cblas_dgemm.
    static var cblasGemm: CBLASGemm<Self> { get }
}

@inline(__always) private func blasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension CPUFloat {
    /// cblas_sgemm or cblas_dgemm, row-major.
    static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        cblasGemm(
            CblasRowMajor, blasTranspose(transA), blasTranspose(transB), blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

extension CPUFloat {
    /// C = alpha · op(A) op(B), for an attention head's small products: CKernels' narrow GEMM where
    /// it applies (Float, n ≤ 16, k ≤ 256; a call to OpenBLAS costs more than such a product), BLAS
    /// otherwise.
    static func narrowGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        guard Self.self == Float.self, n <= 16, k <= 256 else {
            blasGemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                beta: 0, c: c, ldc: ldc)
            return
        }
        func float(_ p: UnsafePointer<Self>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
        CPUKernels.table.narrow_gemm(
            transA ? 1 : 0, transB ? 1 : 0, m, n, k, Float(alpha), float(a), lda, float(b), ldb,
            UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc)
    }
}

extension Float: CPUFloat {
    static var cblasGemm: CBLASGemm<Float> { cblas_sgemm }
}

extension Double: CPUFloat {
    static var cblasGemm: CBLASGemm<Double> { cblas_dgemm }
}

extension Tensor {
    /// The host pointer of a CPU tensor's data.
    @inline(__always)
    func cpuPointer<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        unsafeDowncast(storage, to: CPUBuffer.self).pointer.assumingMemoryBound(to: T.self)
    }
}
