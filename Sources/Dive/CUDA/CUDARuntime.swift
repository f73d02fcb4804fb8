// The CUDA runtime of a KernelBackend, on NVIDIA's driver API alone (CUDADriver): the device's
// primary context and one non-blocking stream; device memory from cuMemAlloc kept in a caching
// pool; uploads staged in pinned host memory and copied asynchronously; kernels from the embedded
// PTX of Kernels/*.cl (PTXLibrary), JIT-compiled by the driver once per module. OpenCL's __local
// arguments become slices of the launch's dynamic shared memory: the PTX takes them as shared-space
// addresses, so the runtime measures where dynamic shared memory starts once (a probe kernel) and
// passes that address plus each slice's offset. While a training step runs with graphs on, its
// launches are recorded and go to the GPU as one CUDA graph at its end (CUDAGraphs.swift).
import Foundation
import Logging

/// Device memory of a CUDA device; returns to the pool when the last tensor lets go. A view is
/// the same allocation at an offset.
final class CUDABuffer: Buffer {
    let address: UInt64
    unowned let owner: CUDARuntime

    init(address: UInt64, byteCount: Int, owner: CUDARuntime) {
        self.address = address
        self.owner = owner
        super.init(byteCount: byteCount)
    }

    init(viewing allocation: CUDABuffer, at byteOffset: Int, byteCount: Int) {
        self.address = allocation.address + UInt64(byteOffset)
        self.owner = allocation.owner
        super.init(byteCount: byteCount, viewing: allocation, at: byteOffset)
    }

    deinit { if viewed == nil { owner.recycle(address, byteCount: byteCount) } }
}

final class CUDARuntime: KernelRuntime {
    let info: CUDADriver.DeviceInfo
    let device: Device
    let limits: KernelDeviceLimits
    private let api: CUDADriver.API
    private let context: OpaquePointer?
    private let stream: OpaquePointer?
    private let free: FreeList<UInt64>
    /// Pinned host blocks for uploads, by size, and the uploads still in flight.
    private let pinned = FreeList<UnsafeMutableRawPointer>(capBytes: 256 << 20)
    private var staged: [(event: OpaquePointer?, bytes: UnsafeMutableRawPointer, count: Int)] = []
    private var modules: [String: OpaquePointer] = [:]
    /// Each loaded module's kernel entries and their PTX parameters.
    private var entries: [OpaquePointer: [String: [PTXLibrary.Param]]] = [:]
    /// Each loaded function's PTX parameters and static shared memory.
    private var functions: [KernelFunction: (params: [PTXLibrary.Param], staticShared: Int, dynamicLimit: Int)] = [:]
    /// The shared-space address where a launch's dynamic shared memory starts.
    private var dynamicSharedBase: UInt64 = 0
    /// A 4-byte allocation bound where a kernel takes an optional buffer that is absent.
    private var dummy: UInt64 = 0
    /// Argument values of the launch being packed, 16 bytes each. (The optimiser kernels take the
    /// most: 16 parameter slots of 4 tables, 16 counts and 9 scalars.)
    private static let maxArguments = 128
    private let argumentBytes = UnsafeMutableRawPointer.allocate(byteCount: maxArguments * 16, alignment: 16)

    /// The step being recorded for a graph (nil: launches go straight to the stream), the
    /// allocations its launches use (an upload into one issues them first), and allocations
    /// released meanwhile that the pool had no room for (freed once the launches are queued).
    private var recording: [RecordedLaunch]?
    private var usedAllocations: Set<UInt64> = []
    private var pendingFrees: [UInt64] = []
    /// Guards `pendingFrees`: a buffer's last release may come from any thread.
    private let pendingLock = NSLock()
    /// The values of the step being recorded that change from step to step (dropout offsets, the
    /// optimiser's step size), in the order its launches asked for them, and the device table they
    /// are copied to before the step's launches run: the launches read them there by slot, so a
    /// step's graph replays with the same arguments every time.
    private var stepValues: [UInt64] = []
    private var stepTable: UInt64 = 0
    private static let stepTableEntries = 4096
    /// The step graphs, where the driver has the graph API.
    private lazy var graphs: StepGraphs? = CUDADriver.graphAPI.map { [api] in StepGraphs(api: $0) { try api.check($0, $1) } }

    /// Whether the device takes cooperative launches (CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH).
    private var cooperativeLaunches = false

