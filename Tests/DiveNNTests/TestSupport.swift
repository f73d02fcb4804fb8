// Helpers for the DiveNN tests: devices, seeded inputs, float64 copies of a module's parameters
// and closeness checks (the same conventions as Tests/DiveTests/TestSupport.swift).
import Dive
import DiveNN
import DiveReference
import Foundation
import Testing

let allDevices: [Device] = DeviceRegistry.allDevices()
var cpu: Backend { CPUBackend.shared }

func backend(_ device: Device) throws -> Backend { try Backends.backend(for: device) }

typealias TestRNG = SeededRNG

func f32(_ values: [Double], _ shape: [Int], on b: Backend) throws -> Tensor { try Tensor(values.map { Float($0) }, shape: shape, on: b) }
func f64(_ values: [Double], _ shape: [Int]) throws -> Tensor { try Tensor(values, shape: shape, on: cpu) }

/// Float64 leaf copies (requiring gradients) of every parameter of `module`, by name.
func float64Parameters(_ module: Module) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (name, p) in module.namedParameters() { out[name] = try f64(p.toDoubleArray(), p.shape).requiringGrad() }
    return out
}

func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-4, atol: Double = 1e-5,
    _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let a = try actual.toDoubleArray(), e = try expected.toDoubleArray()
    let c = closeness(a, e, rtol: rtol, atol: atol)
    #expect(
        actual.shape == expected.shape && c <= 1,
        "\(what()) on \(actual.device): shape \(actual.shape) vs \(expected.shape), off by \(c)× the tolerance; \(a.prefix(4)) vs \(e.prefix(4))",
        sourceLocation: sourceLocation)
}

/// Σ y·r for a fixed r of y's shape: a scalar whose gradient exercises all of y.
func projection(_ y: Tensor, seed: UInt64) throws -> Tensor {
    var rng = TestRNG(seed)
    let r = rng.array(y.count)
    let rt = y.dtype == .float64 ? try f64(r, y.shape) : try f32(r, y.shape, on: y.backend)
    return try (y * rt).sum()
}

/// Compares a module's parameter gradients with float64 reference leaves of the same names.
func expectGradients(
    _ module: Module, _ reference: [String: Tensor], rtol: Double = 1e-3, atol: Double = 1e-4,
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    for (name, p) in module.namedParameters() {
        guard let g = p.grad, let e = reference[name]?.grad else {
            #expect(Bool(false), "\(what): no gradient for \(name)", sourceLocation: sourceLocation)
            continue
        }
        try expectClose(g, e, rtol: rtol, atol: atol, "\(what) d\(name)", sourceLocation: sourceLocation)
    }
}

func report(_ device: Device, _ what: String) { print("[\(device)] \(what): ok") }
