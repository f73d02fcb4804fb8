// RowKernels.swift
//
// One-row kernels of the CPU backend: masked softmax and its backward, log-softmax, LayerNorm and its
// backward. The backend parallelises across rows; each function here handles one contiguous row with
// `SIMD8<Float>` loops (16 floats per iteration, then 8, then the tail) built on `VectorMath`.
// Later passes re-read a row while it is still in L1/L2 (the backend's rows are at most a few thousand
// floats), so each kernel costs about one read of its inputs and one write of its outputs from memory.
// Nothing here allocates.

import Foundation

/// One-row kernels used by the CPU backend (which parallelises across rows itself).
enum RowKernels {

    typealias F8 = SIMD8<Float>

    /// The logit given to masked-out entries by the book's `masked_softmax`.
    static let maskedLogit: Float = -1e6

    // MARK: - Helpers

    /// Folds vector max/min accumulators into scalars, as trees (no branches; NaN never enters them).
    @inline(always)
    static func reduceMaxMin(_ mx0: F8, _ mx1: F8, _ mn0: F8, _ mn1: F8) -> (max: Float, min: Float) {
        (VectorMath.horizontalMax(mx0.replacing(with: mx1, where: mx1 .> mx0)),
         VectorMath.horizontalMin(mn0.replacing(with: mn1, where: mn1 .< mn0)))
    }

    /// Maximum and minimum of `count` floats, skipping NaN (a NaN still reaches the kernels' outputs
    /// through x - max). Returns (-inf, +inf) for count <= 0.
    @inline(always)
    static func maxMin(_ x: UnsafePointer<Float>, count: Int) -> (max: Float, min: Float) {
        var mx0 = F8(repeating: -.infinity), mx1 = mx0
        var mn0 = F8(repeating: .infinity), mn1 = mn0
        var i = 0
        while i &+ 16 <= count {
            let a = VectorMath.load(x + i), b = VectorMath.load(x + i + 8)
            mx0 = mx0.replacing(with: a, where: a .> mx0); mx1 = mx1.replacing(with: b, where: b .> mx1)
            mn0 = mn0.replacing(with: a, where: a .< mn0); mn1 = mn1.replacing(with: b, where: b .< mn1)
            i &+= 16
        }
        if i &+ 8 <= count {
            let a = VectorMath.load(x + i)
            mx0 = mx0.replacing(with: a, where: a .> mx0); mn0 = mn0.replacing(with: a, where: a .< mn0)
            i &+= 8
        }
        var (mx, mn) = reduceMaxMin(mx0, mx1, mn0, mn1)
        while i < count {
            if x[i] > mx { mx = x[i] }
            if x[i] < mn { mn = x[i] }
            i &+= 1
        }
        return (mx, mn)
    }

    /// True when exp(x - m) of every x in [lo, m] can skip the range tests: x - m in [-87, 0].
    @inline(always) static func expRangeIsSafe(max m: Float, min lo: Float) -> Bool {
        m.isFinite && lo - m >= -87
    }

