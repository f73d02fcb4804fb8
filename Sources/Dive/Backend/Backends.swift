// Resolving a `Device` to its backend. Backends are created once per process and shared.
import Foundation

/// Resolves a `Device` to its backend, creating each device's backend once per process and sharing it.
public enum Backends {
    private static let lock = NSLock()
    // Safe: read and written only while holding `lock`.
    nonisolated(unsafe) private static var created: [Device: KernelBackend] = [:]

    /// The backend for a device; `.auto` picks the first CUDA device, else an OpenCL GPU, else the CPU.
    public static func backend(for device: Device) throws -> Backend {
        switch device {
        case .cpu:
            return CPUBackend.shared
        case .auto:
            if let gpu = CUDADriver.devices.first {
                return try kernelBackend(.cuda(index: gpu.index)) { try CUDARuntime(info: gpu) }
            }
            if let gpu = OpenCLDevices.all.first(where: \.isGPU) {
                return try kernelBackend(.opencl(platform: nil, index: gpu.globalIndex)) { try OpenCLRuntime(info: gpu) }
            }
            return CPUBackend.shared
        case let .opencl(platform, index):
            let match = OpenCLDevices.all.first {
                platform == nil ? $0.globalIndex == index : ($0.platformIndex == platform && $0.deviceIndex == index)
            }
            guard let info = match else {
                throw DiveError.unknownDevice(requested: device.description, available: DeviceRegistry.availableNames())
            }
            return try kernelBackend(.opencl(platform: nil, index: info.globalIndex)) { try OpenCLRuntime(info: info) }
        case let .cuda(index):
            switch CUDADriver.status {
            case let .unavailable(reason):
                throw DiveError.deviceUnavailable(device: device.description, reason: reason)
            case let .available(_, devices):
                guard let info = devices.first(where: { $0.index == index }) else {
                    throw DiveError.unknownDevice(requested: device.description, available: DeviceRegistry.availableNames())
                }
                return try kernelBackend(device) { try CUDARuntime(info: info) }
            }
        }
    }

    /// The one backend of `device` in this process, its runtime made on first use.
    private static func kernelBackend(_ device: Device, _ makeRuntime: () throws -> KernelRuntime) throws -> KernelBackend {
        lock.lock(); defer { lock.unlock() }
        if let existing = created[device] { return existing }
        try KernelVariants.checkEnvironment()
        let backend = KernelBackend(runtime: try makeRuntime())
        created[device] = backend
        return backend
    }
}

/// What devices exist, for listings and error messages.
public enum DeviceRegistry {
    /// OpenCL devices in `opencl:N` order.
    public static var openCLDevices: [OpenCLDeviceInfo] { OpenCLDevices.all }

    /// "cpu", then "opencl:0 (name)" for each OpenCL device and "cuda:0 (name)" for each CUDA device.
    public static func availableNames() -> [String] {
        ["cpu"] + OpenCLDevices.all.map { "opencl:\($0.globalIndex) (\($0.name))" }
            + CUDADriver.devices.map { "cuda:\($0.index) (\($0.name))" }
    }

    /// What `dive devices` says about CUDA: each device of NVIDIA's driver, or why there are none.
    public static func cudaLines() -> [String] {
        switch CUDADriver.status {
        case let .unavailable(reason):
            return ["cuda: \(reason)"]
        case let .available(version, devices):
            let driver = "driver API \(version / 1000).\(version % 1000 / 10)"
            if devices.isEmpty { return ["cuda: \(driver), no devices"] }
            return devices.map {
                "cuda:\($0.index)       \($0.name), \(formatBytes($0.memoryBytes)), compute capability "
                    + "\($0.computeCapability.major).\($0.computeCapability.minor), \(driver)"
            }
        }
    }

    /// The device of one rank of a data-parallel run on a node with several GPUs: `cuda`, `opencl`
    /// and `auto` as written (no index) mean the GPU numbered by the rank's index among the node's
    /// ranks, modulo that node's GPUs of the kind (`auto`: CUDA's, else OpenCL's GPUs; OpenCL
    /// without GPUs: the first device). Anything else, an index included, is the device it names.
    public static func rankDevice(_ text: String, localRank: Int) throws -> Device {
        let kind = text.lowercased()
        let cuda = CUDADriver.devices.map { Device.cuda(index: $0.index) }
        let openCLGPUs = OpenCLDevices.all.filter(\.isGPU).map { Device.opencl(platform: nil, index: $0.globalIndex) }
        func pick(_ devices: [Device]) -> Device? { devices.isEmpty ? nil : devices[localRank % devices.count] }
        switch kind {
        case "cuda": return try pick(cuda) ?? Device(parsing: text)
        case "opencl", "cl": return try pick(openCLGPUs) ?? Device(parsing: text)
        case "auto": return pick(cuda) ?? pick(openCLGPUs) ?? .cpu
        default: return try Device(parsing: text)
        }
    }

    /// Every device a test or benchmark should cover: the CPU, each OpenCL device and each CUDA device.
    public static func allDevices() -> [Device] {
        [.cpu] + OpenCLDevices.all.map { .opencl(platform: nil, index: $0.globalIndex) } + CUDADriver.devices.map { .cuda(index: $0.index) }
    }
}
