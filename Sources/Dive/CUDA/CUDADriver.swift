// NVIDIA's driver API, loaded at run time: libcuda.so.1 is opened with dlopen, so the same binary
// runs where there is no NVIDIA driver, and `dive devices` then says why there is no CUDA device.
// Only what device discovery needs is looked up here (cuInit, the device count, names, memory,
// compute capability and the driver's version).
import Foundation

/// The NVIDIA driver as this process finds it.
public enum CUDADriver {
    /// A CUDA device the driver reports.
    public struct DeviceInfo: Sendable {
        public var index: Int
        public var name: String
        public var memoryBytes: Int
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

    private static func probe() -> Status {
        guard let lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) else {
            return .unavailable(reason: "no NVIDIA driver (libcuda.so.1 not found)")
        }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? { dlsym(lib, name).map { unsafeBitCast($0, to: type) } }
        guard let cuInit = symbol("cuInit", Init.self), let getCount = symbol("cuDeviceGetCount", GetInt.self),
              let deviceGet = symbol("cuDeviceGet", DeviceGet.self), let getName = symbol("cuDeviceGetName", GetName.self),
              let totalMem = symbol("cuDeviceTotalMem_v2", TotalMem.self), let attribute = symbol("cuDeviceGetAttribute", Attribute.self),
              let driverVersion = symbol("cuDriverGetVersion", GetInt.self) else {
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
            devices.append(DeviceInfo(index: Int(i), name: String(cString: name), memoryBytes: bytes,
                                      computeCapability: (Int(major), Int(minor))))
        }
        return .available(driverVersion: Int(version), devices: devices)
    }
}