    /// y[i] = exp(x[i] - shift) for i in 0..<count, returning the sum of the y[i] (vector partial sums);
    /// with `store == false` only the sum is computed. With `checked == false` every x[i] - shift must be in
    /// [-87, 87] or NaN (the caller tested the row's range once), so the main loop has no per-vector test.
    @inline(always)
    static func expShiftedSum(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                              shift: Float, checked: Bool, store: Bool) -> Float {
        var s0 = F8(), s1 = F8()
        var i = 0
        if checked {
            while i &+ 16 <= count {
                let a = VectorMath.exp(VectorMath.load(x + i) - shift)
                let b = VectorMath.exp(VectorMath.load(x + i + 8) - shift)
                if store { VectorMath.store(a, y + i); VectorMath.store(b, y + i + 8) }
                s0 += a; s1 += b
                i &+= 16
            }
        } else {
            while i &+ 16 <= count {
                let a = VectorMath.expUnchecked(VectorMath.load(x + i) - shift)
                let b = VectorMath.expUnchecked(VectorMath.load(x + i + 8) - shift)
                if store { VectorMath.store(a, y + i); VectorMath.store(b, y + i + 8) }
                s0 += a; s1 += b
                i &+= 16
            }
        }
        if i &+ 8 <= count {
            let a = VectorMath.exp(VectorMath.load(x + i) - shift)
            if store { VectorMath.store(a, y + i) }
            s0 += a
            i &+= 8
        }
        if i < count {
            let a: F8
            if checked {
                // Padding -inf gives exp = 0, so the padded lanes add nothing.
                a = VectorMath.exp(VectorMath.loadPartial(x + i, count &- i, pad: -.infinity) - shift)
            } else {
                // In range: pad with the shift (exp 0 = 1, no slow path), then zero the padded lanes.
                let e = VectorMath.expUnchecked(VectorMath.loadPartial(x + i, count &- i, pad: shift) - shift)
                let live = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< SIMD8<Int32>(repeating: Int32(count &- i))
                a = VectorMath.select(live, e, F8())
            }
            if store { VectorMath.storePartial(a, y + i, count &- i) }
            s1 += a
        }
        return VectorMath.horizontalSum(s0 + s1)
    }

    /// y[i] *= c for i in 0..<count.
    @inline(always)
    static func scale(_ y: UnsafeMutablePointer<Float>, count: Int, by c: Float) {
        var i = 0
        while i &+ 16 <= count {
            let a = VectorMath.load(y + i) * c, b = VectorMath.load(y + i + 8) * c
            VectorMath.store(a, y + i)
            VectorMath.store(b, y + i + 8)
            i &+= 16
        }
        if i &+ 8 <= count {
            VectorMath.store(VectorMath.load(y + i) * c, y + i)
            i &+= 8
        }
        while i < count { y[i] *= c; i &+= 1 }
    }

    // MARK: - Softmax

