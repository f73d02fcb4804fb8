// The OpenCL backend's runtime: one context and in-order queue per device, a buffer pool,
// cached kernels, and `launch`, which sets arguments and enqueues without waiting. The ops live
// in OpenCLBackend+*.swift; the kernels in Kernels/*.cl.
import COpenCL
import Foundation
import Logging

/// Device memory of the OpenCL backend; returns to the pool when the last tensor lets go.
final class CLBuffer: Buffer {
    let mem: cl_mem
    unowned let owner: OpenCLBackend

    init(mem: cl_mem, byteCount: Int, owner: OpenCLBackend) {
        self.mem = mem
        self.owner = owner
        super.init(byteCount: byteCount)
    }

    /// A sub-buffer `mem` of `allocation`.
    init(subBuffer mem: cl_mem, of allocation: CLBuffer, at byteOffset: Int, byteCount: Int) {
        self.mem = mem
        self.owner = allocation.owner
        super.init(byteCount: byteCount, viewing: allocation, at: byteOffset)
    }

    deinit {
        if viewed == nil { owner.recycle(mem, byteCount: byteCount) } else { clReleaseMemObject(mem) }
    }
}

/// Every kernel Dive launches by name; the case name is the kernel's function name.
enum Kernel: Int, CaseIterable {
    case fill_f, fill_i, copy4
    case axpy
    case u_neg, u_exp, u_log, u_tanh, u_sigmoid, u_relu, u_sqrt, u_adds, u_muls, u_rsubs, u_rdivs, u_pows
    case d_exp, d_log, d_tanh, d_sigmoid, d_relu, d_sqrt, d_pows
    case b_add, b_sub, b_mul, b_div, g_add, g_sub, g_mul, g_div
    case r_sum, r_max, r_argmax
    case sm_fw, sm_bw, sm_fw_wg, sm_bw_wg, ce_fw, ce_bw, ln_fw, ln_bw, ln_fw_wg, ln_bw_wg
    case at_fw, at_bw_q, at_bw_kv, emb_fw, emb_bw, dropout, sgd_n, adam_n, sumsq_n, norm_final
    case cell_fw, cell_bw
    case fma_peak, fma_peak_w, copy_bw

    /// The Kernels/*.cl file that defines it.
    var file: String {
        switch self {
        case .fill_f, .fill_i, .copy4: return "shape"
        case .r_sum, .r_max, .r_argmax: return "reductions"
        case .sm_fw, .sm_bw, .sm_fw_wg, .sm_bw_wg: return "softmax"
        case .ce_fw, .ce_bw: return "losses"
        case .ln_fw, .ln_bw, .ln_fw_wg, .ln_bw_wg: return "layernorm"
        case .at_fw, .at_bw_q, .at_bw_kv: return "attention"
        case .emb_fw, .emb_bw: return "embedding"
        case .dropout: return "dropout"
        case .sgd_n, .adam_n, .sumsq_n, .norm_final: return "optimisation"
        case .cell_fw, .cell_bw: return "recurrent"
        case .fma_peak, .fma_peak_w, .copy_bw: return "roofline"
        default: return "elementwise"
        }
    }
}

public final class OpenCLBackend: Backend {
    public let info: OpenCLDeviceInfo
    public let device: Device
    let context: cl_context
    let queue: cl_command_queue
    let programs: ProgramCache
    private var kernels: [cl_kernel?]
    private let free: FreeList<cl_mem>
    /// Serialises argument setting and enqueueing: cl_kernel objects are shared.
    let lock = NSRecursiveLock()
    /// A 4-byte buffer bound where a kernel takes an optional buffer that is absent.
    private(set) var dummy: cl_mem!
    /// The tuned GEMM for this device, chosen on first use.
    lazy var gemmPlan = GemmPlanner(backend: self)
    /// Launches, transfers and waits so far (updated under `lock`).
    public private(set) var trace = DeviceTrace()
    /// The fused recurrence kernels per rows-per-group (OpenCLBackend+RecurrentSequence.swift).
    var sequenceKernelCache: [Int: (fw: cl_kernel, bw: cl_kernel)] = [:]
    /// Host copies of non-blocking uploads, freed once their write has completed.
    private var staged: [(event: cl_event, bytes: UnsafeMutableRawPointer)] = []

    public var displayName: String { "\(device) (\(info.name), \(info.platformName))" }

