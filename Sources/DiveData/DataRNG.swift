// DataRNG.swift: the seedable random number generator behind every random choice in DiveData
// (offsets, shuffles, synthetic noise), so that one seed fixes the data order of a run.
import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): one 64-bit word of state, fast, and good enough
/// for shuffling and noise. Its state is `Codable`, so a checkpoint can store it and resume.
///
/// All helpers (`nextInt(upperBound:)`, `shuffle`, `gaussian`) are defined here rather than
/// borrowed from the standard library, whose algorithms may change between Swift releases:
/// the same seed gives the same data on every platform and toolchain.
public struct DataRNG: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The generator's whole state.
    public var state: UInt64
    /// The second value of the last Box–Muller pair, if not yet used.
    public var spareGaussian: Double?

    /// Creates a generator. Equal seeds give equal streams.
    public init(seed: UInt64) {
        state = seed
        spareGaussian = nil
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<upperBound` (rejection sampling, no modulo bias).
    public mutating func nextInt(upperBound: Int) -> Int {
        precondition(upperBound > 0, "upperBound must be positive")
        let bound = UInt64(upperBound)
        let limit = UInt64.max - UInt64.max % bound  // largest multiple of bound, exclusive
        while true {
            let value = next()
            if value < limit { return Int(value % bound) }
        }
    }

    /// A uniform integer in the closed range, like Python's `random.randint(low, high)`.
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(upperBound: range.upperBound - range.lowerBound + 1)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A normal sample N(mean, std²) by the Box–Muller transform.
    /// Each pair of uniforms gives two normals; the second is kept for the next call.
    public mutating func gaussian(mean: Double = 0, std: Double = 1) -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return mean + std * spare
        }
        var u1 = nextDouble()
        while u1 == 0 { u1 = nextDouble() }  // log(0) is -infinity
        let u2 = nextDouble()
        let radius = (-2 * log(u1)).squareRoot()
        spareGaussian = radius * sin(2 * Double.pi * u2)
        return mean + std * radius * cos(2 * Double.pi * u2)
    }

    /// Shuffles in place (Fisher–Yates), reproducibly for a given state.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(upperBound: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// A random permutation of `0..<count`.
    public mutating func permutation(_ count: Int) -> [Int] {
        var indices = Array(0..<count)
        shuffle(&indices)
        return indices
    }
}
