// The CUDA runtime of a KernelBackend, on NVIDIA's driver API alone (CUDADriver): the device's
// primary context, one non-blocking stream, and the state of its memory (CUDARuntime+Memory.swift),
// modules (CUDARuntime+Modules.swift) and launches (CUDARuntime+Launch.swift). While a training step
// runs with graphs on, its launches are recorded and go to the GPU as one CUDA graph at its end
// (CUDAGraphs.swift).
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
    let api: CUDADriver.API
    let context: OpaquePointer?
    let stream: OpaquePointer?
    let free: FreeList<UInt64>
    /// Pinned host blocks for uploads, by size, and the uploads still in flight.
    let pinned = FreeList<UnsafeMutableRawPointer>(capBytes: 256 << 20)
    var staged: [(event: OpaquePointer?, bytes: UnsafeMutableRawPointer, count: Int)] = []
    var modules: [String: OpaquePointer] = [:]
    /// Each loaded module's kernel entries and their PTX parameters.
    var entries: [OpaquePointer: [String: [PTXLibrary.Param]]] = [:]
    /// Each loaded function's PTX parameters and static shared memory.
    var functions: [KernelFunction: (params: [PTXLibrary.Param], staticShared: Int, dynamicLimit: Int)] = [:]
    /// The shared-space address where a launch's dynamic shared memory starts.
    var dynamicSharedBase: UInt64 = 0
    /// A 4-byte allocation bound where a kernel takes an optional buffer that is absent.
    var dummy: UInt64 = 0
    /// Argument values of the launch being packed, 16 bytes each. (The optimiser kernels take the
    /// most: 16 parameter slots of 4 tables, 16 counts and 9 scalars.)
    static let maxArguments = 128
    let argumentBytes = UnsafeMutableRawPointer.allocate(byteCount: maxArguments * 16, alignment: 16)

    /// The state of the step being recorded as a CUDA graph (CUDAGraphs.swift).
    let recorder: StepRecorder

    /// Whether the device takes cooperative launches (CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH).
    var cooperativeLaunches = false

    var displayName: String { "\(device) (\(info.name))" }
    var tuningIdentity: [String] {
        ["cuda", info.name, "sm_\(info.computeCapability.major)\(info.computeCapability.minor)", "\(CUDADriver.driverVersion)"]
    }

    // CUdevice_attribute and CUfunction_attribute values (cuda.h).
    private static let maxThreadsPerBlock: Int32 = 1, maxSharedPerBlock: Int32 = 8, multiprocessors: Int32 = 16
    static let maxSharedPerBlockOptIn: Int32 = 97, cooperativeLaunch: Int32 = 95
    static let functionStaticShared: Int32 = 1, functionMaxDynamicShared: Int32 = 8
    static let notReady: Int32 = 600, outOfMemory: Int32 = 2

    init(info: CUDADriver.DeviceInfo) throws {
        let api = try CUDADriver.api.get()
        self.api = api
        self.recorder = StepRecorder(api: api)
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

    func finish() throws {
        _ = api.setCurrent(context)
        try issueRecorded()
        try api.check(api.streamSynchronize(stream), "cuStreamSynchronize")
        releaseCompletedUploads()
    }
}
