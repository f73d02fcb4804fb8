// The backend of every device that runs Kernels/*.cl: OpenCL devices (built from source) and
// CUDA devices (the same sources as PTX). The ops in KernelBackend+<Family>.swift pick a kernel
// and its launch shape and set its arguments once, for both; a `KernelRuntime` (OpenCLRuntime,
// CUDARuntime) owns the device's memory, programs and queue, and turns a launch into its API's
// calls. Launches, transfers and waits are counted here, so `--trace` means the same on both.
import Foundation
import Logging

/// Every kernel Dive launches by name; the case name is the kernel's function name.
enum Kernel: Int, CaseIterable {
    case fill_f, fill_i, copy4
    case axpy
    case u_neg, u_exp, u_log, u_tanh, u_sigmoid, u_relu, u_sqrt, u_adds, u_muls, u_rsubs, u_rdivs, u_pows
    case d_exp, d_log, d_tanh, d_sigmoid, d_relu, d_sqrt, d_pows
    case b_add, b_sub, b_mul, b_div, g_add, g_sub, g_mul, g_div
    case r_sum, r_max, r_argmax
    case sm_fw, sm_bw, sm_fw_wg, sm_bw_wg, ce_fw, ce_bw, ce_fw_wg, ce_bw_wg, ln_fw, ln_bw, ln_fw_wg, ln_bw_wg
    case at_fw, at_bw_q, at_bw_kv, emb_fw, emb_bw, dropout, sgd_n, adam_n, sumsq_n, norm_final
    case cell_fw, cell_bw, rnn_split_fw, rnn_split_bw
    case fma_peak, fma_peak_w, copy_bw

    /// Its name in Kernels/*.cl (made once: a launch asks for it every time).
    var name: String { Self.names[rawValue] }
    private static let names = allCases.map { String(describing: $0) }

    /// The Kernels/*.cl file that defines it (its op family).
    var file: String {
        switch self {
        case .fill_f, .fill_i, .copy4: return "shape"
        case .r_sum, .r_max, .r_argmax: return "reductions"
        case .sm_fw, .sm_bw, .sm_fw_wg, .sm_bw_wg: return "softmax"
        case .ce_fw, .ce_bw, .ce_fw_wg, .ce_bw_wg: return "losses"
        case .ln_fw, .ln_bw, .ln_fw_wg, .ln_bw_wg: return "layernorm"
        case .at_fw, .at_bw_q, .at_bw_kv: return "attention"
        case .emb_fw, .emb_bw: return "embedding"
        case .dropout: return "dropout"
        case .sgd_n, .adam_n, .sumsq_n, .norm_final: return "optimisation"
        case .cell_fw, .cell_bw, .rnn_split_fw, .rnn_split_bw: return "recurrent"
        case .fma_peak, .fma_peak_w, .copy_bw: return "roofline"
        default: return "elementwise"
        }
    }
}

/// A compiled kernel of a runtime (a cl_kernel or a CUfunction).
typealias KernelFunction = OpaquePointer

/// What the ops ask of a device to size their launches.
public struct KernelDeviceLimits: Sendable {
    /// The device's name as its driver reports it.
    public var name: String
    /// Whether the device is a GPU (always for CUDA), which selects GPU-shaped kernels and tuning.
    public var isGPU: Bool
    /// Compute units (OpenCL) or streaming multiprocessors (CUDA).
    public var computeUnits: Int
    /// The device's global memory in bytes.
    public var globalMemoryBytes: Int
    /// Local (OpenCL) or shared (CUDA) memory one work-group may use.
    public var localMemoryBytes: Int
    /// The most work-items (CUDA: threads) one work-group (block) may hold.
    public var maxWorkGroupSize: Int
}

/// One kernel argument, in the order the kernel declares them.
enum KernelArg {
    /// A tensor's buffer; nil binds the runtime's 4-byte dummy (an optional input that is absent).
    case buffer(Buffer?)
    case int32(Int32)
    case float(Float)
    case uint64(UInt64)
    case int4(SIMD4<Int32>)
    /// A __local float array of this many bytes, allocated by the launch.
    case local(bytes: Int)
}

