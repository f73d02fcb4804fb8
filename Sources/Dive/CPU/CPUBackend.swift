// The CPU backend: OpenBLAS for GEMM, vectorised Swift loops for everything else, split across
// cores by `Parallel`. Computes in Float32, and in Float64 for gradient checks. This file holds
// memory, data movement and GEMM; the other CPUBackend+*.swift files hold the op families.
import CBLAS
import Foundation

public final class CPUBackend: Backend {
    public let device = Device.cpu
    let pool = HostBufferPool()

    public static let shared = CPUBackend()

    private init() {}

    public var displayName: String { "cpu (\(blasDescription), \(Parallel.threadCount) threads)" }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public var blasDescription: String {
        guard let config = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: config).trimmingCharacters(in: .whitespaces)
    }

    /// Threads OpenBLAS uses.
    public var blasThreads: Int { Int(openblas_get_num_threads()) }

    // MARK: memory

    public func allocate(byteCount: Int) throws -> Buffer { pool.allocate(byteCount: byteCount) }

    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        unsafeDowncast(buffer, to: CPUBuffer.self).pointer.copyMemory(from: base, byteCount: bytes.count)
    }

    public func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        base.copyMemory(from: unsafeDowncast(buffer, to: CPUBuffer.self).pointer, byteCount: bytes.count)
    }

    public func synchronize() throws {}

    // MARK: data movement

    public func fill(_ y: Tensor, value: Double) throws {
        switch y.dtype {
        case .float32: y.cpuPointer(Float.self).update(repeating: Float(value), count: y.count)
        case .float64: y.cpuPointer(Double.self).update(repeating: value, count: y.count)
        case .int32: y.cpuPointer(Int32.self).update(repeating: Int32(value), count: y.count)
        }
    }

    public func copyStrided(_ x: Tensor, into y: Tensor, layout: StridedLayout) throws {
        // Every dtype is 4 or 8 bytes: copy as raw integers of that width.
        if x.dtype.byteSize == 8 {
            stridedCopy(x.cpuPointer(UInt64.self), y.cpuPointer(UInt64.self), layout)
        } else {
            stridedCopy(x.cpuPointer(UInt32.self), y.cpuPointer(UInt32.self), layout)
        }
    }

    private func stridedCopy<T>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ l: StridedLayout) {
        let n = l.shape, s = l.srcStrides, d = l.dstStrides
        Parallel.forRanges(n[0] * n[1], costPerItem: n[2] * n[3]) { range in
            for i01 in range {
                let i0 = i01 / n[1], i1 = i01 % n[1]
                let sBase = l.srcOffset + i0 * s[0] + i1 * s[1]
                let dBase = l.dstOffset + i0 * d[0] + i1 * d[1]
                for i2 in 0..<n[2] {
                    let sRow = src + sBase + i2 * s[2], dRow = dst + dBase + i2 * d[2]
                    if s[3] == 1 && d[3] == 1 {
                        dRow.update(from: sRow, count: n[3])
                    } else {
                        for i3 in 0..<n[3] { dRow[i3 * d[3]] = sRow[i3 * s[3]] }
                    }
                }
            }
        }
    }

    // MARK: GEMM

    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, shape s: GemmShape, alpha: Float, beta: Float) throws {
        if try isDouble(c, "gemm") {
            gemmLoop(a.cpuPointer(Double.self), b.cpuPointer(Double.self), c.cpuPointer(Double.self), s,
                     Double(alpha), Double(beta))
        } else {
            gemmLoop(a.cpuPointer(Float.self), b.cpuPointer(Float.self), c.cpuPointer(Float.self), s, alpha, beta)
        }
    }

    private func gemmLoop<T: CPUFloat>(_ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
                                       _ c: UnsafeMutablePointer<T>, _ s: GemmShape, _ alpha: T, _ beta: T) {
        guard s.m > 0, s.n > 0 else { return }
        Self.chooseBlasThreads(work: s.m * s.n * s.k)   // per call: a batch of small products is many small calls
        let lda = max(1, s.transA ? s.m : s.k), ldb = max(1, s.transB ? s.k : s.n)
        for i in 0..<s.batch {
            T.blasGemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: alpha,
                       a: a + i * s.strideA, lda: lda, b: b + i * s.strideB, ldb: ldb,
                       beta: beta, c: c + i * s.strideC, ldc: s.n)
        }
    }

    /// OpenBLAS's thread count at start-up: the most a large product uses.
    static let maxBlasThreads = Int(openblas_get_num_threads())

    /// Products of fewer multiply-adds than this run on one thread (`DIVE_BLAS_SMALL_WORK` overrides).
    static let smallGemmWork = ProcessInfo.processInfo.environment["DIVE_BLAS_SMALL_WORK"].flatMap { Int($0) } ?? 1_000_000

    /// Small products (the recurrent steps of the book's models: 32 × 256 × 1024) run on one
    /// OpenBLAS thread: waking and joining the others costs more than they save, and their spinning
    /// competes with our own worker threads. Larger products use every thread.
    @inline(__always) static func chooseBlasThreads(work: Int) {
        let want = work < smallGemmWork ? 1 : maxBlasThreads
        if Int(openblas_get_num_threads()) != want { openblas_set_num_threads(Int32(want)) }
    }

    /// Whether the op computes in Float64; throws for Int32 operands.
    func isDouble(_ t: Tensor, _ op: String) throws -> Bool {
        switch t.dtype {
        case .float32: return false
        case .float64: return true
        case .int32: throw DiveError.unsupportedDType(op: op, dtype: .int32, device: "cpu")
        }
    }
}
