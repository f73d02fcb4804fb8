// NVIDIA's driver API, loaded at run time: libcuda.so.1 is opened with dlopen, so the same binary
// runs where there is no NVIDIA driver, and `dive devices` then says why there is no CUDA device.
// `probe` finds the devices (cuInit, names, memory, compute capability, the driver's version);
// `API` holds the entry points CUDARuntime calls, looked up once.
import Foundation

/// The NVIDIA driver as this process finds it.
public enum CUDADriver {
    /// A CUDA device the driver reports.
    public struct DeviceInfo: Sendable {
        /// The driver's ordinal of the device, N in `cuda:N`.
        public var index: Int
        /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
        public var name: String
        /// The device's total memory in bytes.
        public var memoryBytes: Int
        /// The device's compute capability, e.g. (9, 0) for Hopper.
        public var computeCapability: (major: Int, minor: Int)
    }

    /// The driver's devices and version, or why there are none.
    public enum Status: Sendable {
        case available(driverVersion: Int, devices: [DeviceInfo])
        case unavailable(reason: String)
    }

    /// Probed once per process.
    public static let status: Status = probe()

    /// The devices, empty where the driver is absent or has none.
    public static var devices: [DeviceInfo] {
        if case let .available(_, devices) = status { return devices }
        return []
    }

    /// The driver API version (12040 for 12.4), 0 where there is no driver.
    public static var driverVersion: Int {
        if case let .available(version, _) = status { return version }
        return 0
    }

    // CUresult cuInit(unsigned), cuDeviceGetCount(int*), cuDeviceGet(CUdevice*, int),
    // cuDeviceGetName(char*, int, CUdevice), cuDeviceTotalMem_v2(size_t*, CUdevice),
    // cuDeviceGetAttribute(int*, CUdevice_attribute, CUdevice), cuDriverGetVersion(int*).
    private typealias Init = @convention(c) (UInt32) -> Int32
    private typealias GetInt = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    private typealias DeviceGet = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias GetName = @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Int32
    private typealias TotalMem = @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Int32
    private typealias Attribute = @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Int32
    private static let computeCapabilityMajor: Int32 = 75, computeCapabilityMinor: Int32 = 76

