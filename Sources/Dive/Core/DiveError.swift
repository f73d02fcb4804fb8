// The typed errors every layer of Dive throws. Each message says what went wrong, where, and
// what to do about it; the CLI prints `description` and exits non-zero.
import Foundation

/// The typed errors every layer of Dive throws, each saying what went wrong, where, and what to do.
public enum DiveError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes that do not fit the operation.
    case shapeMismatch(op: String, detail: String)
    /// A device string that does not parse or names a device that is not there.
    case unknownDevice(requested: String, available: [String])
    /// A device this machine or this build cannot run, and why.
    case deviceUnavailable(device: String, reason: String)
    /// Tensors of one operation live on different devices.
    case deviceMismatch(op: String, detail: String)
    /// An element type the operation or the device does not support.
    case unsupportedDType(op: String, dtype: DType, device: String)
    /// An argument outside its domain (negative length, probability outside [0, 1), ...).
    case invalidArgument(op: String, detail: String)
    /// An OpenCL call returned an error code.
    case openCL(call: String, code: Int32, detail: String)
    /// A call of NVIDIA's driver API returned an error; `name` is the driver's name for `code`.
    case cuda(call: String, code: Int32, name: String, detail: String)
    /// An OpenCL program failed to compile; carries the compiler's log.
    case kernelBuild(program: String, device: String, log: String)
    /// The device refused an allocation.
    case outOfMemory(device: String, requestedBytes: Int, deviceBytes: Int)
    /// `backward()` was asked of something autograd cannot differentiate.
    case autograd(detail: String)

    /// A one-line message naming the op or device and the problem, as the CLI prints it.
    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail):
            return "\(op): shape mismatch: \(detail)"
        case let .unknownDevice(requested, available):
            return "no device '\(requested)'; available: \(available.joined(separator: ", "))"
        case let .deviceUnavailable(device, reason):
            return "\(device): \(reason)"
        case let .deviceMismatch(op, detail):
            return "\(op): tensors on different devices: \(detail); move them with `to(_:)` first"
        case let .unsupportedDType(op, dtype, device):
            return "\(op): element type \(dtype) is not supported on \(device)"
        case let .invalidArgument(op, detail):
            return "\(op): \(detail)"
        case let .openCL(call, code, detail):
            return "OpenCL \(call) failed with \(OpenCLErrorName.name(code)) (\(code))"
                + (detail.isEmpty ? "" : ": \(detail)")
        case let .cuda(call, code, name, detail):
            return "CUDA \(call) failed with \(name) (\(code))" + (detail.isEmpty ? "" : ": \(detail)")
        case let .kernelBuild(program, device, log):
            return "kernel program '\(program)' failed to build on \(device):\n\(log)"
        case let .outOfMemory(device, requested, deviceBytes):
            return "out of memory on \(device): asked for \(formatBytes(requested)), "
                + "the device has \(formatBytes(deviceBytes)) in all; use a smaller batch or model"
        case let .autograd(detail):
            return "autograd: \(detail)"
        }
    }
}

/// "1.5 GiB" style sizes for messages.
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
