// The OpenCL runtime of a KernelBackend: one context and in-order queue per device, a buffer
// pool, programs built from Kernels/*.cl (ProgramCache), and `enqueue`, which sets arguments and
// enqueues without waiting. The ops live in KernelBackend+<Family>.swift.
import COpenCL
import Foundation
import Logging

/// Device memory of an OpenCL device; returns to the pool when the last tensor lets go.
final class CLBuffer: Buffer {
    let mem: cl_mem
    unowned let owner: OpenCLRuntime

    init(mem: cl_mem, byteCount: Int, owner: OpenCLRuntime) {
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

final class OpenCLRuntime: KernelRuntime {
    let info: OpenCLDeviceInfo
    let device: Device
    let limits: KernelDeviceLimits
    let context: cl_context
    let queue: cl_command_queue
    let programs: ProgramCache
    private let free: FreeList<cl_mem>
    /// A 4-byte buffer bound where a kernel takes an optional buffer that is absent.
    private var dummy: cl_mem!
    /// Host copies of non-blocking uploads, freed once their write has completed.
    private var staged: [(event: cl_event, bytes: UnsafeMutableRawPointer)] = []

    var displayName: String { "\(device) (\(info.name), \(info.platformName))" }
    var tuningIdentity: [String] { [info.platformVersion, info.name, info.driverVersion] }

    init(info: OpenCLDeviceInfo) throws {
        self.info = info
        self.device = .opencl(platform: nil, index: info.globalIndex)
        self.limits = KernelDeviceLimits(
            name: info.name, isGPU: info.isGPU, computeUnits: info.computeUnits,
            globalMemoryBytes: info.globalMemoryBytes, localMemoryBytes: info.localMemoryBytes,
            maxWorkGroupSize: info.maxWorkGroupSize)
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
            status == CL_SUCCESS
        {
            return mem
        }
        // Give the pool's memory back and try once more before reporting.
        for mem in free.drain() { clReleaseMemObject(mem) }
        if let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), max(byteCount, 4), nil, &status),
            status == CL_SUCCESS
        {
            return mem
        }
        if status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES || status == CL_OUT_OF_HOST_MEMORY {
            throw DiveError.outOfMemory(device: displayName, requestedBytes: byteCount, deviceBytes: info.globalMemoryBytes)
        }
        throw DiveError.openCL(call: "clCreateBuffer", code: status, detail: "\(byteCount) bytes")
    }

    func allocate(byteCount: Int) throws -> Buffer {
        let mem = try free.take(byteCount: byteCount) ?? createBuffer(byteCount: byteCount)
        return CLBuffer(mem: mem, byteCount: byteCount, owner: self)
    }

    func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        let allocation = unsafeDowncast(buffer.allocation, to: CLBuffer.self)
        guard byteCount > 0, byteOffset >= 0, byteOffset + byteCount <= allocation.byteCount,
            byteOffset % info.baseAddressAlignment == 0
        else { return nil }
        var region = cl_buffer_region(origin: byteOffset, size: byteCount)
        var status: cl_int = 0
        let mem = clCreateSubBuffer(
            allocation.mem, cl_mem_flags(CL_MEM_READ_WRITE),
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
    func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
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
    }

    /// Waits for queued work, then copies the buffer out.
    func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try clCheck(
            clEnqueueReadBuffer(queue, mem(buffer), cl_bool(CL_TRUE), 0, bytes.count, base, 0, nil, nil),
            "clEnqueueReadBuffer", "\(bytes.count) bytes")
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

    func finish() throws {
        try clCheck(clFinish(queue), "clFinish")
        releaseCompletedUploads()
    }

    @inline(__always)
    func mem(_ buffer: Buffer) -> cl_mem { unsafeDowncast(buffer, to: CLBuffer.self).mem }

    // MARK: kernels

    func function(_ name: String, program: String, options: String) throws -> KernelFunction {
        let built = try programs.program(program, options: options)
        var status: cl_int = 0
        guard let k = clCreateKernel(built, name, &status), status == CL_SUCCESS else {
            throw DiveError.openCL(call: "clCreateKernel", code: status, detail: name)
        }
        return k
    }

    func enqueue(
        _ function: KernelFunction, name: String, global: (Int, Int, Int), local: (Int, Int, Int)?,
        args: [KernelArg]
    ) throws {
        for (index, arg) in args.enumerated() { try set(function, cl_uint(index), arg) }
        // Homogeneous tuples are laid out as C arrays: no heap allocation per launch.
        var g = global, l = local ?? (0, 0, 0)
        let dims: cl_uint = global.2 > 1 ? 3 : (global.1 > 1 ? 2 : 1)
        let status = withUnsafeBytes(of: &g) { gp in
            withUnsafeBytes(of: &l) { lp in
                clEnqueueNDRangeKernel(
                    queue, function, dims, nil, gp.bindMemory(to: Int.self).baseAddress,
                    local == nil ? nil : lp.bindMemory(to: Int.self).baseAddress, 0, nil, nil)
            }
        }
        try clCheck(status, "clEnqueueNDRangeKernel(\(name))", "global \(global)")
    }

    /// One work-group per compute unit: OpenCL promises no more resident at once, and a GPU holds
    /// at least one group of every kernel that fits its local memory on each compute unit.
    func residentGroups(_ function: KernelFunction, localSize: Int, localBytes: Int) throws -> Int {
        localBytes <= limits.localMemoryBytes ? limits.computeUnits : 0
    }

    /// Work-groups that wait for each other hold a compute unit each until the last arrives. On a
    /// GPU the launch has the device; a CPU-type device (PoCL) runs work-groups on threads that other
    /// queues of this process share, so there such a launch runs alone and is waited for.
    func enqueueResident(_ function: KernelFunction, name: String, groups: Int, localSize: Int, args: [KernelArg]) throws {
        guard groups <= limits.computeUnits else {
            throw DiveError.invalidArgument(
                op: name, detail: "\(groups) work-groups that wait for each other on \(limits.computeUnits) compute units")
        }
        guard !limits.isGPU else {
            return try enqueue(function, name: name, global: (groups * localSize, 1, 1), local: (localSize, 1, 1), args: args)
        }
        Self.residentLock.lock(); defer { Self.residentLock.unlock() }
        try enqueue(function, name: name, global: (groups * localSize, 1, 1), local: (localSize, 1, 1), args: args)
        try finish()
    }

    /// Held while a CPU-type device runs a launch whose work-groups wait for each other.
    static let residentLock = NSLock()

    private func set(_ k: cl_kernel, _ index: cl_uint, _ arg: KernelArg) throws {
        func value<T>(_ v: T) throws {
            var v = v
            try clCheck(
                withUnsafePointer(to: &v) { clSetKernelArg(k, index, MemoryLayout<T>.size, $0) },
                "clSetKernelArg", "argument \(index)")
        }
        switch arg {
        case let .buffer(b): try value((b.map(mem) ?? dummy) as cl_mem?)
        case let .int32(v): try value(v)
        case let .float(v): try value(v)
        case let .uint64(v): try value(v)
        case let .int4(v): try value(v)
        case let .local(bytes):
            try clCheck(clSetKernelArg(k, index, bytes, nil), "clSetKernelArg", "local argument \(index)")
        }
    }
}
