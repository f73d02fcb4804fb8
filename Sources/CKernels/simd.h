// The lanes every CPU kernel is written in: 8 floats as a Clang/GCC vector (`f8`), with loads,
// stores, selects and horizontal folds, and the vector exp, log, tanh and sigmoid. kernels.inc
// includes this once per CPU path; the path's target (AVX2+FMA, or the baseline of the
// architecture) decides the instructions: one 256-bit register, or two 128-bit halves.
//
// exp: x = n·ln2 + r with n = round(x·log2 e) through the shifter 1.5·2²³ and r in two steps
// (Cody & Waite: ln2Hi has 16 significant bits, so n·ln2Hi is exact for |n| < 256); e^r - 1 is a
// degree-6 polynomial with the first two Taylor coefficients kept (minimax of the relative error,
// 3.8e-9), so small r stays exact. log: x = 2^k·m with m in [√½, √2), f = m - 1, s = f/(2 + f),
// log(1 + f) = f - f²/2 + s(f²/2 + R(s²)) with R of degree 3 (8.6e-10). tanh|x| from one exp
// polynomial at y = -2|x|: -(e^y - 1)/(2 + e^y - 1) while n ≥ -1, (1 - e^y)/(1 + e^y) below.
// Measured against double references (every 61st float bit pattern and 6M random arguments):
// exp 1.0 ulp, log 0.83 ulp, tanh 2.25 ulp, sigmoid 2.35 ulp, on either path.
#ifndef DIVE_SIMD_H
#define DIVE_SIMD_H

#include <string.h>

typedef float f8 __attribute__((vector_size(32)));
typedef int i8 __attribute__((vector_size(32)));
typedef float f4 __attribute__((vector_size(16)));
typedef float f2 __attribute__((vector_size(8)));

#define INLINE static inline __attribute__((always_inline))

INLINE f8 splat(float s) { return (f8){s, s, s, s, s, s, s, s}; }
INLINE i8 bits(f8 v) { return (i8)v; }
INLINE f8 floats(i8 v) { return (f8)v; }

/// a·b + c: one fused instruction on the FMA path (DIVE_FMA), a multiply and an add elsewhere.
INLINE f8 madd(f8 a, f8 b, f8 c) {
#ifdef DIVE_FMA
    return __builtin_elementwise_fma(a, b, c);
#else
    return a * b + c;
#endif
}

/// Lane-wise m ? a : b, for masks from comparisons (every bit of a lane set or clear).
INLINE f8 select(i8 m, f8 a, f8 b) { return floats((m & bits(a)) | (~m & bits(b))); }
INLINE int all(i8 m) { return __builtin_reduce_and(m) != 0; }
INLINE f8 vabs(f8 v) { return floats(bits(v) & 0x7FFFFFFF); }
INLINE f8 neg_abs(f8 v) { return floats(bits(v) | (int)0x80000000); }

