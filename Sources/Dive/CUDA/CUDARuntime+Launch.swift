// CUDARuntime's launches: arguments packed in 16-byte slots (OpenCL's __local arguments as slices of
// the dynamic shared memory, at the address the probe measured), issued to the stream or recorded for
// the step's graph, and cooperative launches sized by the occupancy calculator.
import Foundation

extension CUDARuntime {
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

    func enqueue(
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
        let outsideGraph = cooperative && (CUDADriver.cooperativeAPI?.setNodeAttribute == nil || recorder.cooperativeNodesRefused)
        if outsideGraph { try issueRecorded() }
        if recorder.recording != nil && !outsideGraph {
            recorder.recording!.append(launch)
            for case let .buffer(b?) in args { recorder.usedAllocations.insert(address(b.allocation)) }
            return
        }
        try issue(launch)
    }

    /// Queues one launch on the stream (cuLaunchCooperativeKernel for a cooperative one, else cuLaunchKernel).
    func issue(_ l: RecordedLaunch) throws {
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