    var displayName: String { "\(device) (\(info.name))" }
    var tuningIdentity: [String] {
        ["cuda", info.name, "sm_\(info.computeCapability.major)\(info.computeCapability.minor)", "\(CUDADriver.driverVersion)"]
    }

    // CUdevice_attribute and CUfunction_attribute values (cuda.h).
    private static let maxThreadsPerBlock: Int32 = 1, maxSharedPerBlock: Int32 = 8, multiprocessors: Int32 = 16
    private static let maxSharedPerBlockOptIn: Int32 = 97, cooperativeLaunch: Int32 = 95
    private static let functionStaticShared: Int32 = 1, functionMaxDynamicShared: Int32 = 8
    private static let notReady: Int32 = 600, outOfMemory: Int32 = 2

    init(info: CUDADriver.DeviceInfo) throws {
        let api = try CUDADriver.api.get()
        self.api = api
        self.info = info
        self.device = .cuda(index: info.index)
        var context: OpaquePointer?
        try api.check(api.primaryContextRetain(&context, Int32(info.index)), "cuDevicePrimaryCtxRetain", info.name)
        try api.check(api.setCurrent(context), "cuCtxSetCurrent")
        self.context = context
        var stream: OpaquePointer?
        try api.check(api.streamCreate(&stream, 1), "cuStreamCreate")  // CU_STREAM_NON_BLOCKING
        self.stream = stream
        func attribute(_ a: Int32) -> Int {
            var v: Int32 = 0
            return api.attribute(&v, a, Int32(info.index)) == 0 ? Int(v) : 0
        }
        limits = KernelDeviceLimits(
            name: info.name, isGPU: true, computeUnits: max(attribute(Self.multiprocessors), 1),
            globalMemoryBytes: info.memoryBytes, localMemoryBytes: max(attribute(Self.maxSharedPerBlock), 16 << 10),
            maxWorkGroupSize: max(attribute(Self.maxThreadsPerBlock), 64))
        free = FreeList(capBytes: min(info.memoryBytes / 2, 8 << 30), order: <)
        cooperativeLaunches = attribute(Self.cooperativeLaunch) != 0
        dummy = try createAllocation(byteCount: 4)
        dynamicSharedBase = try probeDynamicSharedBase()
        Log.device.debug("\(info.name): dynamic shared memory starts at shared address \(dynamicSharedBase)")
    }

    // MARK: memory

    private func createAllocation(byteCount: Int) throws -> UInt64 {
        var address: UInt64 = 0
        var status = api.memAlloc(&address, max(byteCount, 4))
        if status == Self.outOfMemory {
            // Give the pool back and try once more, once nothing queued can still use it.
            try finish()
            for a in free.drain() { _ = api.memFree(a) }
            status = api.memAlloc(&address, max(byteCount, 4))
        }
        if status == Self.outOfMemory {
            throw DiveError.outOfMemory(device: displayName, requestedBytes: byteCount, deviceBytes: info.memoryBytes)
        }
        try api.check(status, "cuMemAlloc", "\(byteCount) bytes")
        return address
    }

    func allocate(byteCount: Int) throws -> Buffer {
        _ = api.setCurrent(context)
        let address = try free.take(byteCount: byteCount) ?? createAllocation(byteCount: byteCount)
        return CUDABuffer(address: address, byteCount: byteCount, owner: self)
    }