    init(info: OpenCLDeviceInfo) throws {
        self.info = info
        self.device = .opencl(platform: nil, index: info.globalIndex)
        var status: cl_int = 0
        var deviceID: cl_device_id? = info.id
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw DiveError.openCL(call: "clCreateContext", code: status, detail: info.name)
        }
        guard let queue = clCreateCommandQueue(context, info.id, 0, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw DiveError.openCL(call: "clCreateCommandQueue", code: status, detail: info.name)
        }
        self.context = context
        self.queue = queue
        self.programs = ProgramCache(context: context, info: info)
        self.kernels = Array(repeating: nil, count: Kernel.allCases.count)
        self.free = FreeList(capBytes: min(info.globalMemoryBytes / 2, 4 << 30))
        self.dummy = try createBuffer(byteCount: 4)
    }

    // MARK: memory

    private func createBuffer(byteCount: Int) throws -> cl_mem {
        guard byteCount <= info.maxAllocationBytes else {
            throw DiveError.outOfMemory(device: displayName, requestedBytes: byteCount, deviceBytes: info.globalMemoryBytes)
        }
        var status: cl_int = 0
        if let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), max(byteCount, 4), nil, &status),
           status == CL_SUCCESS {
            return mem
        }
        // Give the pool's memory back and try once more before reporting.
        for mem in free.drain() { clReleaseMemObject(mem) }
        if let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), max(byteCount, 4), nil, &status),
           status == CL_SUCCESS {
            return mem
        }
        if status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES || status == CL_OUT_OF_HOST_MEMORY {
            throw DiveError.outOfMemory(device: displayName, requestedBytes: byteCount, deviceBytes: info.globalMemoryBytes)
        }
        throw DiveError.openCL(call: "clCreateBuffer", code: status, detail: "\(byteCount) bytes")
    }

    public func allocate(byteCount: Int) throws -> Buffer {
        let mem = try free.take(byteCount: byteCount) ?? createBuffer(byteCount: byteCount)
        return CLBuffer(mem: mem, byteCount: byteCount, owner: self)
    }

    public func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        let allocation = unsafeDowncast(buffer.allocation, to: CLBuffer.self)
        guard byteCount > 0, byteOffset >= 0, byteOffset + byteCount <= allocation.byteCount,
              byteOffset % info.baseAddressAlignment == 0 else { return nil }
        var region = cl_buffer_region(origin: byteOffset, size: byteCount)
        var status: cl_int = 0
        let mem = clCreateSubBuffer(allocation.mem, cl_mem_flags(CL_MEM_READ_WRITE),
                                    cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region, &status)
        guard status == CL_SUCCESS, let mem else {
            try clCheck(status, "clCreateSubBuffer", "\(byteCount) bytes at \(byteOffset)")
            return nil
        }
        return CLBuffer(subBuffer: mem, of: allocation, at: byteOffset, byteCount: byteCount)
    }

    func recycle(_ mem: cl_mem, byteCount: Int) {
        if !free.put(mem, byteCount: byteCount) { clReleaseMemObject(mem) }
    }

    /// Enqueues the copy without waiting: the bytes go to a host staging copy that is freed once
    /// the write has completed, so the host never waits for the device to upload a minibatch.
    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        lock.lock(); defer { lock.unlock() }
        releaseCompletedUploads()
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        copy.copyMemory(from: base, byteCount: bytes.count)
        var event: cl_event?
        let status = clEnqueueWriteBuffer(queue, mem(buffer), cl_bool(CL_FALSE), 0, bytes.count, copy, 0, nil, &event)
        guard status == CL_SUCCESS, let event else {
            copy.deallocate()
            try clCheck(status, "clEnqueueWriteBuffer", "\(bytes.count) bytes")
            return
        }
        staged.append((event, copy))
        trace.uploads.count += 1
        trace.uploads.bytes += bytes.count
    }

    /// Waits for queued work, then copies the buffer out.
    public func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        lock.lock(); defer { lock.unlock() }
        try clCheck(clEnqueueReadBuffer(queue, mem(buffer), cl_bool(CL_TRUE), 0, bytes.count, base, 0, nil, nil),
                    "clEnqueueReadBuffer", "\(bytes.count) bytes")
        trace.downloads.count += 1
        trace.downloads.blocking += 1
        trace.downloads.bytes += bytes.count
        releaseCompletedUploads()
    }

    /// Frees the staging copies of uploads that have completed (in queue order: stops at the first
    /// still pending).
    private func releaseCompletedUploads() {
        var done = 0
        for (event, bytes) in staged {
            var status: cl_int = 0
            let ok = clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &status, nil)
            guard ok == CL_SUCCESS, status == CL_COMPLETE else { break }
            clReleaseEvent(event)
            bytes.deallocate()
            done += 1
        }
        if done > 0 { staged.removeFirst(done) }
    }

    public func synchronize() throws {
        lock.lock(); defer { lock.unlock() }
        try clCheck(clFinish(queue), "clFinish")
        trace.waits += 1
        releaseCompletedUploads()
    }

    @inline(__always)
    func mem(_ buffer: Buffer) -> cl_mem { unsafeDowncast(buffer, to: CLBuffer.self).mem }

    // MARK: kernels

    /// The cached kernel object, building its program on first use.
    func kernel(_ id: Kernel) throws -> cl_kernel {
        if let k = kernels[id.rawValue] { return k }
        let k = try makeKernel(String(describing: id), program: programs.program(id.file))
        kernels[id.rawValue] = k
        return k
    }

    func makeKernel(_ name: String, program: cl_program) throws -> cl_kernel {
        var status: cl_int = 0
        guard let k = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            throw DiveError.openCL(call: "clCreateKernel", code: status, detail: name)
        }
        return k
    }

    /// Sets the arguments through `setArgs` and enqueues `kernel` over `global` work-items
    /// (trailing 1s are dropped), without waiting. Empty ranges launch nothing.
    func launch(_ id: Kernel, global: (Int, Int, Int), local: (Int, Int, Int)? = nil,
                _ setArgs: (inout KernelArgs) throws -> Void) throws {
        lock.lock(); defer { lock.unlock() }
        try launchLocked(try kernel(id), name: id, family: id.file, global: global, local: local, setArgs)
    }

    /// `family` names the op family the launch is counted under in `trace`.
    func launchLocked(_ k: cl_kernel, name: @autoclosure () -> Any, family: String, global: (Int, Int, Int),
                      local: (Int, Int, Int)?, _ setArgs: (inout KernelArgs) throws -> Void) throws {
        guard global.0 > 0, global.1 > 0, global.2 > 0 else { return }
        var args = KernelArgs(kernel: k, backend: self)
        try setArgs(&args)
        // Homogeneous tuples are laid out as C arrays: no heap allocation per launch.
        var g = global, l = local ?? (0, 0, 0)
        let dims: cl_uint = global.2 > 1 ? 3 : (global.1 > 1 ? 2 : 1)
        let status = withUnsafeBytes(of: &g) { gp in
            withUnsafeBytes(of: &l) { lp in
                clEnqueueNDRangeKernel(queue, k, dims, nil, gp.bindMemory(to: Int.self).baseAddress,
                                       local == nil ? nil : lp.bindMemory(to: Int.self).baseAddress, 0, nil, nil)
            }
        }
        try clCheck(status, "clEnqueueNDRangeKernel(\(name()))", "global \(global)")
        trace.launches[family, default: 0] += 1
        Log.opencl.trace("launch \(name())")
    }

    /// Throws unless the tensor is Float32 (the only float type of the OpenCL kernels).
    func requireFloat32(_ tensors: Tensor..., op: String) throws { try requireFloat32(tensors, op: op) }

    func requireFloat32(_ tensors: [Tensor], op: String) throws {
        for t in tensors where t.dtype != .float32 {
            throw DiveError.unsupportedDType(op: op, dtype: t.dtype, device: displayName)
        }
    }
}