/// A device API that runs Kernels/*.cl: memory, compiled kernels and an in-order queue. Called with
/// the backend's lock held.
protocol KernelRuntime: AnyObject {
    var device: Device { get }
    var displayName: String { get }
    var limits: KernelDeviceLimits { get }
    /// What identifies the device and driver in cached tuning choices.
    var tuningIdentity: [String] { get }
    func allocate(byteCount: Int) throws -> Buffer
    /// A buffer inside `buffer`'s allocation, or nil where the runtime cannot make one there.
    func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer?
    /// Queues the copy without making the host wait.
    func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws
    /// Waits for the queue, then copies out.
    func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws
    /// Waits until everything queued has run.
    func finish() throws
    /// Whether the runtime can record a training step and queue it as one graph (CUDA).
    var recordsSteps: Bool { get }
    /// Starts recording launches; `endStep` queues them as one graph and says what that cost (nil:
    /// no graph), `abandonStep` issues them one by one (the step failed).
    func beginStep()
    func endStep() throws -> GraphReplay?
    func abandonStep()
    /// Kernel `name` of program `program` (Kernels/<program>.cl) built with `options` ("-D ROWS=4").
    func function(_ name: String, program: String, options: String) throws -> KernelFunction
    /// Queues `function` over `global` work-items in groups of `local` (nil: the runtime picks).
    func enqueue(
        _ function: KernelFunction, name: String, global: (Int, Int, Int), local: (Int, Int, Int)?,
        args: [KernelArg]) throws
    /// The most work-groups of `function` (`localSize` work-items, `localBytes` of local memory)
    /// the device runs at once, so that a launch of that many may wait for each other (0: none).
    func residentGroups(_ function: KernelFunction, localSize: Int, localBytes: Int) throws -> Int
    /// See the extension: step values of recorded launches.
    func stepSlot(_ value: UInt64) -> (table: Buffer, slot: Int)?
    /// Host memory the device copies to and from at full speed (see Backend.allocateHost).
    func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer
    func freeHost(_ pointer: UnsafeMutableRawPointer)
    /// Queues a launch of at most `residentGroups` work-groups that wait for each other.
    func enqueueResident(_ function: KernelFunction, name: String, groups: Int, localSize: Int, args: [KernelArg]) throws
}

extension KernelRuntime {
    func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }
    func freeHost(_ pointer: UnsafeMutableRawPointer) { pointer.deallocate() }
    /// Where a launch being recorded for a step's graph reads `value`, a value that changes from
    /// step to step: a table entry the runtime writes before the step runs (nil: pass it itself).
    func stepSlot(_ value: UInt64) -> (table: Buffer, slot: Int)? { nil }
    var recordsSteps: Bool { false }
    func beginStep() {}
    func endStep() throws -> GraphReplay? { nil }
    func abandonStep() {}
}

/// The backend of OpenCL and CUDA devices, launching Kernels/*.cl through the device's `KernelRuntime`.
public final class KernelBackend: Backend {
    let runtime: KernelRuntime
    /// The OpenCL or CUDA device this backend runs on.
    public var device: Device { runtime.device }
    /// The runtime's one-line description of the device, for messages and listings.
    public var displayName: String { runtime.displayName }
    /// The device's sizes that the ops use to shape their launches.
    public var limits: KernelDeviceLimits { runtime.limits }
    /// Serialises launches, transfers and the caches below (recursive: ops call ops).
    let lock = NSRecursiveLock()
    /// Launches, transfers and waits so far (updated under `lock`).
    public private(set) var trace = DeviceTrace()
    /// The tuned GEMM for this device, chosen on first use.
    lazy var gemmPlan = GemmPlanner(backend: self)
    /// The fused recurrence kernels per rows-per-group (KernelBackend+RecurrentSequence.swift).
    var sequenceKernelCache: [Int: (fw: KernelFunction, bw: KernelFunction)] = [:]
    /// What the tuned families chose, with every candidate's time, in order (`tunedChoices`).
    var tuned: [TunedChoice] = []
    /// The recurrence and row kernels `auto` runs on a GPU, per shape, timed on first use.
    lazy var tuner = Tuner(backend: self)
    /// Each recurrence and row-op shape's launch per variant, worked out once (the persistent
    /// recurrence asks the driver's occupancy calculator; `auto` asks the tuner), not every step.
    var recurrentLaunches: [RecurrentKey: RecurrentLaunch?] = [:]
    var rowLaunches: [RowKey: RowLaunch?] = [:]
    /// The device-wide barrier's two counters (Kernels/recurrent.cl, grid_sync), zeroed once.
    lazy var gridSync: Result<Tensor, Error> = Result { try Tensor.zeros([2], dtype: .int32, on: self) }
    private var functions: [KernelFunction?]

