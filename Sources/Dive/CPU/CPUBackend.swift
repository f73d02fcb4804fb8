// The CPU backend: OpenBLAS for GEMM, CKernels' vector kernels and Swift loops for everything
// else, split across cores by `Parallel`. Computes in Float32, and in Float64 for gradient checks.
// This file holds memory and transfers; CPUBackend+<Family>.swift holds each op family, under the
// name of its op in Ops/ and its OpenCL kernel in Kernels/.
import CBLAS
import Foundation

/// The CPU backend: OpenBLAS GEMM, CKernels' vector kernels and Swift loops, split across the cores.
public final class CPUBackend: Backend, Sendable {
    /// Always `.cpu`.
    public let device = Device.cpu
    let pool = HostBufferPool()

    /// The process's one CPU backend.
    public static let shared = CPUBackend()

    private init() { openblas_set_num_threads(1) }

    /// Worker threads of the CPU's loops (the online cores, or `DIVE_THREADS`).
    public static var threadCount: Int { Parallel.threadCount }
    /// "cpu" with OpenBLAS's build description and the worker-thread count.
    public var displayName: String { "cpu (\(blasDescription), \(Parallel.threadCount) threads)" }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public var blasDescription: String {
        guard let config = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: config).trimmingCharacters(in: .whitespaces)
    }

    /// The path of the vector kernels this CPU runs: "avx512", "avx2+fma" or "baseline" (`DIVE_CPU_PATH` chooses a narrower one).
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

    /// 64-byte-aligned host memory from the backend's pool.
    public func allocate(byteCount: Int) throws -> Buffer { pool.allocate(byteCount: byteCount) }

    /// A buffer of `byteCount` bytes inside `buffer`'s allocation from `byteOffset`; nil if it does not fit.
    public func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        let allocation = unsafeDowncast(buffer.allocation, to: CPUBuffer.self)
        guard byteCount > 0, byteOffset >= 0, byteOffset + byteCount <= allocation.byteCount else { return nil }
        return CPUBuffer(viewing: allocation, at: byteOffset, byteCount: byteCount)
    }

    /// Copies the bytes into the buffer's host memory.
    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        unsafeDowncast(buffer, to: CPUBuffer.self).pointer.copyMemory(from: base, byteCount: bytes.count)
    }

    /// Copies the buffer's host memory out into `bytes`.
    public func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        base.copyMemory(from: unsafeDowncast(buffer, to: CPUBuffer.self).pointer, byteCount: bytes.count)
    }

    /// Returns at once: CPU work is finished when its call returns.
    public func synchronize() throws {}

    /// Host memory needs no transfers and nothing is queued: an empty trace.
    public var trace: DeviceTrace { DeviceTrace() }

    /// Whether the op computes in Float64; throws for Int32 operands.
    func isDouble(_ t: Tensor, _ op: String) throws -> Bool {
        switch t.dtype {
        case .float32: return false
        case .float64: return true
        case .int32: throw DiveError.unsupportedDType(op: op, dtype: .int32, device: "cpu")
        }
    }
}
