// VectorMath.swift
//
// Vectorised float32 transcendental functions (exp, log, tanh, sigmoid) and reductions (sum, sum of
// squares, max) for the CPU backend.
//
// Everything is written on `SIMD8<Float>`: two SSE registers with the default x86_64 target (SSE2), one
// AVX register when the target is built with `-Xcc -mavx2` (or `-Xcc -march=x86-64-v3`, which Swift's
// code generation also follows). The per-lane building blocks are `@inline(always)` (the guaranteed form;
// `@inline(__always)` was seen to leave a call to `tanh` in a two-vector loop) so other loops can fuse
// them. Buffer functions process 16 floats per iteration (two independent vectors, one range test for
// both), then 8, then a padded partial vector, so every element goes through the same code.
//
// Only IEEE arithmetic, compares and integer bit operations are used: no library calls, no
// `pointwiseMin/Max` (the standard library implements those lane by lane with IEEE `maximum` semantics,
// in scalar code), no rounding instructions (SSE2 has none; adding 1.5 * 2^23 rounds to an integer).
// Selects are written with `replacing(with:where:)`: reinterpreting a mask's bits makes LLVM legalise it
// lane by lane through general registers. Nothing here allocates.
// Note for fused loops: the standard library's SIMD8<Float> arithmetic is a lane loop that LLVM's SLP
// vectoriser turns back into vector code; in loops with many live vectors it sometimes picks 4-wide
// halves (seen with AVX2), so check the assembly of a new fused loop.
//
// Multiply-adds go through `madd`, a plain multiply and add unless the target is compiled with
// `-D DIVE_FMA`, which must come with `-Xcc -mfma` (or x86-64-v3): without the instruction the fused
// operation becomes a library call per lane.
//
// Polynomial coefficients were derived for this file with a weighted Remez exchange (minimax of the
// relative error) in 50-digit arithmetic, then rounded to float32; each quoted error is that of the
// rounded polynomial, far below float32 rounding (2^-24 = 6e-8).
//
// Measured against Double references (every 61st float bit pattern plus 6M random arguments), max error:
// exp 1.0 ulp, log 0.83 ulp, tanh 2.25 ulp, sigmoid 2.35 ulp (relative error <= 1.8e-7), the same
// with and without AVX2/FMA.

import Foundation

/// Vectorised transcendental functions over contiguous `Float` buffers (`SIMD8<Float>`, padded tail).
/// In the buffer functions `x` and `y` may alias (in place).
enum VectorMath {

    typealias F8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>
    typealias M8 = SIMDMask<SIMD8<Int32>>

    // MARK: - Helpers

    /// The bits of each lane as a signed integer.
    @inline(always) static func bits(_ v: F8) -> I8 { unsafeBitCast(v, to: I8.self) }

    /// Reinterprets integer lanes as float lanes.
    @inline(always) static func float(_ v: I8) -> F8 { unsafeBitCast(v, to: F8.self) }

    /// a * b + c: fused when compiled with `-D DIVE_FMA`, else a multiply and an add.
    @inline(always) static func madd(_ a: F8, _ b: F8, _ c: F8) -> F8 {
        #if DIVE_FMA
        return c.addingProduct(a, b)
        #else
        return a * b + c
        #endif
    }

    /// a * b + c with scalar b and c.
    @inline(always) static func madd(_ a: F8, _ b: Float, _ c: Float) -> F8 {
        madd(a, F8(repeating: b), F8(repeating: c))
    }

    /// a * b + c with scalar b.
    @inline(always) static func madd(_ a: F8, _ b: Float, _ c: F8) -> F8 {
        madd(a, F8(repeating: b), c)
    }

    /// Lane-wise `m ? a : b` (LLVM turns it into a compare and a blend, or into maxps/minps).
    @inline(always) static func select(_ m: M8, _ a: F8, _ b: F8) -> F8 {
        b.replacing(with: a, where: m)
    }

    /// Lane-wise |v| (clears the sign bit; NaN stays NaN).
    @inline(always) static func abs(_ v: F8) -> F8 {
        float(bits(v) & I8(repeating: 0x7FFF_FFFF))
    }

    /// Lane-wise -|v| (sets the sign bit; NaN stays NaN).
    @inline(always) static func negAbs(_ v: F8) -> F8 {
        float(bits(v) | I8(repeating: Int32(bitPattern: 0x8000_0000)))
    }

