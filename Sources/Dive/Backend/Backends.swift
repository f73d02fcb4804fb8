// Resolving a `Device` to its backend. Backends are created once per process and shared.
import Foundation

public enum Backends {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var openCL: [Int: OpenCLBackend] = [:]

    /// The backend for a device; `.auto` picks an OpenCL GPU if there is one, else the CPU.
    public static func backend(for device: Device) throws -> Backend {
        switch device {
        case .cpu:
            return CPUBackend.shared
        case .auto:
            if let gpu = OpenCLDevices.all.first(where: \.isGPU) {
                return try openCLBackend(gpu)
            }
            return CPUBackend.shared
        case let .opencl(platform, index):
            let match = OpenCLDevices.all.first {
                platform == nil ? $0.globalIndex == index : ($0.platformIndex == platform && $0.deviceIndex == index)
            }
            guard let info = match else {
                throw DiveError.unknownDevice(requested: device.description, available: DeviceRegistry.availableNames())
            }
            return try openCLBackend(info)
        }
    }

    private static func openCLBackend(_ info: OpenCLDeviceInfo) throws -> OpenCLBackend {
        lock.lock(); defer { lock.unlock() }
        if let existing = openCL[info.globalIndex] { return existing }
        let backend = try OpenCLBackend(info: info)
        openCL[info.globalIndex] = backend
        return backend
    }
}

/// What devices exist, for listings and error messages.
public enum DeviceRegistry {
    /// OpenCL devices in `opencl:N` order.
    public static var openCLDevices: [OpenCLDeviceInfo] { OpenCLDevices.all }

    /// "cpu", then "opencl:0 (name)" for each OpenCL device.
    public static func availableNames() -> [String] {
        ["cpu"] + OpenCLDevices.all.map { "opencl:\($0.globalIndex) (\($0.name))" }
    }

    /// Every device a test or benchmark should cover: the CPU and each OpenCL device.
    public static func allDevices() -> [Device] {
        [.cpu] + OpenCLDevices.all.map { .opencl(platform: nil, index: $0.globalIndex) }
    }
}