    /// Any 256-byte-aligned offset: the kernels' vector loads assume at least their vector's alignment.
    func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        let allocation = unsafeDowncast(buffer.allocation, to: CUDABuffer.self)
        guard byteCount > 0, byteOffset >= 0, byteOffset + byteCount <= allocation.byteCount, byteOffset % 256 == 0 else { return nil }
        return CUDABuffer(viewing: allocation, at: byteOffset, byteCount: byteCount)
    }

    /// Back to the pool (reused in stream order, which recorded launches keep), else freed, but
    /// not while recorded launches may still use it.
    func recycle(_ address: UInt64, byteCount: Int) {
        guard !free.put(address, byteCount: byteCount) else { return }
        if recording != nil { pendingLock.withLock { pendingFrees.append(address) }; return }
        _ = api.setCurrent(context)
        _ = api.streamSynchronize(stream)  // queued kernels may still use it
        _ = api.memFree(address)
    }

    private func address(_ buffer: Buffer) -> UInt64 { unsafeDowncast(buffer, to: CUDABuffer.self).address }

    /// Copies the bytes into a pinned block and queues the copy from there; the block goes back to
    /// its pool once an event behind the copy has passed.
    func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard bytes.baseAddress != nil, bytes.count > 0 else { return }
        _ = api.setCurrent(context)
        // An upload is not part of a step's graph: it goes ahead of it on the stream, which is
        // safe unless a launch recorded earlier in this step uses the same memory.
        if recording != nil && usedAllocations.contains(address(buffer.allocation)) { try issueRecorded() }
        try stage(bytes, to: address(buffer))
    }

    /// The copy of `upload`, queued on the stream as it is.
    private func stage(_ bytes: UnsafeRawBufferPointer, to destination: UInt64) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        releaseCompletedUploads()
        var block = pinned.take(byteCount: bytes.count)
        if block == nil { try api.check(api.hostAlloc(&block, bytes.count, 0), "cuMemHostAlloc", "\(bytes.count) bytes") }
        guard let block else { throw DiveError.outOfMemory(device: "pinned host memory", requestedBytes: bytes.count, deviceBytes: 0) }
        block.copyMemory(from: base, byteCount: bytes.count)
        var event: OpaquePointer?
        do {
            try api.check(api.copyToDevice(destination, block, bytes.count, stream), "cuMemcpyHtoDAsync", "\(bytes.count) bytes")
            try api.check(api.eventCreate(&event, 2), "cuEventCreate")  // CU_EVENT_DISABLE_TIMING
            try api.check(api.eventRecord(event, stream), "cuEventRecord")
        } catch {
            try? finish()
            if !pinned.put(block, byteCount: bytes.count) { _ = api.hostFree(block) }
            throw error
        }
        staged.append((event, block, bytes.count))
    }

    /// Page-locked host memory (cuMemHostAlloc): copies to and from it go straight to the device.
    func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer {
        _ = api.setCurrent(context)
        var p: UnsafeMutableRawPointer?
        try api.check(api.hostAlloc(&p, max(byteCount, 1), 0), "cuMemHostAlloc", "\(byteCount) bytes")
        guard let p else { throw DiveError.outOfMemory(device: "pinned host memory", requestedBytes: byteCount, deviceBytes: 0) }
        return p
    }

    func freeHost(_ pointer: UnsafeMutableRawPointer) { _ = api.hostFree(pointer) }

    func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = api.setCurrent(context)
        try issueRecorded()
        try api.check(api.copyToHost(base, address(buffer), bytes.count, stream), "cuMemcpyDtoHAsync", "\(bytes.count) bytes")
        try finish()
    }

    /// Returns the pinned blocks of completed uploads to their pool (in stream order: stops at
    /// the first still pending).
    private func releaseCompletedUploads() {
        var done = 0
        for (event, block, count) in staged {
            guard api.eventQuery(event) != Self.notReady else { break }
            _ = api.eventDestroy(event)
            if !pinned.put(block, byteCount: count) { _ = api.hostFree(block) }
            done += 1
        }
        if done > 0 { staged.removeFirst(done) }
    }

    func finish() throws {
        _ = api.setCurrent(context)
        try issueRecorded()
        try api.check(api.streamSynchronize(stream), "cuStreamSynchronize")
        releaseCompletedUploads()
    }

    // MARK: kernels

    private func loadModule(_ name: String, ptx: String) throws -> OpaquePointer {
        if let module = modules[name] { return module }
        _ = api.setCurrent(context)
        var module: OpaquePointer?
        var log = [CChar](repeating: 0, count: 16 << 10)
        // CU_JIT_ERROR_LOG_BUFFER (5) and its size (6); option values are passed in pointer-sized slots.
        var options: [Int32] = [5, 6]
        let status = log.withUnsafeMutableBytes { logBytes -> Int32 in
            var values: [UnsafeMutableRawPointer?] = [logBytes.baseAddress, UnsafeMutableRawPointer(bitPattern: logBytes.count)]
            return ptx.withCString { text in api.moduleLoad(&module, text, 2, &options, &values) }
        }
        guard status == 0, let module else {
            throw DiveError.kernelBuild(
                program: "Kernels/PTX/\(name).ptx", device: info.name,
                log: "\(api.name(status)): " + String(cString: log))
        }
        modules[name] = module
        return module
    }

    func function(_ name: String, program: String, options: String) throws -> KernelFunction {
        let moduleName = PTXLibrary.moduleName(program: program, options: options)
        let ptx = try PTXLibrary.module(program: program, options: options)
        return try function(name, module: loadModule(moduleName, ptx: ptx), ptx: ptx)
    }

    private func function(_ name: String, module: OpaquePointer, ptx: String) throws -> KernelFunction {
        var f: OpaquePointer?
        try api.check(api.moduleFunction(&f, module, name), "cuModuleGetFunction", name)
        if entries[module] == nil { entries[module] = PTXLibrary.entries(of: ptx) }  // each module's text parsed once
        guard let f, let params = entries[module]?[name] else {
            throw DiveError.invalidArgument(op: "CUDA", detail: "kernel \(name) has no entry in its PTX")
        }
        var staticShared: Int32 = 0
        try api.check(api.functionAttribute(&staticShared, Self.functionStaticShared, f), "cuFuncGetAttribute", name)
        functions[f] = (params, Int(staticShared), 48 << 10)
        return f
    }

    /// Where dynamic shared memory starts in the shared window, read back from a kernel that stores
    /// the address of its `extern .shared` array (no static shared memory, like every kernel that
    /// takes __local arguments).
    private func probeDynamicSharedBase() throws -> UInt64 {
        let f = try function("dynamic_shared_base", module: loadModule("dynamic_shared_base", ptx: Self.probePTX), ptx: Self.probePTX)
        let out = try allocate(byteCount: 8)
        try enqueue(
            f, name: "dynamic_shared_base", global: (1, 1, 1), local: (1, 1, 1), args: [.buffer(out), .local(bytes: 16)],
            probing: true)
        var base: UInt64 = 0
        try withUnsafeMutableBytes(of: &base) { try download(out, to: $0) }
        return base
    }

    static let probePTX = """
        .version 4.1
        .target sm_52
        .address_size 64
        .extern .shared .align 16 .b8 dive_dynamic_shared[];
        .visible .entry dynamic_shared_base(
            .param .u64 dynamic_shared_base_param_0,
            .param .u64 dynamic_shared_base_param_1
        )
        {
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [dynamic_shared_base_param_0];
            cvta.to.global.u64 %rd2, %rd1;
            mov.u64 %rd3, dive_dynamic_shared;
            st.global.u64 [%rd2], %rd3;
            ret;
        }
        """

    func enqueue(
        _ function: KernelFunction, name: String, global: (Int, Int, Int), local: (Int, Int, Int)?,
        args: [KernelArg]
    ) throws {
        try enqueue(function, name: name, global: global, local: local, args: args, probing: false)
    }

    /// Blocks of `function` resident at once: the occupancy calculator's blocks per
    /// multiprocessor times the multiprocessors, where the device takes cooperative launches.
    func residentGroups(_ function: KernelFunction, localSize: Int, localBytes: Int) throws -> Int {
        guard let cooperative = CUDADriver.cooperativeAPI, cooperativeLaunches, localSize <= limits.maxWorkGroupSize else { return 0 }
        _ = api.setCurrent(context)
        if let loaded = functions[function], localBytes > loaded.dynamicLimit {
            guard (try? allowDynamicShared(localBytes, function: function, name: "occupancy")) != nil else { return 0 }
        }
        var perMultiprocessor: Int32 = 0
        try api.check(
            cooperative.occupancy(&perMultiprocessor, function, Int32(localSize), localBytes), "cuOccupancyMaxActiveBlocksPerMultiprocessor"
        )
        return Int(perMultiprocessor) * limits.computeUnits
    }

    /// A cooperative launch (cuLaunchCooperativeKernel; in a step's graph, a cooperative kernel node).
    func enqueueResident(_ function: KernelFunction, name: String, groups: Int, localSize: Int, args: [KernelArg]) throws {
        try enqueue(
            function, name: name, global: (groups * localSize, 1, 1), local: (localSize, 1, 1), args: args, probing: false,
            cooperative: true)
    }

    private func enqueue(
        _ function: KernelFunction, name: String, global: (Int, Int, Int), local: (Int, Int, Int)?,
        args: [KernelArg], probing: Bool, cooperative: Bool = false
    ) throws {
        guard let loaded = functions[function] else {
            throw DiveError.invalidArgument(op: name, detail: "not a function of \(displayName)")
        }
        try PTXLibrary.check(kernel: name, args: args, params: loaded.params)
        guard args.count <= Self.maxArguments else {
            throw DiveError.invalidArgument(op: name, detail: "more than \(Self.maxArguments) arguments")
        }
        let shape = try Self.launchShape(global: global, local: local, maxBlock: limits.maxWorkGroupSize)
        // Each argument in a 16-byte slot; __local arrays are consecutive 16-byte-aligned slices of
        // the dynamic shared memory, passed as shared-space addresses.
        var shared = 0
        for (i, arg) in args.enumerated() {
            let slot = argumentBytes + i * 16
            slot.initializeMemory(as: UInt8.self, repeating: 0, count: 16)  // equal arguments, equal bytes
            switch arg {
            case let .buffer(b): slot.storeBytes(of: b.map(address) ?? dummy, as: UInt64.self)
            case let .int32(v): slot.storeBytes(of: v, as: Int32.self)
            case let .float(v): slot.storeBytes(of: v, as: Float.self)
            case let .uint64(v): slot.storeBytes(of: v, as: UInt64.self)
            case let .int4(v): slot.storeBytes(of: v, as: SIMD4<Int32>.self)
            case let .local(bytes):
                slot.storeBytes(of: (probing ? 0 : dynamicSharedBase) + UInt64(shared), as: UInt64.self)
                shared += (bytes + 15) / 16 * 16
            }
        }
        if shared > 0 && loaded.staticShared > 0 {
            throw DiveError.invalidArgument(
                op: name,
                detail: "takes __local arguments and has \(loaded.staticShared) bytes of static "
                    + "shared memory; its dynamic shared memory would not start where the probe measured")
        }
        if shared > loaded.dynamicLimit { try allowDynamicShared(shared, function: function, name: name) }
        let launch = RecordedLaunch(
            function: function, grid: shape.grid, block: shape.block, sharedBytes: shared,
            arguments: Array(UnsafeRawBufferPointer(start: argumentBytes, count: args.count * 16)),
            cooperative: cooperative)
        // A driver without cooperative graph nodes takes such a launch outside the step's graph.
        let outsideGraph = cooperative && (CUDADriver.cooperativeAPI?.setNodeAttribute == nil || cooperativeNodesRefused)
        if outsideGraph { try issueRecorded() }
        if recording != nil && !outsideGraph {
            recording!.append(launch)
            for case let .buffer(b?) in args { usedAllocations.insert(address(b.allocation)) }
            return
        }
        try issue(launch)
    }

    private func issue(_ l: RecordedLaunch) throws {
        _ = api.setCurrent(context)
        if l.cooperative {
            guard let cooperative = CUDADriver.cooperativeAPI else {
                throw DiveError.invalidArgument(op: "CUDA", detail: "the driver has no cooperative launches")
            }
            let status = l.withParams { params in
                cooperative.launch(
                    l.function, UInt32(l.grid.0), UInt32(l.grid.1), UInt32(l.grid.2), UInt32(l.block.0), UInt32(l.block.1),
                    UInt32(l.block.2), UInt32(l.sharedBytes), stream, params)
            }
            return try api.check(status, "cuLaunchCooperativeKernel", "grid \(l.grid), block \(l.block), \(l.sharedBytes) bytes shared")
        }
        let status = l.withParams { params in
            api.launch(
                l.function, UInt32(l.grid.0), UInt32(l.grid.1), UInt32(l.grid.2), UInt32(l.block.0), UInt32(l.block.1),
                UInt32(l.block.2), UInt32(l.sharedBytes), stream, params, nil)
        }
        try api.check(status, "cuLaunchKernel", "grid \(l.grid), block \(l.block), \(l.sharedBytes) bytes shared")
    }

    /// Issues the launches recorded so far one by one (before the host waits or an upload reuses
    /// their memory); the step goes on recording.
    private func issueRecorded() throws {
        guard let launches = recording, !launches.isEmpty else { return }
        try writeStepValues()
        recording = []
        for l in launches { try issue(l) }
        releaseUsed()
    }

    /// Forgets the allocations of launches now queued, and frees those released meanwhile.
    private func releaseUsed() {
        usedAllocations.removeAll(keepingCapacity: true)
        let frees = pendingLock.withLock { () -> [UInt64] in
            defer { pendingFrees.removeAll() }; return pendingFrees
        }
        if !frees.isEmpty { _ = api.streamSynchronize(stream) }
        for a in frees { _ = api.memFree(a) }
    }

    // MARK: steps as graphs

    var recordsSteps: Bool { graphs != nil }

    func beginStep() {
        if graphs != nil && recording == nil { recording = []; stepValues.removeAll(keepingCapacity: true) }
    }

    func stepSlot(_ value: UInt64) -> (table: Buffer, slot: Int)? {
        guard recording != nil, stepValues.count < Self.stepTableEntries else { return nil }
        if stepTable == 0 {
            guard let a = try? createAllocation(byteCount: Self.stepTableEntries * 8) else { return nil }
            stepTable = a
            stepTableBuffer = CUDABuffer(address: a, byteCount: Self.stepTableEntries * 8, owner: self)
        }
        stepValues.append(value)
        return (stepTableBuffer!, stepValues.count - 1)
    }
    /// The table as a buffer the launches bind (never returned to the pool).
    private var stepTableBuffer: CUDABuffer?

    /// Copies the step's values so far to the table, ahead of the launches that read them.
    private func writeStepValues() throws {
        guard !stepValues.isEmpty else { return }
        try stepValues.withUnsafeBytes { try stage($0, to: stepTable) }
    }

    /// Queues the recorded step as one graph; returns what that cost (nil: nothing was recorded).
    func endStep() throws -> GraphReplay? {
        guard let launches = recording, let graphs else { return nil }
        recording = nil
        defer { releaseUsed() }
        guard !launches.isEmpty else { return nil }
        _ = api.setCurrent(context)
        try writeStepValues()
        do {
            return try graphs.launch(launches, on: stream)
        } catch StepGraphs.CooperativeNodeRefused.refused {
            // The driver takes no cooperative kernel node: this step goes launch by launch, and
            // later steps take their cooperative launches outside the graph.
            cooperativeNodesRefused = true
            Log.device.debug("\(info.name): no cooperative graph nodes; cooperative launches go outside the step graphs")
            for l in launches { try issue(l) }
            return nil
        }
    }

    /// Set once the driver refused a cooperative kernel node in a graph.
    private var cooperativeNodesRefused = false

    /// Issues what the step recorded one launch at a time (the step failed part-way).
    func abandonStep() {
        guard recording != nil else { return }
        try? issueRecorded()
        recording = nil
        releaseUsed()
    }

    /// Raises a function's dynamic shared memory limit past the default 48 KiB, where the device allows.
    private func allowDynamicShared(_ bytes: Int, function: KernelFunction, name: String) throws {
        var optIn: Int32 = 0
        _ = api.attribute(&optIn, Self.maxSharedPerBlockOptIn, Int32(info.index))
        guard bytes <= Int(optIn) else {
            throw DiveError.invalidArgument(op: name, detail: "needs \(bytes) bytes of shared memory; \(info.name) allows \(optIn)")
        }
        try api.check(api.setFunctionAttribute(function, Self.functionMaxDynamicShared, Int32(bytes)), "cuFuncSetAttribute", name)
        functions[function]?.dynamicLimit = bytes
    }

    /// CUDA's grid and block for an OpenCL range: `local` as given (the ops make `global` a multiple
    /// of it), else blocks along x of the largest divisor of global.x up to 256 work-items, so the
    /// kernels see exactly the work-items they would under OpenCL.
    static func launchShape(global: (Int, Int, Int), local: (Int, Int, Int)?, maxBlock: Int)
        throws -> (grid: (Int, Int, Int), block: (Int, Int, Int))
    {
        let block: (Int, Int, Int)
        if let local {
            block = local
        } else {
            var x = min(global.0, 256, maxBlock)
            while global.0 % x != 0 { x -= 1 }
            block = (x, 1, 1)
        }
        guard block.0 > 0, block.1 > 0, block.2 > 0, global.0 % block.0 == 0, global.1 % block.1 == 0, global.2 % block.2 == 0,
            block.0 * block.1 * block.2 <= maxBlock
        else {
            throw DiveError.invalidArgument(op: "CUDA launch", detail: "work-groups \(block) do not divide the range \(global)")
        }
        let grid = (global.0 / block.0, global.1 / block.1, global.2 / block.2)
        guard grid.0 < 1 << 31, grid.1 <= 65535, grid.2 <= 65535 else {
            throw DiveError.invalidArgument(op: "CUDA launch", detail: "grid \(grid) exceeds CUDA's limits")
        }
        return (grid, block)
    }
}
