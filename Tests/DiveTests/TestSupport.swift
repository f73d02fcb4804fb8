// Shared test helpers: the devices every kernel test runs on, seeded random inputs, poisoned
// outputs, and closeness checks against the float64 reference.
import Dive
import Foundation
import Testing

/// Every device present: the CPU backend and each OpenCL device (PoCL in CI).
let allDevices: [Device] = DeviceRegistry.allDevices()

/// A device with one kernel variant forced through `KernelVariants`: the CPU once (it has one
/// kernel per op), each OpenCL device once per variant, so one test body covers every kernel.
struct DeviceVariant<V: Sendable>: Sendable, CustomStringConvertible {
    let device: Device, variant: V
    var description: String { "\(device) \(variant)" }
}

func variants<V: Sendable>(_ all: [V], cpu: V) -> [DeviceVariant<V>] {
    allDevices.flatMap { d in d == .cpu ? [DeviceVariant(device: d, variant: cpu)] : all.map { DeviceVariant(device: d, variant: $0) } }
}

/// GEMM: gemm_small, the packed path and gemm_lt on every OpenCL device.
let gemmTargets = variants(GemmVariant.allCases.filter { $0 != .auto }, cpu: .auto)
/// Recurrences: both whole-sequence kernels and the step-by-step path on every OpenCL device.
let recurrentTargets = variants([RecurrentPath.groups, .vectors, .byStep], cpu: .auto)
/// Softmax and layernorm: one work-item per row and one work-group per row on every OpenCL device.
let rowTargets = variants([RowVariant.perItem, .perGroup], cpu: .auto)

/// The awkward sizes the design asks every kernel to handle.
let awkwardSizes = [1, 7, 33, 257]

func backend(_ device: Device) throws -> Backend { try Backends.backend(for: device) }

/// A small seeded generator (SplitMix64) so every test draws the same inputs each run.
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return CounterRNG.mix(state)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double = -1, _ hi: Double = 1) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * 0x1p-53
    }
    /// Values exactly representable in Float32, so the reference sees the same inputs as a kernel.
    mutating func array(_ n: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
        (0..<n).map { _ in Double(Float(uniform(lo, hi))) }
    }
    mutating func ints(_ n: Int, below bound: Int) -> [Int32] {
        (0..<n).map { _ in Int32(next() % UInt64(max(bound, 1))) }
    }
}

/// A Float32 tensor (or Float64 with `double`) on `b` from Double values.
func tensor(_ values: [Double], _ shape: [Int], on b: Backend, double: Bool = false) throws -> Tensor {
    double ? try Tensor(values, shape: shape, on: b) : try Tensor(values.map { Float($0) }, shape: shape, on: b)
}

/// An output tensor filled with NaN, so a kernel that skips an element is caught.
func poisoned(_ shape: [Int], on b: Backend, dtype: DType = .float32) throws -> Tensor {
    dtype == .int32 ? try Tensor.full(shape, -12345, dtype: .int32, on: b)
                    : try Tensor.full(shape, .nan, dtype: dtype, on: b)
}

/// Largest |a - e| / (atol + rtol·|e|); ≤ 1 means close. NaN anywhere unexpected gives infinity.
func closeness(_ actual: [Double], _ expected: [Double], rtol: Double, atol: Double) -> Double {
    guard actual.count == expected.count else { return .infinity }
    var worst = 0.0
    for (a, e) in zip(actual, expected) {
        if e.isNaN { if !a.isNaN { return .infinity }; continue }
        if a.isNaN { return .infinity }
        worst = max(worst, abs(a - e) / (atol + rtol * abs(e)))
    }
    return worst
}

/// Expects `actual` to match the float64 reference `expected` within tolerances.
func expectClose(_ actual: Tensor, _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
                 _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let values = try actual.toDoubleArray()
    let c = closeness(values, expected, rtol: rtol, atol: atol)
    #expect(c <= 1, "\(what()) on \(actual.device): off by \(c)× the tolerance; first values \(values.prefix(6)) vs \(expected.prefix(6))",
            sourceLocation: sourceLocation)
}

/// Prints which device a kernel test covered, so the test log shows every device.
func report(_ device: Device, _ what: String) {
    print("[\(device)] \(what): ok")
}