    init(runtime: KernelRuntime) {
        self.runtime = runtime
        self.functions = Array(repeating: nil, count: Kernel.allCases.count)
    }

    /// Whether this backend runs on NVIDIA's driver API rather than OpenCL.
    public var isCUDA: Bool { if case .cuda = device { return true } else { return false } }

    // MARK: memory

    /// Device memory of `byteCount` bytes from the runtime.
    public func allocate(byteCount: Int) throws -> Buffer {
        lock.lock(); defer { lock.unlock() }
        return try runtime.allocate(byteCount: byteCount)
    }

    /// A buffer inside `buffer`'s allocation from the runtime, or nil where the device cannot start one
    /// there.
    public func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        lock.lock(); defer { lock.unlock() }
        return try runtime.view(buffer, byteOffset: byteOffset, byteCount: byteCount)
    }

    /// Queues a copy of `bytes` into the buffer and counts it in the trace (nothing for zero bytes).
    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard bytes.count > 0 else { return }
        lock.lock(); defer { lock.unlock() }
        try runtime.upload(bytes, to: buffer)
        trace.uploads.count += 1
        trace.uploads.bytes += bytes.count
    }

    /// Waits for the queue, copies the buffer out into `bytes` and counts a blocking download.
    public func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        lock.lock(); defer { lock.unlock() }
        try runtime.download(buffer, to: bytes)
        trace.downloads.count += 1
        trace.downloads.blocking += 1
        trace.downloads.bytes += bytes.count
    }

    /// Waits until everything queued has run, counting one wait.
    public func synchronize() throws {
        lock.lock(); defer { lock.unlock() }
        try runtime.finish()
        trace.waits += 1
    }

    /// Host memory from the runtime for fast transfers (page-locked on CUDA).
    public func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer {
        lock.lock(); defer { lock.unlock() }
        return try runtime.allocateHost(byteCount: byteCount)
    }

    /// Returns host memory from `allocateHost` to the runtime.
    public func freeHost(_ pointer: UnsafeMutableRawPointer) {
        lock.lock(); defer { lock.unlock() }
        runtime.freeHost(pointer)
    }

    /// Runs one training step; on a CUDA device with step graphs on, its launches are recorded and
    /// queued as one graph at the end.
    public func runStep(asGraph: Bool, _ body: () throws -> Void) throws {
        guard asGraph, runtime.recordsSteps else { return try body() }
        lock.lock(); runtime.beginStep(); lock.unlock()
        do {
            try body()
        } catch {
            lock.lock(); runtime.abandonStep(); lock.unlock()
            throw error
        }
        lock.lock(); defer { lock.unlock() }
        if let replay = try runtime.endStep() {
            trace.graphs += 1
            trace.graphNodes += replay.nodes
            trace.graphBuilds += replay.built ? 1 : 0
            trace.graphNodeUpdates += replay.updatedNodes
        }
    }

    // MARK: kernels

    /// The cached function of a kernel, built on first use.
    func function(_ id: Kernel) throws -> KernelFunction {
        if let f = functions[id.rawValue] { return f }
        let f = try runtime.function(id.name, program: id.file, options: "")
        functions[id.rawValue] = f
        return f
    }

    /// Sets the arguments through `setArgs` and queues kernel `id` over `global` work-items
    /// (trailing 1s are dropped), without waiting. Empty ranges launch nothing.
    func launch(
        _ id: Kernel, global: (Int, Int, Int), local: (Int, Int, Int)? = nil,
        _ setArgs: (inout KernelArgs) throws -> Void
    ) throws {
        lock.lock(); defer { lock.unlock() }
        try launchLocked(try function(id), name: id.name, family: id.file, global: global, local: local, setArgs)
    }

    /// `family` names the op family the launch is counted under in `trace`. With `resident`, the
    /// launch's work-groups wait for each other (`enqueueResident`): `global` is groups × `local`.
    func launchLocked(
        _ function: KernelFunction, name: String, family: String, global: (Int, Int, Int),
        local: (Int, Int, Int)?, resident: Bool = false, _ setArgs: (inout KernelArgs) throws -> Void
    ) throws {
        guard global.0 > 0, global.1 > 0, global.2 > 0 else { return }
        var args = KernelArgs()
        args.runtime = runtime
        try setArgs(&args)
        if PTXLibrary.checkingEveryLaunch { try PTXLibrary.check(kernel: name, args: args.values) }
        let groups = Self.workGroups(global: global, local: local, maxWorkGroupSize: limits.maxWorkGroupSize)
        if resident, let local {
            try runtime.enqueueResident(function, name: name, groups: global.0 / local.0, localSize: local.0, args: args.values)
        } else {
            try runtime.enqueue(function, name: name, global: global, local: local, args: args.values)
        }
        trace.launches[family, default: 0] += 1
        trace.workGroups[family, default: 0] += groups
        Log.device.trace("launch \(name)")
    }

    /// The work-groups of a launch: of `local` as given, else as CUDARuntime shapes it (OpenCL's
    /// driver picks its own then; the ops give `local` wherever the count matters).
    static func workGroups(global: (Int, Int, Int), local: (Int, Int, Int)?, maxWorkGroupSize: Int) -> Int {
        var block = local ?? (min(global.0, 256, maxWorkGroupSize), 1, 1)
        if local == nil { while block.0 > 1 && global.0 % block.0 != 0 { block.0 -= 1 } }
        func up(_ a: Int, _ b: Int) -> Int { (a + max(b, 1) - 1) / max(b, 1) }
        return up(global.0, block.0) * up(global.1, block.1) * up(global.2, block.2)
    }

    /// Throws unless the tensor is Float32 (the only float type of the kernels).
    func requireFloat32(_ tensors: Tensor..., op: String) throws { try requireFloat32(tensors, op: op) }

    func requireFloat32(_ tensors: [Tensor], op: String) throws {
        for t in tensors where t.dtype != .float32 {
            throw DiveError.unsupportedDType(op: op, dtype: t.dtype, device: displayName)
        }
    }
}

