// The CPU backend: OpenBLAS for GEMM, vectorised Swift loops for everything else, split across
// cores by `Parallel`. Computes in Float32, and in Float64 for gradient checks. This file holds
// memory, data movement and GEMM; the other CPUBackend+*.swift files hold the op families.
import CBLAS
import Foundation

public final class CPUBackend: Backend {
    public let device = Device.cpu
    let pool = HostBufferPool()

    public static let shared = CPUBackend()

    private init() { openblas_set_num_threads(1) }

    /// Worker threads of the CPU's loops (the online cores, or `DIVE_THREADS`).
    public static var threadCount: Int { Parallel.threadCount }
    public var displayName: String { "cpu (\(blasDescription), \(Parallel.threadCount) threads)" }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public var blasDescription: String {
        guard let config = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: config).trimmingCharacters(in: .whitespaces)
    }

    /// The path of the vector kernels this CPU runs: "avx2+fma" or "baseline" (`DIVE_CPU_PATH=baseline` forces it).
    public var kernelPath: String { CPUKernels.path }

    /// Threads OpenBLAS would use on its own (its start-up setting); Dive runs it on one thread
    /// per call and splits large products across its own workers (see `gemmLoop`).
    public var blasThreads: Int { Self.maxBlasThreads }

    /// Runs `body` with OpenBLAS allowed all its threads (benchmarks measuring OpenBLAS itself).
    public static func withOpenBLASThreads<R>(_ body: () throws -> R) rethrows -> R {
        openblas_set_num_threads(Int32(maxBlasThreads))
        defer { openblas_set_num_threads(1) }
        return try body()
    }

    // MARK: memory

    public func allocate(byteCount: Int) throws -> Buffer { pool.allocate(byteCount: byteCount) }

    public func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        let allocation = unsafeDowncast(buffer.allocation, to: CPUBuffer.self)
        guard byteCount > 0, byteOffset >= 0, byteOffset + byteCount <= allocation.byteCount else { return nil }
        return CPUBuffer(viewing: allocation, at: byteOffset, byteCount: byteCount)
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        unsafeDowncast(buffer, to: CPUBuffer.self).pointer.copyMemory(from: base, byteCount: bytes.count)
    }

    public func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        base.copyMemory(from: unsafeDowncast(buffer, to: CPUBuffer.self).pointer, byteCount: bytes.count)
    }

    public func synchronize() throws {}

    /// Host memory needs no transfers and nothing is queued: an empty trace.
    public var trace: DeviceTrace { DeviceTrace() }

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

    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, shape s: GemmShape, alpha: Float, beta: Float, bias: Tensor?,
                     relu: Bool) throws {
        if try isDouble(c, "gemm") {
            gemmLoop(a.cpuPointer(Double.self), b.cpuPointer(Double.self), c.cpuPointer(Double.self), s,
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

    private func gemmLoop<T: CPUFloat>(_ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
                                       _ c: UnsafeMutablePointer<T>, _ s: GemmShape, _ alpha: T, _ beta: T) {
        guard s.m > 0, s.n > 0 else { return }
        let lda = max(1, s.transA ? s.m : s.k), ldb = max(1, s.transB ? s.k : s.n)
        let work = s.batch * s.m * s.n * s.k
        if s.batch > 1 {
            Parallel.forRanges(s.batch, costPerItem: work < Self.smallGemmWork ? 1 : work / s.batch) { items in
                for i in items {
                    T.blasGemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: alpha,
                               a: a + i * s.strideA, lda: lda, b: b + i * s.strideB, ldb: ldb,
                               beta: beta, c: c + i * s.strideC, ldc: s.n)
                }
            }
        } else if s.m >= s.n {
            // Blocks of C's rows: rows of A (columns when A is transposed).
            Parallel.forRanges(s.m, costPerItem: work < Self.smallGemmWork ? 1 : s.n * s.k) { rows in
                T.blasGemm(transA: s.transA, transB: s.transB, m: rows.count, n: s.n, k: s.k, alpha: alpha,
                           a: a + rows.lowerBound * (s.transA ? 1 : lda), lda: lda, b: b, ldb: ldb,
                           beta: beta, c: c + rows.lowerBound * s.n, ldc: s.n)
            }
        } else {
            // Blocks of C's columns: columns of B (rows when B is transposed).
            Parallel.forRanges(s.n, costPerItem: work < Self.smallGemmWork ? 1 : s.m * s.k) { cols in
                T.blasGemm(transA: s.transA, transB: s.transB, m: s.m, n: cols.count, k: s.k, alpha: alpha,
                           a: a, lda: lda, b: b + cols.lowerBound * (s.transB ? ldb : 1), ldb: ldb,
                           beta: beta, c: c + cols.lowerBound, ldc: s.n)
            }
        }
    }

    /// OpenBLAS's thread count at start-up (OPENBLAS_NUM_THREADS or the core count).
    static let maxBlasThreads = Int(openblas_get_num_threads())

    /// Products of fewer multiply-adds than this run on the calling thread (`DIVE_BLAS_SMALL_WORK`
    /// overrides). Larger ones are split into one block per core, each an OpenBLAS call on one
    /// thread: OpenBLAS's own threads would spin between calls, competing with Dive's workers for
    /// the same cores (a quarter of the time of the book's LSTM went to that).
    static let smallGemmWork = ProcessInfo.processInfo.environment["DIVE_BLAS_SMALL_WORK"].flatMap { Int($0) } ?? 1_000_000

    /// Whether the op computes in Float64; throws for Int32 operands.
    func isDouble(_ t: Tensor, _ op: String) throws -> Bool {
        switch t.dtype {
        case .float32: return false
        case .float64: return true
        case .int32: throw DiveError.unsupportedDType(op: op, dtype: .int32, device: "cpu")
        }
    }
}
