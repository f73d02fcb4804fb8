// VectorMath.swift
//
// Vectorised float32 transcendental functions and reductions for the CPU backend.
//
// Everything is written on `SIMD8<Float>` (two SSE registers with the default x86_64 target, one AVX
// register when compiled with `-target-cpu x86-64-v3`), with the per-lane building blocks exposed as
// `@inline(__always)` functions so that other loops can fuse them. Buffer functions process 16 floats
// per iteration (two independent vectors, for instruction-level parallelism), then one vector, then a
// padded partial vector for the tail, so every element goes through exactly the same code.
//
// Only plain IEEE arithmetic, compares and integer bit operations are used: no library calls, no
// `pointwiseMin/Max` (which the standard library implements lane by lane with IEEE-754 `maximum`
// semantics and compiles to scalar code), no rounding instructions (SSE2 has none; the
// "add 1.5 * 2^23" trick rounds to the nearest integer instead). Nothing here allocates.
//
// Accuracy (measured against Double-precision references, see the backend's notes): exp, log, tanh and
// sigmoid are within a few ulp over the whole float range, with IEEE behaviour for the special values
// (exp(-inf) = 0, exp(x > 88.72) = +inf, log(0) = -inf, log(x < 0) = NaN, NaN propagates).
//
// Polynomial coefficients were derived for this file with a weighted Remez exchange (minimax relative
// error) in 50-digit arithmetic and then rounded to float32; the rounded polynomials' errors are quoted
// next to each one and are far below float32 rounding (2^-24 = 6e-8).

import Foundation

/// Vectorised transcendental functions over contiguous `Float` buffers (`SIMD8<Float>`, padded tail).
/// In the buffer functions `x` and `y` may alias (in place).
enum VectorMath {

    typealias F8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>
    typealias M8 = SIMDMask<SIMD8<Int32>>

    // MARK: - Small helpers

    /// The bits of each lane as a signed integer.
    @inline(__always) static func bits(_ v: F8) -> I8 { unsafeBitCast(v, to: I8.self) }
    /// Reinterprets integer lanes as float lanes.
    @inline(__always) static func float(_ v: I8) -> F8 { unsafeBitCast(v, to: F8.self) }

    /// Lane-wise `m ? a : b`. (Written with `replacing(with:where:)`, which LLVM turns into a compare
    /// and a blend, or into `maxps`/`minps` when it can; reinterpreting the mask's bits instead makes
    /// LLVM legalise it lane by lane through general registers, several times slower.)
    @inline(__always) static func select(_ m: M8, _ a: F8, _ b: F8) -> F8 {
        b.replacing(with: a, where: m)
    }

    /// Lane-wise |v| (clears the sign bit; NaN stays NaN).
    @inline(__always) static func abs(_ v: F8) -> F8 {
        float(bits(v) & I8(repeating: 0x7FFF_FFFF))
    }