/// A kernel's arguments, in order.
struct KernelArgs {
    private(set) var values: [KernelArg] = []
    /// The runtime the launch goes to (for step values).
    var runtime: KernelRuntime?

    init() { values.reserveCapacity(24) }

    mutating func buffer(_ t: Tensor) throws { values.append(.buffer(t.storage)) }
    /// The tensor's buffer, or the dummy buffer when absent.
    mutating func buffer(_ t: Tensor?) throws { values.append(.buffer(t?.storage)) }
    mutating func int(_ v: Int) throws { values.append(.int32(Int32(truncatingIfNeeded: v))) }
    /// A __local float array of `floats` elements, allocated by the launch.
    mutating func local(floats: Int) throws { values.append(.local(bytes: max(floats, 1) * 4)) }
    mutating func float(_ v: Float) throws { values.append(.float(v)) }
    mutating func ulong(_ v: UInt64) throws { values.append(.uint64(v)) }
    /// A value that changes from training step to step, as a kernel's STEP_ARG takes it: (value,
    /// table, slot), or (0, table, slot) where the runtime records the step and keeps the value in
    /// its table, so the launch's arguments are the same every step.
    mutating func stepValue(_ v: UInt64) throws {
        if let (table, slot) = runtime?.stepSlot(v) {
            values.append(.uint64(0)); values.append(.buffer(table)); values.append(.int32(Int32(slot)))
        } else {
            values.append(.uint64(v)); values.append(.buffer(nil)); values.append(.int32(-1))
        }
    }
    /// A step value that is a float (its bits).
    mutating func stepFloat(_ v: Float) throws { try stepValue(UInt64(v.bitPattern)) }
    /// A fused op's dropout as (p, seed, offset as a step value); p = 0 when there is none.
    mutating func dropout(_ d: DropoutMask?) throws {
        precondition(d.map { $0.block == 0 } ?? true, "fused dropout takes contiguous masks")
        try float(d?.p ?? 0); try ulong(d?.seed ?? 0); try stepValue(d?.offset ?? 0)
    }
    /// Where attention's Q, K and V sit: (offset, row stride) of each, six ints.
    mutating func columns(_ d: AttentionDims) throws {
        for c in [d.query, d.key, d.value] { try int(c.offset); try int(c.stride) }
    }
    /// An OpenCL int4 (16 bytes).
    mutating func int4(_ v: [Int]) throws {
        values.append(.int4(SIMD4<Int32>(Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]))))
    }
}