    /// libcuda.so.1, opened once; nil where there is no NVIDIA driver. Safe to share: it is set once
    /// and never changed, and the driver's handle is valid in every thread.
    nonisolated(unsafe) private static let library: UnsafeMutableRawPointer? = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)

    private static func probe() -> Status {
        guard let lib = library else {
            return .unavailable(reason: "no NVIDIA driver (libcuda.so.1 not found)")
        }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? { dlsym(lib, name).map { unsafeBitCast($0, to: type) } }
        guard let cuInit = symbol("cuInit", Init.self), let getCount = symbol("cuDeviceGetCount", GetInt.self),
            let deviceGet = symbol("cuDeviceGet", DeviceGet.self), let getName = symbol("cuDeviceGetName", GetName.self),
            let totalMem = symbol("cuDeviceTotalMem_v2", TotalMem.self), let attribute = symbol("cuDeviceGetAttribute", Attribute.self),
            let driverVersion = symbol("cuDriverGetVersion", GetInt.self)
        else {
            return .unavailable(reason: "libcuda.so.1 lacks the driver API entry points Dive uses")
        }
        let initResult = cuInit(0)
        guard initResult == 0 else { return .unavailable(reason: "the NVIDIA driver did not initialise (cuInit returned \(initResult))") }
        var version: Int32 = 0, count: Int32 = 0
        _ = driverVersion(&version)
        guard getCount(&count) == 0 else { return .unavailable(reason: "cuDeviceGetCount failed") }
        var devices: [DeviceInfo] = []
        for i in 0..<count {
            var device: Int32 = 0, bytes = 0, major: Int32 = 0, minor: Int32 = 0
            var name = [CChar](repeating: 0, count: 256)
            guard deviceGet(&device, i) == 0, getName(&name, 256, device) == 0 else { continue }
            _ = totalMem(&bytes, device)
            _ = attribute(&major, computeCapabilityMajor, device); _ = attribute(&minor, computeCapabilityMinor, device)
            devices.append(
                DeviceInfo(
                    index: Int(i), name: String(nulTerminated: name), memoryBytes: bytes,
                    computeCapability: (Int(major), Int(minor))))
        }
        return .available(driverVersion: Int(version), devices: devices)
    }

    // MARK: the runtime's entry points

    typealias Result = Int32
    typealias Pointer = UnsafeMutableRawPointer
    /// The driver API functions CUDARuntime calls, with their C signatures (cuda.h, API version 2+).
    struct API {
        // cuDevicePrimaryCtxRetain(CUcontext*, CUdevice), cuCtxSetCurrent(CUcontext)
        let primaryContextRetain: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> Result
        let setCurrent: @convention(c) (OpaquePointer?) -> Result
        // cuDeviceGetAttribute(int*, CUdevice_attribute, CUdevice)
        let attribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Result
        // cuStreamCreate(CUstream*, unsigned flags), cuStreamSynchronize(CUstream)
        let streamCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> Result
        let streamSynchronize: @convention(c) (OpaquePointer?) -> Result
        // cuMemAlloc_v2(CUdeviceptr*, size_t), cuMemFree_v2(CUdeviceptr)
        let memAlloc: @convention(c) (UnsafeMutablePointer<UInt64>, Int) -> Result
        let memFree: @convention(c) (UInt64) -> Result
        // cuMemHostAlloc(void**, size_t, unsigned flags), cuMemFreeHost(void*)
        let hostAlloc: @convention(c) (UnsafeMutablePointer<Pointer?>, Int, UInt32) -> Result
        let hostFree: @convention(c) (Pointer?) -> Result
        // cuMemcpyHtoDAsync_v2(CUdeviceptr, const void*, size_t, CUstream),
        // cuMemcpyDtoHAsync_v2(void*, CUdeviceptr, size_t, CUstream)
        let copyToDevice: @convention(c) (UInt64, UnsafeRawPointer?, Int, OpaquePointer?) -> Result
        let copyToHost: @convention(c) (Pointer?, UInt64, Int, OpaquePointer?) -> Result
        // cuEventCreate(CUevent*, unsigned flags), cuEventRecord(CUevent, CUstream),
        // cuEventQuery(CUevent), cuEventDestroy_v2(CUevent)
        let eventCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> Result
        let eventRecord: @convention(c) (OpaquePointer?, OpaquePointer?) -> Result
        let eventQuery: @convention(c) (OpaquePointer?) -> Result
        let eventDestroy: @convention(c) (OpaquePointer?) -> Result
        // cuModuleLoadDataEx(CUmodule*, const void* image, unsigned n, CUjit_option*, void** values),
        // cuModuleGetFunction(CUfunction*, CUmodule, const char*)
        let moduleLoad:
            @convention(c) (
                UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer?, UInt32,
                UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Pointer?>?
            ) -> Result
        let moduleFunction: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>?) -> Result
        // cuFuncGetAttribute(int*, CUfunction_attribute, CUfunction), cuFuncSetAttribute(CUfunction, attribute, int)
        let functionAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, OpaquePointer?) -> Result
        let setFunctionAttribute: @convention(c) (OpaquePointer?, Int32, Int32) -> Result
        // cuLaunchKernel(CUfunction, grid x y z, block x y z, unsigned sharedBytes, CUstream, void** params, void** extra)
        let launch:
            @convention(c) (
                OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                UnsafeMutablePointer<Pointer?>?, UnsafeMutablePointer<Pointer?>?
            ) -> Result
        // cuGetErrorName(CUresult, const char**)
        let errorName: @convention(c) (Result, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Result

        /// "CUDA_ERROR_OUT_OF_MEMORY" for 2.
        func name(_ code: Result) -> String {
            var text: UnsafePointer<CChar>?
            guard errorName(code, &text) == 0, let text else { return "CUresult \(code)" }
            return String(cString: text)
        }

        /// Throws `DiveError.cuda` unless `code` is CUDA_SUCCESS.
        func check(_ code: Result, _ call: String, _ detail: @autoclosure () -> String = "") throws {
            guard code != 0 else { return }
            throw DiveError.cuda(call: call, code: code, name: name(code), detail: detail())
        }
    }

    /// CUDA_KERNEL_NODE_PARAMS (the first version, which every driver since CUDA 10 exports): 56
    /// bytes, the parameter array at byte 40 (PTXTests checks the layout).
    struct KernelNodeParams {
        var function: OpaquePointer?
        var gridX: UInt32, gridY: UInt32, gridZ: UInt32
        var blockX: UInt32, blockY: UInt32, blockZ: UInt32
        var sharedBytes: UInt32
        var params: UnsafeMutablePointer<Pointer?>?
        var extra: UnsafeMutablePointer<Pointer?>? = nil
    }

    /// The CUDA graph entry points: a step's kernels as one graph, launched at once.
    struct GraphAPI {
        // cuGraphCreate(CUgraph*, unsigned flags), cuGraphDestroy(CUgraph)
        let create: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> Result
        let destroy: @convention(c) (OpaquePointer?) -> Result
        // cuGraphAddKernelNode(CUgraphNode*, CUgraph, const CUgraphNode* dependencies, size_t n, const CUDA_KERNEL_NODE_PARAMS*)
        // (The parameters are passed as raw pointers to KernelNodeParams, whose layout matches the C struct.)
        let addKernelNode:
            @convention(c) (
                UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<OpaquePointer?>?, Int,
                UnsafeRawPointer
            ) -> Result
        // cuGraphInstantiateWithFlags(CUgraphExec*, CUgraph, unsigned long long flags), cuGraphExecDestroy(CUgraphExec)
        let instantiate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UInt64) -> Result
        let destroyExec: @convention(c) (OpaquePointer?) -> Result
        // cuGraphExecKernelNodeSetParams(CUgraphExec, CUgraphNode, const CUDA_KERNEL_NODE_PARAMS*)
        let setKernelNodeParams: @convention(c) (OpaquePointer?, OpaquePointer?, UnsafeRawPointer) -> Result
        // cuGraphLaunch(CUgraphExec, CUstream)
        let launch: @convention(c) (OpaquePointer?, OpaquePointer?) -> Result
    }

    /// The graph entry points, or nil where the driver lacks them (steps then run launch by launch).
    static let graphAPI: GraphAPI? = {
        let names = [
            "cuGraphCreate", "cuGraphDestroy", "cuGraphAddKernelNode", "cuGraphInstantiateWithFlags", "cuGraphExecDestroy",
            "cuGraphExecKernelNodeSetParams", "cuGraphLaunch"
        ]
        guard let lib = library, names.allSatisfy({ dlsym(lib, $0) != nil }) else { return nil }
        func symbol<T>(_ index: Int) -> T { unsafeBitCast(dlsym(lib, names[index]), to: T.self) }  // present: checked above
        return GraphAPI(
            create: symbol(0), destroy: symbol(1), addKernelNode: symbol(2), instantiate: symbol(3), destroyExec: symbol(4),
            setKernelNodeParams: symbol(5), launch: symbol(6))
    }()

    /// Launches whose blocks wait for each other (the persistent recurrences): all blocks resident.
    struct CooperativeAPI {
        // cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, CUfunction, int blockSize, size_t dynamicSharedBytes)
        let occupancy: @convention(c) (UnsafeMutablePointer<Int32>, OpaquePointer?, Int32, Int) -> Result
        // cuLaunchCooperativeKernel(CUfunction, grid x y z, block x y z, unsigned sharedBytes, CUstream, void** params)
        let launch:
            @convention(c) (
                OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                UnsafeMutablePointer<Pointer?>?
            ) -> Result
        // cuGraphKernelNodeSetAttribute(CUgraphNode, CUkernelNodeAttrID, const CUkernelNodeAttrValue*): a graph's
        // cooperative kernel node (CUDA 12); nil where the driver lacks it.
        let setNodeAttribute: (@convention(c) (OpaquePointer?, Int32, UnsafeRawPointer) -> Result)?
    }

    /// The cooperative entry points, or nil where the driver lacks them.
    static let cooperativeAPI: CooperativeAPI? = {
        guard let lib = library, let occupancy = dlsym(lib, "cuOccupancyMaxActiveBlocksPerMultiprocessor"),
            let launch = dlsym(lib, "cuLaunchCooperativeKernel")
        else { return nil }
        typealias SetAttribute = @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer) -> Result
        return CooperativeAPI(
            occupancy: unsafeBitCast(
                occupancy, to: (@convention(c) (UnsafeMutablePointer<Int32>, OpaquePointer?, Int32, Int) -> Result).self),
            launch: unsafeBitCast(
                launch,
                to: (@convention(c) (
                    OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                    OpaquePointer?, UnsafeMutablePointer<Pointer?>?
                ) -> Result).self),
            setNodeAttribute: dlsym(lib, "cuGraphKernelNodeSetAttribute").map { unsafeBitCast($0, to: SetAttribute.self) })
    }()

    /// The entry points, or why they cannot be had.
    static let api: Swift.Result<API, DiveError> = {
        guard let lib = library else {
            return .failure(.deviceUnavailable(device: "cuda", reason: "no NVIDIA driver (libcuda.so.1 not found)"))
        }
        var missing: [String] = []
        func symbol<T>(_ name: String) -> T {
            guard let address = dlsym(lib, name) else {
                missing.append(name)
                return unsafeBitCast(UnsafeMutableRawPointer(bitPattern: 1)!, to: T.self)  // never called: `missing` fails the load
            }
            return unsafeBitCast(address, to: T.self)
        }
        let api = API(
            primaryContextRetain: symbol("cuDevicePrimaryCtxRetain"),
            setCurrent: symbol("cuCtxSetCurrent"),
            attribute: symbol("cuDeviceGetAttribute"),
            streamCreate: symbol("cuStreamCreate"),
            streamSynchronize: symbol("cuStreamSynchronize"),
            memAlloc: symbol("cuMemAlloc_v2"),
            memFree: symbol("cuMemFree_v2"),
            hostAlloc: symbol("cuMemHostAlloc"),
            hostFree: symbol("cuMemFreeHost"),
            copyToDevice: symbol("cuMemcpyHtoDAsync_v2"),
            copyToHost: symbol("cuMemcpyDtoHAsync_v2"),
            eventCreate: symbol("cuEventCreate"),
            eventRecord: symbol("cuEventRecord"),
            eventQuery: symbol("cuEventQuery"),
            eventDestroy: symbol("cuEventDestroy_v2"),
            moduleLoad: symbol("cuModuleLoadDataEx"),
            moduleFunction: symbol("cuModuleGetFunction"),
            functionAttribute: symbol("cuFuncGetAttribute"),
            setFunctionAttribute: symbol("cuFuncSetAttribute"),
            launch: symbol("cuLaunchKernel"),
            errorName: symbol("cuGetErrorName"))
        guard missing.isEmpty else {
            return .failure(.deviceUnavailable(device: "cuda", reason: "libcuda.so.1 lacks \(missing.joined(separator: ", "))"))
        }
        return .success(api)
    }()
}
