// GEMM on OpenCL: picks and launches the kernels of Kernels/gemm.cl for each call.
import COpenCL

final class GemmPlanner {
    unowned let backend: OpenCLBackend
    private var small: cl_kernel?

    init(backend: OpenCLBackend) { self.backend = backend }

    /// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b].
    func run(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, alpha: Float, beta: Float) throws {
        guard s.m > 0, s.n > 0, s.batch > 0 else { return }
        let smr = 4, snr = 8
        backend.lock.lock(); defer { backend.lock.unlock() }
        if small == nil {
            small = try backend.makeKernel("gemm_small", program: backend.programs.program("gemm", options: "-D SMR=\(smr) -D SNR=\(snr)"))
        }
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        try backend.launchLocked(small!, name: "gemm_small", global: ((s.m + smr - 1) / smr, (s.n + snr - 1) / snr, s.batch), local: nil) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(0); try k.int(lda); try k.int(s.strideA)
            try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(0); try k.int(ldb); try k.int(s.strideB)
            try k.buffer(c); try k.int(0); try k.int(s.n); try k.int(s.strideC)
        }
    }
}

extension OpenCLBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, shape: GemmShape, alpha: Float, beta: Float) throws {
        try requireFloat32(a, b, c, op: "gemm")
        try gemmPlan.run(a, b, c, shape, alpha: alpha, beta: beta)
    }
}
