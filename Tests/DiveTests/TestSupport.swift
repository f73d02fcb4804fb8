// Shared test helpers: the devices and kernel variants every test runs on, and the expectation
// against the float64 reference (inputs, poisoning and closeness live in DiveReference).
import Dive
import DiveReference
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
/// Recurrences: every whole-sequence kernel and the step-by-step path on every OpenCL device.
let recurrentTargets = variants([RecurrentPath.groups, .vectors, .split, .persistent, .byStep], cpu: .auto)
/// Softmax and layernorm: a work-item, a work-group and a team per row on every OpenCL device.
let rowTargets = variants([RowVariant.perItem, .perGroup, .perTeam], cpu: .auto)

/// The awkward sizes the design asks every kernel to handle.
let awkwardSizes = [1, 7, 33, 257]

func backend(_ device: Device) throws -> Backend { try Backends.backend(for: device) }

/// The tests' name for the reference library's seeded generator.
typealias TestRNG = SeededRNG

/// Expects `actual` to match the float64 reference `expected` within tolerances.
func expectClose(
    _ actual: Tensor, _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
    _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let values = try actual.toDoubleArray()
    let c = closeness(values, expected, rtol: rtol, atol: atol)
    #expect(
        c <= 1, "\(what()) on \(actual.device): off by \(c)× the tolerance; first values \(values.prefix(6)) vs \(expected.prefix(6))",
        sourceLocation: sourceLocation)
}

/// Prints which device a kernel test covered, so the test log shows every device.
func report(_ device: Device, _ what: String) {
    print("[\(device)] \(what): ok")
}

/// Runs a kernel test on `device`'s backend, then reports `what` it covered.
func check(_ device: Device, _ what: String, _ body: (Backend) throws -> Void) throws {
    try body(try backend(device))
    report(device, what)
}

/// Runs a kernel test on `device`'s backend with inputs from a generator seeded `seed`, then
/// reports `what` it covered.
func check(_ device: Device, _ what: String, seed: UInt64, _ body: (Backend, inout TestRNG) throws -> Void) throws {
    var rng = TestRNG(seed)
    try check(device, what) { try body($0, &rng) }
}

extension DeviceVariant {
    /// Runs a kernel test with this variant forced through `kernel` (one of `KernelVariants`'
    /// task-locals) on the device's backend, then reports `what` it covered and the variant.
    func check(_ kernel: TaskLocal<V>, _ what: String, _ body: (Backend) throws -> Void) throws {
        try kernel.withValue(variant) { try body(try backend(device)) }
        report(device, "\(what) (\(variant))")
    }

    /// The same with inputs from a generator seeded `seed`.
    func check(_ kernel: TaskLocal<V>, _ what: String, seed: UInt64, _ body: (Backend, inout TestRNG) throws -> Void) throws {
        var rng = TestRNG(seed)
        try check(kernel, what) { try body($0, &rng) }
    }
}
