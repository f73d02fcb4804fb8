// `Device`: which backend a tensor lives on, as written on the command line:
// `cpu`, `opencl` (the first OpenCL device), `opencl:N` (the N-th, counting across platforms),
// `opencl:P.D` (device D of platform P), `cuda`/`cuda:N` (NVIDIA's driver) and `auto` (the first CUDA
// device, else an OpenCL GPU, else the CPU).

/// Which backend a tensor lives on, as on the command line: cpu, opencl:N, opencl:P.D, cuda:N or auto.
public enum Device: Hashable, Sendable, CustomStringConvertible {
    case cpu
    /// `platform == nil`: `index` counts devices across all platforms in order.
    case opencl(platform: Int?, index: Int)
    /// The N-th device of NVIDIA's driver.
    case cuda(index: Int)
    case auto

    /// Parses a device string; throws `DiveError.unknownDevice` for anything malformed.
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        switch lower {
        case "cpu": self = .cpu; return
        case "auto": self = .auto; return
        case "opencl", "cl": self = .opencl(platform: nil, index: 0); return
        case "cuda": self = .cuda(index: 0); return
        default: break
        }
        let parts = lower.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, parts[0] == "cuda", let index = Int(parts[1]), index >= 0 {
            self = .cuda(index: index); return
        }
        guard parts.count == 2, parts[0] == "opencl" || parts[0] == "cl" else {
            throw DiveError.unknownDevice(requested: text, available: DeviceRegistry.availableNames())
        }
        let numbers = parts[1].split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        switch numbers.count {
        case 1 where numbers[0].map { $0 >= 0 } == true:
            self = .opencl(platform: nil, index: numbers[0]!)
        case 2 where numbers.allSatisfy({ ($0 ?? -1) >= 0 }):
            self = .opencl(platform: numbers[0]!, index: numbers[1]!)
        default:
            throw DiveError.unknownDevice(requested: text, available: DeviceRegistry.availableNames())
        }
    }

    /// The device as `init(parsing:)` reads it back: "cpu", "auto", "opencl:N", "opencl:P.D" or "cuda:N".
    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .auto: return "auto"
        case let .opencl(nil, index): return "opencl:\(index)"
        case let .opencl(platform?, index): return "opencl:\(platform).\(index)"
        case let .cuda(index): return "cuda:\(index)"
        }
    }
}