INLINE f8 load(const float *p) { f8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store(f8 v, float *p) { memcpy(p, &v, sizeof v); }

/// The first n (< 8) floats of p; the other lanes are `pad`.
INLINE f8 load_partial(const float *p, long n, float pad) {
    f8 v = splat(pad);
    for (long j = 0; j < n; j++) v[j] = p[j];
    return v;
}

INLINE void store_partial(f8 v, float *p, long n) {
    for (long j = 0; j < n; j++) p[j] = v[j];
}

/// n ≤ 8 lanes from p (padded with 0), and their store: one code path for whole and tail vectors.
INLINE f8 load_n(const float *p, long n) { return n == 8 ? load(p) : load_partial(p, n, 0); }
INLINE void store_n(f8 v, float *p, long n) { if (n == 8) store(v, p); else store_partial(v, p, n); }

/// Horizontal sum as a tree (8 → 4 → 2 → 1).
INLINE float hsum(f8 v) {
    f4 a = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    f2 b = __builtin_shufflevector(a, a, 0, 1) + __builtin_shufflevector(a, a, 2, 3);
    return b[0] + b[1];
}

/// Horizontal maximum and minimum of lanes that hold no NaN.
INLINE float hmax(f8 v) { float m = v[0]; for (int j = 1; j < 8; j++) m = v[j] > m ? v[j] : m; return m; }
INLINE float hmin(f8 v) { float m = v[0]; for (int j = 1; j < 8; j++) m = v[j] < m ? v[j] : m; return m; }

// MARK: exp

#define EXP_SHIFTER 12582912.0f              // 1.5·2²³
#define LOG2E 1.44269504f
#define LN2_HI 0.693145751953125f            // 0x3F317200, 16 significant bits
#define LN2_LO 1.428606820309417e-6f         // ln2 - LN2_HI

/// e^r - 1 for |r| ≤ ln2/2 (with a little slack), without cancellation for small r.
INLINE f8 expm1_poly(f8 r) {
    f8 q = madd(r, splat(0.00138146128f), splat(0.00836871006f));
    q = madd(q, r, splat(0.041668389f));
    q = madd(q, r, splat(0.166665211f));
    q = madd(q, r, splat(0.49999994f));
    return madd(r * r, q, r);
}

/// t = x·log2 e + shifter (n in its low bits), n = round(x·log2 e) as a float, r = x - n·ln2.
INLINE f8 exp_reduce(f8 x, f8 *t, f8 *n) {
    *t = madd(x, splat(LOG2E), splat(EXP_SHIFTER));
    *n = *t - EXP_SHIFTER;
    return madd(*n, splat(-LN2_LO), madd(*n, splat(-LN2_HI), x));
}

/// 2ⁿ from t = n + shifter, n in [-126, 127]: shifting by 23 drops the shifter's bits.
INLINE f8 pow2(f8 t) { return floats((bits(t) << 23) + (127 << 23)); }

/// e^x for |x| ≤ 87 (NaN gives NaN); < 1 ulp.
INLINE f8 exp_unchecked(f8 x) {
    f8 t, n, r = exp_reduce(x, &t, &n);
    return (expm1_poly(r) + 1) * pow2(t);
}

/// e^x anywhere: clamped to [-104, 89] (NaN kept), 2ⁿ applied as two normal factors so the result
/// overflows to +inf or rounds into the subnormals with one rounding.
static __attribute__((noinline)) f8 exp_slow(f8 x) {
    f8 xc = select(x > 89, splat(89), x);
    xc = select(xc < -104, splat(-104), xc);
    f8 t, n, r = exp_reduce(xc, &t, &n);
    i8 ni = bits(t) - bits(splat(EXP_SHIFTER));
    i8 n1 = ni >> 1, n2 = ni - n1;
    return ((expm1_poly(r) + 1) * floats((n1 + 127) << 23)) * floats((n2 + 127) << 23);
}

INLINE int exp_in_range(f8 x) { return all(vabs(x) <= 87); }
INLINE f8 vexp(f8 x) { return __builtin_expect(exp_in_range(x), 1) ? exp_unchecked(x) : exp_slow(x); }

// MARK: log

#define SQRT_HALF_BITS 0x3F3504F3            // √½

/// log x for positive normal finite x; `k_adjust` is added to the exponent (prescaled subnormals).
INLINE f8 log_normal(f8 x, f8 k_adjust) {
    i8 ix = bits(x) - SQRT_HALF_BITS;
    i8 k = ix >> 23;                                              // arithmetic: k may be < 0
    f8 m = floats((ix & 0x007FFFFF) + SQRT_HALF_BITS);
    f8 kf = (floats(k + bits(splat(EXP_SHIFTER))) - EXP_SHIFTER) + k_adjust;
    f8 f = m - 1, s = f / (f + 2), z = s * s;
    f8 rz = z * madd(madd(z, splat(0.29871729f), splat(0.399775416f)), z, splat(0.666667759f));
    f8 hfsq = 0.5f * f * f;
    f8 lo = madd(kf, splat(LN2_LO), s * (hfsq + rz));
    return madd(kf, splat(LN2_HI), (lo - hfsq) + f);
}

INLINE int log_in_range(f8 x) { return all((x >= 1.17549435e-38f) & (x <= 3.40282347e38f)); }

/// log of subnormals (scaled by 2²³ first), zeros (-inf), negatives (NaN), +inf and NaN.
static __attribute__((noinline)) f8 log_slow(f8 x) {
    i8 sub = x < 1.17549435e-38f;
    f8 xs = select(sub, x * 8388608.0f, x);
    f8 k_adjust = select(sub, splat(-23), splat(0));
    i8 ok = (x > 0) & (x < __builtin_inff());
    f8 y = log_normal(select(ok, xs, splat(1)), k_adjust);
    y = select(ok, y, x + x);                                     // +inf → +inf, NaN → NaN
    y = select(x == 0, splat(-__builtin_inff()), y);
    return select(x < 0, splat(__builtin_nanf("")), y);
}

INLINE f8 vlog(f8 x) { return __builtin_expect(log_in_range(x), 1) ? log_normal(x, splat(0)) : log_slow(x); }

// MARK: tanh and sigmoid

/// tanh, < 2.5 ulp, exactly ±1 for |x| ≥ 9.1, NaN propagates; the sign of x is copied back.
INLINE f8 vtanh(f8 x) {
    f8 ax = vabs(x);
    f8 y = -2 * select(ax > 10, splat(10), ax);                  // [-20, 0]; NaN stays NaN
    f8 t, n, r = exp_reduce(y, &t, &n);
    f8 pm1 = expm1_poly(r), scale = pow2(t);
    f8 em = madd(scale, pm1, scale - 1);                          // e^y - 1
    f8 e = (pm1 + 1) * scale;                                     // e^y
    i8 big = n <= -2;
    f8 th = vabs(select(big, 1 - e, -em) / select(big, 1 + e, 2 + em));
    return floats(bits(th) | (bits(x) & (int)0x80000000));
}

/// sigmoid from e = e^-|x|: 1/(1 + e) for x ≥ 0, e/(1 + e) below.
INLINE f8 sigmoid_from_exp(f8 x, f8 e) { return select(x < 0, e, splat(1)) / (1 + e); }

/// 1/(1 + e^-x), < 3 ulp, through e^-|x| in (0, 1] so nothing overflows.
INLINE f8 vsigmoid(f8 x) {
    f8 nx = neg_abs(x);
    return sigmoid_from_exp(x, __builtin_expect(all(nx >= -87), 1) ? exp_unchecked(nx) : exp_slow(nx));
}

#endif
