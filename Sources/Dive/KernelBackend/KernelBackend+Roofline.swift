// Launches of Kernels/roofline.cl for `dive bench kernels`: the device's FMA peak and its
// global-memory copy bandwidth, timed by the caller.

extension KernelBackend {
    /// Scalar fused multiply-adds per work-item and iteration of `fma_peak` (8 float4 chains) and
    /// of its wide form `fma_peak_w` (8 float16 chains).
    public static func fmaPerIteration(wide: Bool) -> Int { wide ? 128 : 32 }

    /// Enqueues `fma_peak` (or `fma_peak_w` when `wide`) with one work-item per element of `out`
    /// (Float32), each running `iterations` iterations; returns the scalar fused multiply-adds.
    @discardableResult
    public func launchFMAPeak(into out: Tensor, iterations: Int, wide: Bool = false) throws -> Double {
        try requireFloat32(out, op: "fma_peak")
        try launch(wide ? .fma_peak_w : .fma_peak, global: (out.count, 1, 1)) { a in
            try a.buffer(out); try a.float(0.999); try a.float(1e-3); try a.int(iterations)
        }
        return Double(out.count) * Double(iterations) * Double(Self.fmaPerIteration(wide: wide))
    }

    /// Enqueues `copy_bw`: y = x as float4s (both Float32, the same count, a multiple of 4).
    public func launchCopy(_ x: Tensor, into y: Tensor) throws {
        try requireFloat32(x, y, op: "copy_bw")
        precondition(x.count == y.count && x.count % 4 == 0, "copy_bw takes equal counts in multiples of 4")
        let n = x.count / 4
        try launch(.copy_bw, global: (n, 1, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.int(n)
        }
    }
}