    /// Unaligned load of 8 floats.
    @inline(always) static func load(_ p: UnsafePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    /// Unaligned store of 8 floats.
    @inline(always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
    }

    /// Loads `n < 8` floats; the other lanes are `pad`.
    @inline(always) static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, pad: Float) -> F8 {
        var v = F8(repeating: pad)
        for j in 0..<n { v[j] = p[j] }
        return v
    }

    /// Stores the first `n < 8` lanes of `v`.
    @inline(always) static func storePartial(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for j in 0..<n { p[j] = v[j] }
    }

    /// Horizontal sum as a tree (8 -> 4 -> 2 -> 1): shorter latency than lane order.
    @inline(always) static func horizontalSum(_ v: F8) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        return b[0] + b[1]
    }

    /// Horizontal maximum as a tree (NaN lanes are ignored unless all lanes are NaN).
    @inline(always) static func horizontalMax(_ v: F8) -> Float {
        let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
        let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
        return b[1] > b[0] ? b[1] : b[0]
    }

    /// Horizontal minimum as a tree (NaN lanes are ignored unless all lanes are NaN).
    @inline(always) static func horizontalMin(_ v: F8) -> Float {
        let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .< v.lowHalf)
        let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .< a.lowHalf)
        return b[1] < b[0] ? b[1] : b[0]
    }

    // MARK: - exp

    // Range reduction: x = n*ln2 + r, n = round(x*log2(e)), |r| <= ln2/2, so e^x = 2^n * e^r.
    // n is rounded with the shifter 1.5*2^23: t = x*log2(e) + 1.5*2^23 holds n in its low mantissa bits and
    // t - 1.5*2^23 is n exactly. r is computed in two steps (Cody & Waite): ln2 = ln2Hi + ln2Lo, ln2Hi
    // having 16 significant bits so n*ln2Hi and x - n*ln2Hi are exact for |n| < 256.
    static let expShifter: Float = 12_582_912            // 1.5 * 2^23
    static let log2e: Float = 1.442_695_04               // 0x3FB8AA3B
    static let ln2Hi: Float = 0.693_145_751_953_125      // 0x3F317200 (exact, 16 bits)
    static let ln2Lo: Float = 1.428_606_820_309_417e-6   // 0x35BFBE8E, ln2 - ln2Hi

    // e^r ~= 1 + r + r^2 * (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4) on [-ln2/2, ln2/2]: minimax for the
    // relative error with the first two Taylor coefficients kept at 1 (tiny r stays exact).
    // Error 3.8e-9 relative (the Taylor coefficients of the same degree give 1.6e-7 at the ends).
    static let expC2: Float = 0.499_999_94        // 0x3EFFFFFE
    static let expC3: Float = 0.166_665_211       // 0x3E2AAA49
    static let expC4: Float = 0.041_668_389       // 0x3D2AAC79
    static let expC5: Float = 0.008_368_710_06    // 0x3C091CEA
    static let expC6: Float = 0.001_381_461_28    // 0x3AB51226

    /// e^r - 1 for |r| <= ln2/2 (with a little slack), without cancellation for small r.
    @inline(always) static func expm1Poly(_ r: F8) -> F8 {
        var q = madd(r, expC6, expC5)
        q = madd(q, r, F8(repeating: expC4))
        q = madd(q, r, F8(repeating: expC3))
        q = madd(q, r, F8(repeating: expC2))
        return madd(r * r, q, r)
    }

    /// Range reduction of x (|x| < 128 * ln2): t = x*log2(e) + shifter, n = round(x*log2(e)) (as a
    /// float), r = x - n*ln2 (Cody & Waite).
    @inline(always) static func expReduce(_ x: F8) -> (t: F8, n: F8, r: F8) {
        let t = madd(x, log2e, expShifter)
        let n = t - expShifter
        return (t, n, madd(n, -ln2Lo, madd(n, -ln2Hi, x)))
    }

    /// 2^n from t = n + shifter for n in [-126, 127]: the low bits of t hold n (two's complement), and
    /// shifting left by 23 drops the shifter's bits and puts n + 127 in the exponent field.
    @inline(always) static func pow2(_ t: F8) -> F8 {
        float((bits(t) &<< 23) &+ I8(repeating: 127 << 23))
    }

    /// True when every lane can use `expUnchecked` (|x| <= 87, so 2^n is a normal float); NaN and
    /// infinities fail the test.
    @inline(always) static func expInRange(_ x: F8) -> Bool {
        all(abs(x) .<= 87)
    }

    /// e^x without range checks, for |x| <= 87 (NaN in gives NaN out); < 1 ulp.
    @inline(always) static func expUnchecked(_ x: F8) -> F8 {
        let (t, _, r) = expReduce(x)
        return (expm1Poly(r) + 1) * pow2(t)
    }

    /// Lane-wise e^x: < 1 ulp for normal results, correctly scaled into the subnormal range
    /// (x in [-103.97, -87.34]), +inf for x > 88.7228, 0 for x < -103.97 and -inf, NaN propagates.
    @inline(always) static func exp(_ x: F8) -> F8 {
        if _fastPath(expInRange(x)) { return expUnchecked(x) }
        return expSlow(x)
    }

    /// Out-of-line general case of `exp`: clamps x to [-104, 89] (NaN kept) and applies 2^n as the two
    /// normal factors 2^(n>>1) * 2^(n - n>>1), so the result overflows to +inf, or rounds into the
    /// subnormals, with a single rounding.
    @inline(never) static func expSlow(_ x: F8) -> F8 {
        var xc = select(x .> 89, F8(repeating: 89), x)
        xc = select(xc .< -104, F8(repeating: -104), xc)
        let (t, _, r) = expReduce(xc)
        let ni = bits(t) &- bits(F8(repeating: expShifter))
        let n1 = ni &>> 1
        let n2 = ni &- n1
        let s1 = float((n1 &+ 127) &<< 23)
        let s2 = float((n2 &+ 127) &<< 23)
        return ((expm1Poly(r) + 1) * s1) * s2
    }

    // MARK: - log

    // Range reduction: x = 2^k * m with m in [sqrt(1/2), sqrt(2)). Subtracting the bits of sqrt(1/2) from
    // x's bits makes the exponent field (>> 23) equal k, and the low 23 bits re-based on sqrt(1/2) give m.
    // With f = m - 1 (exact) and s = f / (2 + f):
    //     log(1 + f) = 2 atanh(s) = 2s + s*R(s^2),   R(z) = 2z/3 + 2z^2/5 + 2z^3/7 + ...
    // and, since f - 2s = s*f,   log(1 + f) = f - f^2/2 + s*(f^2/2 + R(z)),
    // so the large terms f and f^2/2 are exact or nearly so and the rounded s only multiplies a small
    // correction. |s| <= 0.1716, z <= 0.02944. R(z) ~= z*(l1 + l2 z + l3 z^2): minimax for the error it
    // causes in log(1 + f), 8.6e-10 relative (the Taylor coefficients 2/3, 2/5, 2/7 give 8e-8).
    static let logL1: Float = 0.666_667_759       // 0x3F2AAABD
    static let logL2: Float = 0.399_775_416       // 0x3ECCAF5D
    static let logL3: Float = 0.298_717_29        // 0x3E98F179
    static let sqrtHalfBits: Int32 = 0x3F35_04F3  // 0.70710677

    /// log(x) for positive normal finite x; `kAdjust` is added to the exponent (for prescaled inputs).
    @inline(always) static func logNormal(_ x: F8, kAdjust: F8) -> F8 {
        let ix = bits(x) &- I8(repeating: sqrtHalfBits)
        let k = ix &>> 23                                           // arithmetic shift: k may be < 0
        let m = float((ix & I8(repeating: 0x007F_FFFF)) &+ I8(repeating: sqrtHalfBits))
        // k as a float, exactly, through the shifter (|k| < 2^22).
        let kf = (float(k &+ bits(F8(repeating: expShifter))) - expShifter) + kAdjust
        let f = m - 1
        let s = f / (f + 2)
        let z = s * s
        let rz = z * madd(madd(z, logL3, logL2), z, F8(repeating: logL1))
        let hfsq = 0.5 * f * f
        let lo = madd(kf, ln2Lo, s * (hfsq + rz))
        return madd(kf, ln2Hi, (lo - hfsq) + f)
    }

    /// True when every lane is a positive normal finite float (the domain of `logNormal`).
    @inline(always) static func logInRange(_ x: F8) -> Bool {
        all((x .>= Float.leastNormalMagnitude) .& (x .<= Float.greatestFiniteMagnitude))
    }

    /// Lane-wise natural logarithm, < 1 ulp. log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN
    /// propagates; subnormal inputs are scaled by 2^23 first, so they are as accurate as normal ones.
    @inline(always) static func log(_ x: F8) -> F8 {
        if _fastPath(logInRange(x)) { return logNormal(x, kAdjust: F8()) }
        return logSlow(x)
    }

    /// Out-of-line general case of `log` (subnormals, zeros, negatives, infinities, NaN).
    @inline(never) static func logSlow(_ x: F8) -> F8 {
        let sub = x .< Float.leastNormalMagnitude
        let xs = select(sub, x * 8_388_608, x)                     // * 2^23
        let kAdjust = select(sub, F8(repeating: -23), F8())
        let ok = (x .> 0) .& (x .< Float.infinity)
        var y = logNormal(select(ok, xs, F8(repeating: 1)), kAdjust: kAdjust)
        y = select(ok, y, x + x)                                     // +inf -> +inf, NaN -> NaN
        y = select(x .== 0, F8(repeating: -Float.infinity), y)
        y = select(x .< 0, F8(repeating: Float.nan), y)
        return y
    }

    // MARK: - tanh

    // With y = -2|x| (|x| clamped to 10, where tanh already rounds to ±1) and the exp range reduction
    // y = n*ln2 + r, e^r - 1 = r + r^2*Q(r) is accurate to the last bit (no cancellation against 1), so
    //     em = e^y - 1 = 2^n * (e^r - 1) + (2^n - 1)     and     e = e^y = 2^n * (1 + (e^r - 1))
    // come from one polynomial, and tanh|x| = -em / (2 + em) = (1 - e) / (1 + e).
    // The first form is used for n >= -1 (|x| < ~0.52): em keeps full relative accuracy down to the
    // smallest |x| (for n = 0, em = e^r - 1 with r = y exactly). The second for n <= -2, where e <= 0.36
    // and 1 - e loses nothing. One division, no branches; the sign of x is copied back.

    /// Lane-wise tanh, < 2.5 ulp, exactly ±1 for |x| >= 9.1, NaN propagates.
    @inline(always) static func tanh(_ x: F8) -> F8 {
        let ax = abs(x)
        let y = -2 * select(ax .> 10, F8(repeating: 10), ax)       // in [-20, 0]; NaN stays NaN
        let (t, n, r) = expReduce(y)
        let pm1 = expm1Poly(r)                                       // e^r - 1
        let scale = pow2(t)
        let em = madd(scale, pm1, scale - 1)                         // e^y - 1
        let e = (pm1 + 1) * scale                                    // e^y
        let big = n .<= -2
        let num = select(big, 1 - e, -em)
        let den = select(big, 1 + e, 2 + em)
        let th = abs(num / den)                                      // |.| so that tanh(+0) = +0
        return float(bits(th) | (bits(x) & I8(repeating: Int32(bitPattern: 0x8000_0000))))
    }

    // MARK: - sigmoid

    /// sigmoid from e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0.
    @inline(always) static func sigmoidFromExp(_ x: F8, _ e: F8) -> F8 {
        select(x .< 0, e, F8(repeating: 1)) / (1 + e)
    }

    /// Lane-wise logistic function 1 / (1 + e^-x), < 3 ulp. Written with e = exp(-|x|) in (0, 1], so
    /// nothing overflows and tiny results for very negative x (down to the subnormals) keep their relative
    /// accuracy. sigmoid(-inf) = 0, sigmoid(+inf) = 1, NaN propagates.
    @inline(always) static func sigmoid(_ x: F8) -> F8 {
        let nx = negAbs(x)
        let e = _fastPath(all(nx .>= -87)) ? expUnchecked(nx) : expSlow(nx)
        return sigmoidFromExp(x, e)
    }

    // MARK: - SIMD16 forms (two SIMD8 halves)

    /// Lane-wise e^x on 16 lanes.
    @inline(always) static func exp(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: exp(v.lowHalf), highHalf: exp(v.highHalf))
    }

    /// Lane-wise natural logarithm on 16 lanes.
    @inline(always) static func log(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: log(v.lowHalf), highHalf: log(v.highHalf))
    }

    /// Lane-wise tanh on 16 lanes.
    @inline(always) static func tanh(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: tanh(v.lowHalf), highHalf: tanh(v.highHalf))
    }

    /// Lane-wise sigmoid on 16 lanes.
    @inline(always) static func sigmoid(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: sigmoid(v.lowHalf), highHalf: sigmoid(v.highHalf))
    }

    // MARK: - Buffer functions

    // Each loop handles 16 floats per iteration (two independent vectors; the range tests of both are
    // combined into one branch), then 8, then a padded tail (padding 1: every function maps it to a finite
    // value on its fast path).

    /// y[i] = e^x[i] for i in 0..<count. `x` and `y` may alias.
    static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 16 <= count {
            let a = load(x + i), b = load(x + i + 8)
            if _fastPath(all((abs(a) .<= 87) .& (abs(b) .<= 87))) {
                store(expUnchecked(a), y + i); store(expUnchecked(b), y + i + 8)
            } else {
                store(expSlow(a), y + i); store(expSlow(b), y + i + 8)
            }
            i &+= 16
        }
        if i &+ 8 <= count { store(exp(load(x + i)), y + i); i &+= 8 }
        if i < count { storePartial(exp(loadPartial(x + i, count &- i, pad: 1)), y + i, count &- i) }
    }

    /// y[i] = log(x[i]) (natural logarithm) for i in 0..<count. `x` and `y` may alias.
    static func log(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let lo = F8(repeating: Float.leastNormalMagnitude), hi = F8(repeating: Float.greatestFiniteMagnitude)
        var i = 0
        while i &+ 16 <= count {
            let a = load(x + i), b = load(x + i + 8)
            if _fastPath(all((a .>= lo) .& (a .<= hi) .& (b .>= lo) .& (b .<= hi))) {
                store(logNormal(a, kAdjust: F8()), y + i); store(logNormal(b, kAdjust: F8()), y + i + 8)
            } else {
                store(logSlow(a), y + i); store(logSlow(b), y + i + 8)
            }
            i &+= 16
        }
        if i &+ 8 <= count { store(log(load(x + i)), y + i); i &+= 8 }
        if i < count { storePartial(log(loadPartial(x + i, count &- i, pad: 1)), y + i, count &- i) }
    }

    /// y[i] = tanh(x[i]) for i in 0..<count. `x` and `y` may alias.
    static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 16 <= count {
            let a = tanh(load(x + i)), b = tanh(load(x + i + 8))
            store(a, y + i); store(b, y + i + 8)
            i &+= 16
        }
        if i &+ 8 <= count { store(tanh(load(x + i)), y + i); i &+= 8 }
        if i < count { storePartial(tanh(loadPartial(x + i, count &- i, pad: 1)), y + i, count &- i) }
    }

    /// y[i] = 1 / (1 + e^-x[i]) for i in 0..<count. `x` and `y` may alias.
    static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 16 <= count {
            let a = load(x + i), b = load(x + i + 8)
            let na = negAbs(a), nb = negAbs(b)
            if _fastPath(all((na .>= -87) .& (nb .>= -87))) {
                store(sigmoidFromExp(a, expUnchecked(na)), y + i); store(sigmoidFromExp(b, expUnchecked(nb)), y + i + 8)
            } else {
                store(sigmoidFromExp(a, expSlow(na)), y + i); store(sigmoidFromExp(b, expSlow(nb)), y + i + 8)
            }
            i &+= 16
        }
        if i &+ 8 <= count { store(sigmoid(load(x + i)), y + i); i &+= 8 }
        if i < count { storePartial(sigmoid(loadPartial(x + i, count &- i, pad: 1)), y + i, count &- i) }
    }

    // MARK: - Reductions

    /// Block length of `sum` and `sumOfSquares`: a block is summed with 32 float partial sums (four
    /// vectors) and block results are added in Double, so the rounding error grows with the block length,
    /// not with the count.
    static let reductionBlock = 4096

    /// Sum of `count` floats (0 for count <= 0).
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(start &+ reductionBlock, count)
            var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
            var i = start
            while i &+ 32 <= end {
                a0 += load(x + i); a1 += load(x + i + 8)
                a2 += load(x + i + 16); a3 += load(x + i + 24)
                i &+= 32
            }
            while i &+ 8 <= end { a0 += load(x + i); i &+= 8 }
            if i < end { a1 += loadPartial(x + i, end &- i, pad: 0) }
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
            let end = Swift.min(start &+ reductionBlock, count)
            var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
            var i = start
            while i &+ 32 <= end {
                let v0 = load(x + i), v1 = load(x + i + 8), v2 = load(x + i + 16), v3 = load(x + i + 24)
                a0 = madd(v0, v0, a0); a1 = madd(v1, v1, a1)
                a2 = madd(v2, v2, a2); a3 = madd(v3, v3, a3)
                i &+= 32
            }
            while i &+ 8 <= end { let v = load(x + i); a0 = madd(v, v, a0); i &+= 8 }
            if i < end { let v = loadPartial(x + i, end &- i, pad: 0); a1 = madd(v, v, a1) }
            total += Double(horizontalSum((a0 + a1) + (a2 + a3)))
            start = end
        }
        return Float(total)
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
            let v = loadPartial(x + i, count &- i, pad: -.infinity)
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
