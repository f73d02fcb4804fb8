// Discovery of OpenCL platforms and devices, and what `dive devices` shows about each.
import COpenCL

/// One OpenCL device as the driver describes it.
/// Safe to share: every field is a constant, and OpenCL's platform and device ids may be used
/// from any thread.
public struct OpenCLDeviceInfo: @unchecked Sendable {
    /// The index of the device's platform, P in `opencl:P.D`.
    public let platformIndex: Int
    /// The device's index within its platform, D in `opencl:P.D`.
    public let deviceIndex: Int  // within the platform
    /// The device's index counting across all platforms, N in `opencl:N`.
    public let globalIndex: Int  // counting across platforms: `opencl:N`
    /// The platform's name (CL_PLATFORM_NAME), e.g. "Portable Computing Language".
    public let platformName: String
    /// The platform's version string (CL_PLATFORM_VERSION).
    public let platformVersion: String
    /// The device's name (CL_DEVICE_NAME).
    public let name: String
    /// The device's vendor (CL_DEVICE_VENDOR).
    public let vendor: String
    /// The driver's version string (CL_DRIVER_VERSION).
    public let driverVersion: String
    /// The OpenCL C version the device compiles (CL_DEVICE_OPENCL_C_VERSION).
    public let openCLCVersion: String
    /// Whether CL_DEVICE_TYPE includes GPU.
    public let isGPU: Bool
    /// The device type for listings: "GPU", "CPU", "accelerator" or "other".
    public let typeName: String
    /// Parallel compute units (CL_DEVICE_MAX_COMPUTE_UNITS).
    public let computeUnits: Int
    /// Global memory in bytes (CL_DEVICE_GLOBAL_MEM_SIZE).
    public let globalMemoryBytes: Int
    /// The largest single allocation in bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE).
    public let maxAllocationBytes: Int
    /// Local memory per work-group in bytes (CL_DEVICE_LOCAL_MEM_SIZE).
    public let localMemoryBytes: Int
    /// The most work-items in one work-group (CL_DEVICE_MAX_WORK_GROUP_SIZE).
    public let maxWorkGroupSize: Int
    /// Where a sub-buffer may start: CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes.
    public let baseAddressAlignment: Int
    /// Whether the device offers the cl_khr_fp16 extension.
    public let supportsFP16: Bool
    /// Whether the device computes in double precision (a double FP config or cl_khr_fp64).
    public let supportsFP64: Bool
    let id: cl_device_id
}

enum OpenCLDevices {
    /// Every device of every platform, in platform order; empty when no driver is installed.
    static let all: [OpenCLDeviceInfo] = discover()

    private static func discover() -> [OpenCLDeviceInfo] {
        var platformCount: cl_uint = 0
        guard clGetPlatformIDs(0, nil, &platformCount) == CL_SUCCESS, platformCount > 0 else { return [] }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        guard clGetPlatformIDs(platformCount, &platforms, nil) == CL_SUCCESS else { return [] }
        var result: [OpenCLDeviceInfo] = []
        for (p, platform) in platforms.enumerated() {
            guard let platform else { continue }
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS,
                deviceCount > 0
            else { continue }
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil) == CL_SUCCESS
            else { continue }
            for (d, device) in devices.enumerated() {
                guard let device else { continue }
                let type: cl_device_type = deviceValue(device, CL_DEVICE_TYPE)
                let extensions = deviceString(device, CL_DEVICE_EXTENSIONS)
                let fp64: cl_device_fp_config = deviceValue(device, CL_DEVICE_DOUBLE_FP_CONFIG)
                result.append(
                    OpenCLDeviceInfo(
                        platformIndex: p, deviceIndex: d, globalIndex: result.count,
                        platformName: platformString(platform, CL_PLATFORM_NAME),
                        platformVersion: platformString(platform, CL_PLATFORM_VERSION),
                        name: deviceString(device, CL_DEVICE_NAME),
                        vendor: deviceString(device, CL_DEVICE_VENDOR),
                        driverVersion: deviceString(device, CL_DRIVER_VERSION),
                        openCLCVersion: deviceString(device, CL_DEVICE_OPENCL_C_VERSION),
                        isGPU: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0,
                        typeName: typeName(type),
                        computeUnits: Int(deviceValue(device, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint),
                        globalMemoryBytes: Int(deviceValue(device, CL_DEVICE_GLOBAL_MEM_SIZE) as cl_ulong),
                        maxAllocationBytes: Int(deviceValue(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE) as cl_ulong),
                        localMemoryBytes: Int(deviceValue(device, CL_DEVICE_LOCAL_MEM_SIZE) as cl_ulong),
                        maxWorkGroupSize: Int(deviceValue(device, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int),
                        baseAddressAlignment: max(4, Int(deviceValue(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN) as cl_uint) / 8),
                        supportsFP16: extensions.contains("cl_khr_fp16"),
                        supportsFP64: fp64 != 0 || extensions.contains("cl_khr_fp64"),
                        id: device))
            }
        }
        return result
    }

    private static func typeName(_ type: cl_device_type) -> String {
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { return "GPU" }
        if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return "CPU" }
        if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { return "accelerator" }
        return "other"
    }

    static func deviceString(_ device: cl_device_id, _ param: Int32) -> String {
        var size = 0
        guard clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil) == CL_SUCCESS else { return "" }
        return String(nulTerminated: bytes).trimmingCharacters(in: " ")
    }

    static func deviceValue<T: FixedWidthInteger>(_ device: cl_device_id, _ param: Int32) -> T {
        var value: T = 0
        _ = clGetDeviceInfo(device, cl_device_info(param), MemoryLayout<T>.size, &value, nil)
        return value
    }

    private static func platformString(_ platform: cl_platform_id, _ param: Int32) -> String {
        var size = 0
        guard clGetPlatformInfo(platform, cl_platform_info(param), 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetPlatformInfo(platform, cl_platform_info(param), size, &bytes, nil) == CL_SUCCESS else { return "" }
        return String(nulTerminated: bytes).trimmingCharacters(in: " ")
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
