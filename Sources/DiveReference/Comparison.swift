// What the tests and `dive check` share around the reference: seeded inputs exactly representable
// in Float32, NaN-poisoned outputs, and the normalised error against the float64 result.
import Dive

/// A small seeded generator (SplitMix64) so every run draws the same inputs.
public struct SeededRNG {
    /// The generator's 64-bit state, advanced by the golden-ratio increment on every draw.
    public var state: UInt64
    /// Builds a generator whose state starts at `seed`.
    public init(_ seed: UInt64) { state = seed }
    /// The next 64 random bits: the state advanced, then mixed by SplitMix64's finaliser.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return CounterRNG.mix(state)
    }
    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double = -1, _ hi: Double = 1) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * 0x1p-53
    }
    /// Values exactly representable in Float32, so the reference sees the same inputs as a kernel.
    public mutating func array(_ n: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
        (0..<n).map { _ in Double(Float(uniform(lo, hi))) }
    }
    /// `n` integers in 0..<bound (bound at least 1), as Int32 indices or lengths.
    public mutating func ints(_ n: Int, below bound: Int) -> [Int32] {
        (0..<n).map { _ in Int32(next() % UInt64(max(bound, 1))) }
    }
}

/// A Float32 tensor (or Float64 with `double`) on `b` from Double values.
public func tensor(_ values: [Double], _ shape: [Int], on b: Backend, double: Bool = false) throws -> Tensor {
    double ? try Tensor(values, shape: shape, on: b) : try Tensor(values.map { Float($0) }, shape: shape, on: b)
}

/// An output tensor filled with NaN (Int32: -12345), so a kernel that skips an element is caught.
public func poisoned(_ shape: [Int], on b: Backend, dtype: DType = .float32) throws -> Tensor {
    dtype == .int32
        ? try Tensor.full(shape, -12345, dtype: .int32, on: b)
        : try Tensor.full(shape, .nan, dtype: dtype, on: b)
}

/// Largest |a - e| / (atol + rtol·|e|); ≤ 1 means close. NaN anywhere unexpected gives infinity.
public func closeness(_ actual: [Double], _ expected: [Double], rtol: Double, atol: Double) -> Double {
    guard actual.count == expected.count else { return .infinity }
    var worst = 0.0
    for (a, e) in zip(actual, expected) {
        if e.isNaN { if !a.isNaN { return .infinity }; continue }
        if a.isNaN { return .infinity }
        let d = abs(a - e)
        if d == 0 { continue }
        worst = max(worst, d / (atol + rtol * abs(e)))
    }
    return worst
}
