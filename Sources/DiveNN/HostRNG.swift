// A seeded host random generator for parameter initialisation (SplitMix64 over Dive's
// CounterRNG mixer): one seed gives the same weights on every device and run.
import Dive
import Foundation

/// Deterministic host randomness for initialisers; a reference type so layers can share it.
public final class HostRNG {
    /// The number of 64-bit draws made so far: the position of the next one in the stream.
    public private(set) var counter: UInt64 = 0
    /// The seed that, with `counter`, determines every draw.
    public let seed: UInt64

    /// A generator at the start of the stream for `seed`.
    public init(seed: UInt64) { self.seed = seed }

    /// 64 random bits.
    public func next() -> UInt64 {
        defer { counter &+= 1 }
        return CounterRNG.bits(seed: seed, counter: counter)
    }

    /// Uniform in [lo, hi).
    public func uniform(_ lo: Double = 0, _ hi: Double = 1) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * 0x1p-53
    }

    /// A normal sample with the given mean and standard deviation (Box-Muller).
    public func normal(mean: Double = 0, std: Double = 1) -> Double {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        return mean + std * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// A uniformly random permutation of 0..<n (Fisher-Yates).
    public func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(next() % UInt64(i + 1))) }
        }
        return a
    }
}
