// A counter-based random number generator: the n-th number of stream `seed` is a hash of
// (seed, n), so any device computes any element's number independently and all devices agree.
// The hash is SplitMix64's finaliser; the OpenCL kernels (Kernels/dropout.cl) use the same steps.

/// A counter-based generator: number n of stream `seed` hashes (seed, n), identically on every device.
public enum CounterRNG {
    /// SplitMix64's output mixing function.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 64 random bits for element `counter` of stream `seed`.
    @inline(__always)
    public static func bits(seed: UInt64, counter: UInt64) -> UInt64 {
        mix(mix(seed) &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inline(__always)
    public static func uniform(seed: UInt64, counter: UInt64) -> Float {
        Float(bits(seed: seed, counter: counter) >> 40) * 0x1p-24
    }
}