/// Sets a kernel's arguments in order.
struct KernelArgs {
    let kernel: cl_kernel
    unowned let backend: OpenCLBackend
    private var index: cl_uint = 0

    init(kernel: cl_kernel, backend: OpenCLBackend) {
        self.kernel = kernel
        self.backend = backend
    }

    private mutating func set<T>(_ value: T) throws {
        var v = value
        let status = withUnsafePointer(to: &v) { clSetKernelArg(kernel, index, MemoryLayout<T>.size, $0) }
        try clCheck(status, "clSetKernelArg", "argument \(index)")
        index += 1
    }

    mutating func buffer(_ t: Tensor) throws { try set(backend.mem(t.storage) as cl_mem?) }
    /// The tensor's buffer, or the dummy buffer when absent.
    mutating func buffer(_ t: Tensor?) throws { try set((t.map { backend.mem($0.storage) } ?? backend.dummy) as cl_mem?) }
    mutating func mem(_ m: cl_mem) throws { try set(m as cl_mem?) }
    mutating func int(_ v: Int) throws { try set(Int32(truncatingIfNeeded: v)) }
    /// A __local float array of `floats` elements, allocated by the launch.
    mutating func local(floats: Int) throws {
        try clCheck(clSetKernelArg(kernel, index, max(floats, 1) * 4, nil), "clSetKernelArg", "local argument \(index)")
        index += 1
    }
    mutating func float(_ v: Float) throws { try set(v) }
    mutating func ulong(_ v: UInt64) throws { try set(v) }
    /// A fused op's dropout as (p, seed, offset); p = 0 when there is none.
    mutating func dropout(_ d: DropoutMask?) throws {
        precondition(d.map { $0.block == 0 } ?? true, "fused dropout takes contiguous masks")
        try float(d?.p ?? 0); try ulong(d?.seed ?? 0); try ulong(d?.offset ?? 0)
    }
    /// Where attention's Q, K and V sit: (offset, row stride) of each, six ints.
    mutating func columns(_ d: AttentionDims) throws {
        for c in [d.query, d.key, d.value] { try int(c.offset); try int(c.stride) }
    }
    /// An OpenCL int4 (16 bytes).
    mutating func int4(_ v: [Int]) throws {
        try set(SIMD4<Int32>(Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3])))
    }
}
