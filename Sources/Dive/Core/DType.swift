// Element types a tensor can hold. Float32 is the training type, Int32 holds indices and
// lengths, Float64 exists on the CPU backend for finite-difference gradient checks.

/// A tensor's element type: Float32 for training, Int32 for indices and lengths, Float64 for CPU checks.
public enum DType: String, Sendable, CustomStringConvertible {
    case float32, float64, int32

    /// Bytes per element.
    public var byteSize: Int { self == .float64 ? 8 : 4 }
    /// Whether the type is Float32 or Float64 (not Int32).
    public var isFloatingPoint: Bool { self != .int32 }
    /// The type's name: "float32", "float64" or "int32".
    public var description: String { rawValue }
}