    /// The book's masked softmax of one row of `n` logits: entries at index >= `valid` are treated as the
    /// logit -1e6 (so `valid == 0` gives a uniform row; `valid` is clamped to 0...n). The row maximum is
    /// subtracted first, so logits of any finite magnitude are safe. `y` may alias `x`.
    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int, valid: Int) {
        guard n > 0 else { return }
        let v = Swift.min(Swift.max(valid, 0), n)
        // Pass 1: max (and min, for the one range test of the row).
        var (m, lo) = maxMin(x, count: v)                   // (-inf, +inf) when v == 0
        if v < n { m = Swift.max(m, maskedLogit) }
        // Pass 2: y = exp(x - m) and its sum.
        var s = expShiftedSum(x, y, count: v, shift: m, checked: !expRangeIsSafe(max: m, min: lo), store: true)
        // Every masked entry has the same value exp(-1e6 - m) (0 unless the valid logits are below ~-1e6).
        // (e^x is 0 in Float below -104: skip the vector exp's out-of-range path for the usual case.)
        let c = v < n && Float(maskedLogit) - m >= -104 ? VectorMath.exp(F8(repeating: Float(maskedLogit) - m))[0] : 0
        s += c * Float(n &- v)
        // Pass 3: normalise.
        let inv = 1 / s
        scale(y, count: v, by: inv)
        if v < n { (y + v).update(repeating: c * inv, count: n &- v) }
    }

    /// Backward of softmax for one row: dx = y * (dy - sum(dy * y)). `dx` may alias `dy` (or `y`).
    static func softmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>, n: Int) {
        guard n > 0 else { return }
        // Pass 1: the dot product (vector partial sums).
        var a0 = F8(), a1 = F8()
        var i = 0
        while i &+ 16 <= n {
            a0 = VectorMath.madd(VectorMath.load(y + i), VectorMath.load(dy + i), a0)
            a1 = VectorMath.madd(VectorMath.load(y + i + 8), VectorMath.load(dy + i + 8), a1)
            i &+= 16
        }
        if i &+ 8 <= n { a0 = VectorMath.madd(VectorMath.load(y + i), VectorMath.load(dy + i), a0); i &+= 8 }
        var dot = VectorMath.horizontalSum(a0 + a1)
        while i < n { dot += y[i] * dy[i]; i &+= 1 }
        // Pass 2: dx = y * (dy - dot), element by element (safe in place).
        i = 0
        while i &+ 16 <= n {
            let r0 = VectorMath.load(y + i) * (VectorMath.load(dy + i) - dot)
            let r1 = VectorMath.load(y + i + 8) * (VectorMath.load(dy + i + 8) - dot)
            VectorMath.store(r0, dx + i)
            VectorMath.store(r1, dx + i + 8)
            i &+= 16
        }
        if i &+ 8 <= n {
            VectorMath.store(VectorMath.load(y + i) * (VectorMath.load(dy + i) - dot), dx + i)
            i &+= 8
        }
        while i < n { dx[i] = y[i] * (dy[i] - dot); i &+= 1 }
    }

    // MARK: - LayerNorm

    /// LayerNorm of one row: y = (x - mean) * rstd * gamma + beta with rstd = 1/sqrt(var + eps) and the
    /// biased variance (as PyTorch), in two passes (the mean, then the mean of squared deviations).
    /// Returns (mean, rstd) for the backward. `y` may alias `x`. For n <= 0 nothing is written.
    static func layerNorm(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                          _ y: UnsafeMutablePointer<Float>, n: Int, eps: Float) -> (mean: Float, rstd: Float) {
        guard n > 0 else { return (0, 1 / eps.squareRoot()) }
        let invN = 1 / Float(n)                             // off the critical path
        // Pass 1: the mean and variance from one sweep of shifted sums. Shifting by the row's first
        // element keeps Σd² - (Σd)²/n from cancelling when the mean is large against the spread.
        let shift = x[0], shiftV = F8(repeating: shift)
        var s0 = F8(), s1 = F8(), q0 = F8(), q1 = F8()
        var i = 0
        while i &+ 16 <= n {
            let d0 = VectorMath.load(x + i) - shiftV, d1 = VectorMath.load(x + i + 8) - shiftV
            s0 += d0; s1 += d1
            q0 = VectorMath.madd(d0, d0, q0); q1 = VectorMath.madd(d1, d1, q1)
            i &+= 16
        }
        if i &+ 8 <= n {
            let d = VectorMath.load(x + i) - shiftV
            s0 += d; q0 = VectorMath.madd(d, d, q0)
            i &+= 8
        }
        var sum = VectorMath.horizontalSum(s0 + s1), squares = VectorMath.horizontalSum(q0 + q1)
        while i < n { let d = x[i] - shift; sum += d; squares += d * d; i &+= 1 }
        let meanShifted = sum * invN
        let mean = shift + meanShifted
        let variance = max(squares * invN - meanShifted * meanShifted, 0)
        let rstd = 1 / (variance + eps).squareRoot()
        // Pass 2: normalise, scale, shift.
        i = 0
        while i &+ 16 <= n {
            let r0 = VectorMath.madd((VectorMath.load(x + i) - mean) * rstd, VectorMath.load(gamma + i),
                                     VectorMath.load(beta + i))
            let r1 = VectorMath.madd((VectorMath.load(x + i + 8) - mean) * rstd, VectorMath.load(gamma + i + 8),
                                     VectorMath.load(beta + i + 8))
            VectorMath.store(r0, y + i)
            VectorMath.store(r1, y + i + 8)
            i &+= 16
        }
        if i &+ 8 <= n {
            let r = VectorMath.madd((VectorMath.load(x + i) - mean) * rstd, VectorMath.load(gamma + i),
                                    VectorMath.load(beta + i))
            VectorMath.store(r, y + i)
            i &+= 8
        }
        while i < n { y[i] = ((x[i] - mean) * rstd) * gamma[i] + beta[i]; i &+= 1 }
        return (mean, rstd)
    }

    /// LayerNorm backward of one row. With xhat = (x - mean) * rstd and g = dy * gamma:
    ///     dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
    /// and it ACCUMULATES dgamma += dy * xhat and dbeta += dy. `dx` may alias `x` or `dy` (the first pass
    /// only reads the row; the second reads each element before writing it).
    static func layerNormBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                  mean: Float, rstd: Float, dx: UnsafeMutablePointer<Float>,
                                  dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>, n: Int) {
        guard n > 0 else { return }
        // Pass 1: sums of g and g * xhat; the parameter gradients.
        var sg0 = F8(), sg1 = F8(), sgx0 = F8(), sgx1 = F8()
        var i = 0
        while i &+ 16 <= n {
            let xh0 = (VectorMath.load(x + i) - mean) * rstd, xh1 = (VectorMath.load(x + i + 8) - mean) * rstd
            let d0 = VectorMath.load(dy + i), d1 = VectorMath.load(dy + i + 8)
            let g0 = d0 * VectorMath.load(gamma + i), g1 = d1 * VectorMath.load(gamma + i + 8)
            sg0 += g0; sg1 += g1
            sgx0 = VectorMath.madd(g0, xh0, sgx0); sgx1 = VectorMath.madd(g1, xh1, sgx1)
            VectorMath.store(VectorMath.madd(d0, xh0, VectorMath.load(dgamma + i)), dgamma + i)
            VectorMath.store(VectorMath.madd(d1, xh1, VectorMath.load(dgamma + i + 8)), dgamma + i + 8)
            VectorMath.store(VectorMath.load(dbeta + i) + d0, dbeta + i)
            VectorMath.store(VectorMath.load(dbeta + i + 8) + d1, dbeta + i + 8)
            i &+= 16
        }
        if i &+ 8 <= n {
            let xh = (VectorMath.load(x + i) - mean) * rstd
            let d = VectorMath.load(dy + i)
            let g = d * VectorMath.load(gamma + i)
            sg0 += g; sgx0 = VectorMath.madd(g, xh, sgx0)
            VectorMath.store(VectorMath.madd(d, xh, VectorMath.load(dgamma + i)), dgamma + i)
            VectorMath.store(VectorMath.load(dbeta + i) + d, dbeta + i)
            i &+= 8
        }
        var sg = VectorMath.horizontalSum(sg0 + sg1), sgx = VectorMath.horizontalSum(sgx0 + sgx1)
        while i < n {
            let xh = (x[i] - mean) * rstd
            let d = dy[i]
            let g = d * gamma[i]
            sg += g; sgx += g * xh
            dgamma[i] += d * xh
            dbeta[i] += d
            i &+= 1
        }
        let invN = 1 / Float(n)
        let a = sg * invN, b = sgx * invN
        // Pass 2: dx = rstd * ((g - a) - xhat * b).
        i = 0
        while i &+ 16 <= n {
            let xh0 = (VectorMath.load(x + i) - mean) * rstd, xh1 = (VectorMath.load(x + i + 8) - mean) * rstd
            let g0 = VectorMath.load(dy + i) * VectorMath.load(gamma + i)
            let g1 = VectorMath.load(dy + i + 8) * VectorMath.load(gamma + i + 8)
            VectorMath.store(((g0 - a) - xh0 * b) * rstd, dx + i)
            VectorMath.store(((g1 - a) - xh1 * b) * rstd, dx + i + 8)
            i &+= 16
        }
        if i &+ 8 <= n {
            let xh = (VectorMath.load(x + i) - mean) * rstd
            let g = VectorMath.load(dy + i) * VectorMath.load(gamma + i)
            VectorMath.store(((g - a) - xh * b) * rstd, dx + i)
            i &+= 8
        }
        while i < n {
            let xh = (x[i] - mean) * rstd
            dx[i] = ((dy[i] * gamma[i] - a) - xh * b) * rstd
            i &+= 1
        }
    }
}