    /// Loads `n < 8` floats into a vector whose remaining lanes are `pad`.
    @inline(__always) static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, pad: Float) -> F8 {
        var v = F8(repeating: pad)
        for j in 0..<n { v[j] = p[j] }
        return v
    }

    /// Stores the first `n < 8` lanes of `v`.
    @inline(__always) static func storePartial(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for j in 0..<n { p[j] = v[j] }
    }

    /// Unaligned vector load of 8 floats at `p`.
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    /// Unaligned vector store of 8 floats at `p`.
    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
    }

    // MARK: - exp

    // Range reduction: x = n*ln2 + r with n = round(x / ln2), |r| <= ln2/2, so e^x = 2^n * e^r.
    // n is rounded with the shifter 1.5*2^23: t = x*log2(e) + 1.5*2^23 has n in its low mantissa bits,
    // and t - 1.5*2^23 is n exactly. r is computed in two steps (Cody & Waite): ln2 = ln2Hi + ln2Lo where
    // ln2Hi has only 16 significant bits, so n*ln2Hi is exact for |n| < 256 and x - n*ln2Hi is exact;
    // ln2Lo carries the next 24 bits.
    static let expShifter: Float = 12_582_912            // 1.5 * 2^23
    static let log2e: Float = 1.442_695_04               // 0x3FB8AA3B
    static let ln2Hi: Float = 0.693_145_751_953_125      // 0x3F317200 (exact, 16 bits)
    static let ln2Lo: Float = 1.428_606_820_309_417e-6   // 0x35BFBE8E, ln2 - ln2Hi

    // e^r ~= 1 + r + r^2 * (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4) on [-ln2/2, ln2/2]; minimax for the
    // relative error with the first two Taylor coefficients fixed at 1 (so tiny r stays exact).
    // Error of the float32-rounded polynomial: 3.8e-9 relative (Taylor coefficients of the same degree
    // would give 2.5e-8 at the interval ends).
    static let expC2: Float = 0.499_999_94        // 0x3EFFFFFE
    static let expC3: Float = 0.166_665_211       // 0x3E2AAA49
    static let expC4: Float = 0.041_668_389       // 0x3D2AAC79
    static let expC5: Float = 0.008_368_710_06    // 0x3C091CEA
    static let expC6: Float = 0.001_381_461_28    // 0x3AB51226

    /// e^r for |r| <= ln2/2 (plus a little slack), ~0.6 ulp.
    @inline(__always) static func expPoly(_ r: F8) -> F8 {
        var q = F8(repeating: expC6)
        q = q * r + expC5
        q = q * r + expC4
        q = q * r + expC3
        q = q * r + expC2
        return (r + (r * r) * q) + 1
    }

    /// True when every lane of `x` can use `expUnchecked` (|x| <= 87, so 2^n is a normal float; NaN
    /// and infinities fail the test).
    @inline(__always) static func expInRange(_ x: F8) -> Bool {
        all(abs(x) .<= 87)
    }

    /// e^x without range checks: valid for |x| <= 87 (and NaN in gives NaN out). ~1 ulp.
    @inline(__always) static func expUnchecked(_ x: F8) -> F8 {
        let t = x * log2e + expShifter
        let n = t - expShifter
        let r = (x - n * ln2Hi) - n * ln2Lo
        // The low bits of t hold n (two's complement); shifting by 23 drops the shifter's bits.
        let scale = float((bits(t) &<< 23) &+ I8(repeating: 127 << 23))
        return expPoly(r) * scale
    }

    /// Lane-wise e^x, within ~1 ulp for normal results, correctly scaled into the subnormal range
    /// (x in [-103.97, -87.34]), +inf for x > 88.7228, 0 for x < -103.97 and -inf, NaN propagates.
    @inline(__always) static func exp(_ x: F8) -> F8 {
        if _fastPath(expInRange(x)) { return expUnchecked(x) }
        return expSlow(x)
    }

    /// Out-of-line general case of `exp`: clamps x to [-104, 89] (NaN kept) and applies 2^n as two
    /// factors 2^(n>>1) * 2^(n - n>>1), each a normal float, so the result overflows to +inf or rounds
    /// into the subnormal range with a single rounding.
    @inline(never) static func expSlow(_ x: F8) -> F8 {
        var xc = select(x .> 89.0, F8(repeating: 89.0), x)
        xc = select(xc .< -104.0, F8(repeating: -104.0), xc)
        let t = xc * log2e + expShifter
        let n = t - expShifter
        let r = (xc - n * ln2Hi) - n * ln2Lo
        let ni = bits(t) &- bits(F8(repeating: expShifter))
        let n1 = ni &>> 1
        let n2 = ni &- n1
        let s1 = float((n1 &+ 127) &<< 23)
        let s2 = float((n2 &+ 127) &<< 23)
        return (expPoly(r) * s1) * s2
    }

    // MARK: - log

    // Range reduction: x = 2^k * m with m in [sqrt(1/2), sqrt(2)). Subtracting the bit pattern of
    // sqrt(1/2) from x's bits makes the exponent field (>> 23) equal k and the remaining mantissa bits,
    // re-based on sqrt(1/2), give m. With f = m - 1 (exact) and s = f / (2 + f):
    //     log(1 + f) = 2 atanh(s) = 2s + s*R(s^2),  R(z) = 2z/3 + 2z^2/5 + 2z^3/7 + ...
    // and since f - 2s = s*f, log(1 + f) = f - f^2/2 + s*(f^2/2 + R(z)): the big terms f and f^2/2 are
    // exact or nearly so and s (rounded) only multiplies a small correction. |s| <= 0.1716, z <= 0.02944.
    // R(z) ~= z*(l1 + l2 z + l3 z^2): minimax for the error it causes in log(1 + f), 8.6e-10 relative
    // after rounding the coefficients (the Taylor coefficients 2/3, 2/5, 2/7 would give 8e-8).
    static let logL1: Float = 0.666_667_759       // 0x3F2AAABD
    static let logL2: Float = 0.399_775_416       // 0x3ECCAF5D
    static let logL3: Float = 0.298_717_29        // 0x3E98F179
    static let sqrtHalfBits: Int32 = 0x3F35_04F3  // bits of sqrt(1/2) rounded: 0.70710677

    /// log(x) for x in [2^-126, +inf) (normal positives), no special-value handling.
    @inline(__always) static func logNormal(_ x: F8, kAdjust: F8) -> F8 {
        let ix = bits(x) &- I8(repeating: sqrtHalfBits)
        let k = ix &>> 23                                           // arithmetic: k may be negative
        let m = float((ix & I8(repeating: 0x007F_FFFF)) &+ I8(repeating: sqrtHalfBits))
        // Exact int -> float for |k| < 2^22 with the shifter (no cvtdq2ps dependence on flags).
        let kf = float(k &+ bits(F8(repeating: expShifter))) - expShifter + kAdjust
        let f = m - 1
        let s = f / (f + 2)
        let z = s * s
        let rz = z * ((logL3 * z + logL2) * z + logL1)
        let hfsq = 0.5 * f * f
        let lo = kf * ln2Lo + s * (hfsq + rz)
        return ((lo - hfsq) + f) + kf * ln2Hi
    }

    /// True when every lane of `x` is a positive normal finite float (the domain of `logNormal`).
    @inline(__always) static func logInRange(_ x: F8) -> Bool {
        all((x .>= Float.leastNormalMagnitude) .& (x .<= Float.greatestFiniteMagnitude))
    }

    /// Lane-wise natural logarithm, within ~1 ulp. log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf,
    /// NaN propagates; subnormal inputs are scaled by 2^23 first, so they are as accurate as normal ones.
    @inline(__always) static func log(_ x: F8) -> F8 {
        if _fastPath(logInRange(x)) { return logNormal(x, kAdjust: F8()) }
        return logSlow(x)
    }

    /// Out-of-line general case of `log` (subnormals, zero, negatives, infinities, NaN).
    @inline(never) static func logSlow(_ x: F8) -> F8 {
        let sub = x .< Float.leastNormalMagnitude
        let xs = select(sub, x * 8_388_608, x)                     // 2^23
        let kAdjust = select(sub, F8(repeating: -23), F8())
        // Any non-positive or non-finite lane gets a harmless stand-in and is fixed below.
        let ok = (x .> 0) .& (x .< Float.infinity)
        var y = logNormal(select(ok, xs, F8(repeating: 1)), kAdjust: kAdjust)
        y = select(ok, y, x + x)                                     // +inf -> +inf, NaN -> NaN
        y = select(x .== 0, F8(repeating: -Float.infinity), y)
        y = select(x .< 0, F8(repeating: Float.nan), y)
        return y
    }

    // MARK: - tanh

    // |x| < 0.55: tanh(x) ~= x + x^3 * P(x^2), P of degree 4, minimax for the relative error
    // (4.4e-9 after rounding the coefficients). This keeps full relative accuracy near 0.
    // |x| >= 0.55: tanh|x| = (1 - e) / (1 + e) with e = exp(-2|x|) in (0, 0.333]; |x| is clamped to 10,
    // where the quotient already rounds to 1, so e never underflows; the sign is copied back.
    static let tanhSmall: Float = 0.55
    static let tanhP0: Float = -0.333_333_164     // 0xBEAAAAA5
    static let tanhP1: Float = 0.133_325_86       // 0x3E088693
    static let tanhP2: Float = -0.053_852_308_5   // 0xBD5C943D
    static let tanhP3: Float = 0.021_071_679_9    // 0x3CAC9E84
    static let tanhP4: Float = -0.006_274_239_63  // 0xBBCD9823

    /// tanh(x) for |x| < 0.55 (odd minimax polynomial).
    @inline(__always) static func tanhPoly(_ x: F8) -> F8 {
        let u = x * x
        var p = F8(repeating: tanhP4)
        p = p * u + tanhP3
        p = p * u + tanhP2
        p = p * u + tanhP1
        p = p * u + tanhP0
        return x + (x * u) * p
    }

    /// tanh(x) for |x| >= 0.55 via exp(-2|x|).
    @inline(__always) static func tanhExp(_ x: F8, _ ax: F8) -> F8 {
        let a = select(ax .> 10, F8(repeating: 10), ax)             // NaN stays NaN
        let e = expUnchecked(-2 * a)
        let t = (1 - e) / (1 + e)
        return float(bits(t) | (bits(x) & I8(repeating: Int32(bitPattern: 0x8000_0000))))
    }

    /// Lane-wise tanh, within ~2 ulp, exactly ±1 for |x| >= 9.1, NaN propagates.
    @inline(__always) static func tanh(_ x: F8) -> F8 {
        let ax = abs(x)
        let small = ax .< tanhSmall
        if all(small) { return tanhPoly(x) }
        let big = tanhExp(x, ax)
        if !any(small) { return big }
        return select(small, tanhPoly(x), big)
    }

    // MARK: - sigmoid

    /// Lane-wise logistic function 1 / (1 + e^-x), within ~2 ulp. With e = exp(-|x|) in (0, 1] this is
    /// 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, so nothing overflows and tiny results for very
    /// negative x (down to the subnormals) keep their relative accuracy. sigmoid(-inf) = 0,
    /// sigmoid(+inf) = 1, NaN propagates.
    @inline(__always) static func sigmoid(_ x: F8) -> F8 {
        let ax = abs(x)
        let e = _fastPath(all(ax .<= 87)) ? expUnchecked(-ax) : expSlow(-ax)
        let num = select(x .< 0, e, F8(repeating: 1))
        return num / (1 + e)
    }

    // MARK: - SIMD16 forms (two SIMD8 halves)

    /// Lane-wise e^x on 16 lanes.
    @inline(__always) static func exp(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: exp(v.lowHalf), highHalf: exp(v.highHalf))
    }
    /// Lane-wise natural logarithm on 16 lanes.
    @inline(__always) static func log(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: log(v.lowHalf), highHalf: log(v.highHalf))
    }
    /// Lane-wise tanh on 16 lanes.
    @inline(__always) static func tanh(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: tanh(v.lowHalf), highHalf: tanh(v.highHalf))
    }
    /// Lane-wise sigmoid on 16 lanes.
    @inline(__always) static func sigmoid(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: sigmoid(v.lowHalf), highHalf: sigmoid(v.highHalf))
    }

    // MARK: - Buffer functions

    /// Applies a lane-wise function to `count` floats: 16 per iteration (`pair` gets two vectors, so a
    /// function can test both with one branch), then 8, then a padded tail (padding 1, which every
    /// function here maps to a finite value without leaving its fast path).
    @inline(__always) static func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                                      pair: (F8, F8) -> (F8, F8), _ f: (F8) -> F8) {
        var i = 0
        while i &+ 16 <= count {
            let (fa, fb) = pair(load(x + i), load(x + i + 8))
            store(fa, y + i)
            store(fb, y + i + 8)
            i &+= 16
        }
        if i &+ 8 <= count {
            store(f(load(x + i)), y + i)
            i &+= 8
        }
        if i < count {
            storePartial(f(loadPartial(x + i, count &- i, pad: 1)), y + i, count &- i)
        }
    }

    /// y[i] = e^x[i] for i in 0..<count. `x` and `y` may alias.
    static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count, pair: { a, b in
            if _fastPath(all((abs(a) .<= 87) .& (abs(b) .<= 87))) { return (expUnchecked(a), expUnchecked(b)) }
            return (expSlow(a), expSlow(b))
        }, { exp($0) })
    }

    /// y[i] = log(x[i]) (natural logarithm) for i in 0..<count. `x` and `y` may alias.
    static func log(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count, pair: { a, b in
            let lo = F8(repeating: Float.leastNormalMagnitude), hi = F8(repeating: Float.greatestFiniteMagnitude)
            if _fastPath(all((a .>= lo) .& (a .<= hi) .& (b .>= lo) .& (b .<= hi))) {
                return (logNormal(a, kAdjust: F8()), logNormal(b, kAdjust: F8()))
            }
            return (logSlow(a), logSlow(b))
        }, { log($0) })
    }

    /// y[i] = tanh(x[i]) for i in 0..<count. `x` and `y` may alias.
    static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count, pair: { a, b in (tanh(a), tanh(b)) }, { tanh($0) })
    }

    /// y[i] = 1 / (1 + e^-x[i]) for i in 0..<count. `x` and `y` may alias.
    static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count, pair: { a, b in
            let aa = abs(a), ab = abs(b)
            let (ea, eb) = _fastPath(all((aa .<= 87) .& (ab .<= 87)))
                ? (expUnchecked(-aa), expUnchecked(-ab)) : (expSlow(-aa), expSlow(-ab))
            let na = select(a .< 0, ea, F8(repeating: 1)), nb = select(b .< 0, eb, F8(repeating: 1))
            return (na / (1 + ea), nb / (1 + eb))
        }, { sigmoid($0) })
    }

    // MARK: - Reductions

    /// Block length for the reductions: each block is summed with 32 float partial sums (four vectors),
    /// and block results are added in Double, so the rounding error grows with the block, not the count.
    static let reductionBlock = 4096

    /// Sum of `count` floats (0 for count <= 0). Vector partial sums per block, blocks added in Double.
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(start + reductionBlock, count)
            var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
            var i = start
            while i &+ 32 <= end {
                a0 += load(x + i); a1 += load(x + i + 8)
                a2 += load(x + i + 16); a3 += load(x + i + 24)
                i &+= 32
            }
            while i &+ 8 <= end { a0 += load(x + i); i &+= 8 }
            if i < end { a1 += loadPartial(x + i, end - i, pad: 0) }
            total += Double(horizontalSum((a0 + a1) + (a2 + a3)))
            start = end
        }
        return Float(total)
    }

    /// Sum of squares of `count` floats (0 for count <= 0), accumulated like `sum`.
    static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(start + reductionBlock, count)
            var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
            var i = start
            while i &+ 32 <= end {
                let v0 = load(x + i), v1 = load(x + i + 8), v2 = load(x + i + 16), v3 = load(x + i + 24)
                a0 += v0 * v0; a1 += v1 * v1; a2 += v2 * v2; a3 += v3 * v3
                i &+= 32
            }
            while i &+ 8 <= end { let v = load(x + i); a0 += v * v; i &+= 8 }
            if i < end { let v = loadPartial(x + i, end - i, pad: 0); a1 += v * v }
            total += Double(horizontalSum((a0 + a1) + (a2 + a3)))
            start = end
        }
        return Float(total)
    }

    /// Horizontal sum of a vector as a tree (8 -> 4 -> 2 -> 1), shorter latency than lane order.
    @inline(__always) static func horizontalSum(_ v: F8) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        return b[0] + b[1]
    }

    /// Horizontal maximum of a vector (lanes are not NaN).
    @inline(__always) static func horizontalMax(_ v: F8) -> Float {
        var m = v[0]
        for j in 1..<8 where v[j] > m { m = v[j] }
        return m
    }

    /// Maximum of `count` floats; -inf for count <= 0, NaN if any element is NaN.
    static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        let ninf = F8(repeating: -Float.infinity)
        var m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf
        var nan = M8()
        var i = 0
        while i &+ 32 <= count {
            let v0 = load(x + i), v1 = load(x + i + 8), v2 = load(x + i + 16), v3 = load(x + i + 24)
            m0 = select(v0 .> m0, v0, m0); m1 = select(v1 .> m1, v1, m1)
            m2 = select(v2 .> m2, v2, m2); m3 = select(v3 .> m3, v3, m3)
            nan = nan .| (v0 .!= v0) .| (v1 .!= v1) .| (v2 .!= v2) .| (v3 .!= v3)
            i &+= 32
        }
        while i &+ 8 <= count {
            let v = load(x + i)
            m0 = select(v .> m0, v, m0)
            nan = nan .| (v .!= v)
            i &+= 8
        }
        if i < count {
            let v = loadPartial(x + i, count - i, pad: -.infinity)
            m1 = select(v .> m1, v, m1)
            nan = nan .| (v .!= v)
        }
        if any(nan) { return .nan }
        m0 = select(m1 .> m0, m1, m0)
        m2 = select(m3 .> m2, m3, m2)
        m0 = select(m2 .> m0, m2, m0)
        return horizontalMax(m0)
    }
}
