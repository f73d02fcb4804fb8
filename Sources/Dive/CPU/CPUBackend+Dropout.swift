// CPU dropout (Ops/Dropout.swift): the counter-based mask applied with its 1/(1 - p) scale.
import Foundation
import RealModule

extension CPUBackend {
    /// Applies the counter-based mask scaled by 1 / (1 - p), one contiguous loop per block of counters.
    public func dropout(_ x: Tensor, mask: DropoutMask, into y: Tensor) throws {
        // A strided mask is contiguous within each block: one contiguous loop per block.
        let n = x.count, block = mask.block > 0 ? mask.block : max(n, 1)
        let double = try isDouble(x, "dropout")
        for start in stride(from: 0, to: n, by: block) {
            let m = min(block, n - start), offset = mask.counter(start)
            if double {
                dropoutLoop(x.cpuPointer(Double.self) + start, y.cpuPointer(Double.self) + start, m, mask.p, mask.seed, offset)
            } else {
                dropoutLoop(x.cpuPointer(Float.self) + start, y.cpuPointer(Float.self) + start, m, mask.p, mask.seed, offset)
            }
        }
    }

    func dropoutLoop<T: CPUFloat>(
        _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int,
        _ p: Float, _ seed: UInt64, _ offset: UInt64
    ) {
        let keepScale = p < 1 ? 1 / (1 - T(p)) : 0
        // CounterRNG.uniform(seed, offset + i) >= p, with mix(seed) hoisted, the counter stepped by
        // addition, and the test on the 24 bits as integers: k·2⁻²⁴ ≥ p ⟺ k ≥ ⌈p·2²⁴⌉ (exact).
        let base = CounterRNG.mix(seed), golden: UInt64 = 0x9E37_79B9_7F4A_7C15
        let threshold = UInt64((Double(p) * 0x1p24).rounded(.up))
        Parallel.forRanges(n, costPerItem: 16, family: .elementwise) { r in
            var z = base &+ (offset &+ UInt64(r.lowerBound) &+ 1) &* golden
            if T.self == Float.self {  // the same test and product, 8 lanes at a time
                let xf = UnsafeMutableRawPointer(x + r.lowerBound).assumingMemoryBound(to: Float.self)
                let yf = UnsafeMutableRawPointer(y + r.lowerBound).assumingMemoryBound(to: Float.self)
                CPUKernels.table.dropout(xf, yf, r.count, z, threshold, Float(keepScale))
                return
            }
            for i in r {
                let k = CounterRNG.mix(z) >> 40
                z = z &+ golden
                let kept = x[i] * keepScale  // computed unconditionally so the select has no branch
                y[i] = k >= threshold ? kept : 0
            }
        }
    }
}
