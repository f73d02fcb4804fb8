// One time step of PyTorch's LSTM cell (gates i, f, g, o) over a block of batch rows, forward and
// backward, on AVX2/FMA lanes with a portable loop for other CPUs and for the tail of H % 8.
// The vector exp, tanh and sigmoid follow VectorMath.swift (Cody & Waite reduction, a degree-6
// polynomial for e^r - 1, tanh through e^-2|x| - 1 so small inputs keep their relative accuracy):
// a few ulp, like the Swift kernels of the other cells.
#include "CKernels.h"
#include <math.h>

/// The scalar cell for units [j0, H) of one row: the definition the vector code follows.
static void forward_units(long j0, long H, const float *gi, const float *gh, const float *bias, const float *cPrev,
                          float *cNext, float *h, float *saved) {
    for (long j = j0; j < H; j++) {
        float pre[4];
        for (int k = 0; k < 4; k++) pre[k] = gi[k * H + j] + gh[k * H + j] + bias[k * H + j];
        float i = 1 / (1 + expf(-pre[0])), f = 1 / (1 + expf(-pre[1])), g = tanhf(pre[2]), o = 1 / (1 + expf(-pre[3]));
        float c = f * cPrev[j] + i * g;
        cNext[j] = c;
        h[j] = o * tanhf(c);
        saved[j] = i; saved[H + j] = f; saved[2 * H + j] = g; saved[3 * H + j] = o;
    }
}

static void backward_units(long j0, long H, const float *saved, const float *cPrev, const float *cNext, const float *dOut,
                           const float *dh, float *dc, float *dG, float *dG2) {
    for (long j = j0; j < H; j++) {
        float i = saved[j], f = saved[H + j], g = saved[2 * H + j], o = saved[3 * H + j];
        float dhTotal = dOut[j] + dh[j], tc = tanhf(cNext[j]);
        float dcTotal = dc[j] + dhTotal * o * (1 - tc * tc);
        float d[4] = {dcTotal * g * i * (1 - i), dcTotal * cPrev[j] * f * (1 - f), dcTotal * i * (1 - g * g),
                      dhTotal * tc * o * (1 - o)};
        for (int k = 0; k < 4; k++) { dG[k * H + j] = d[k]; if (dG2) dG2[k * H + j] = d[k]; }
        dc[j] = dcTotal * f;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VECTOR_TARGET __attribute__((target("avx2,fma")))
#define SPLAT _mm256_set1_ps

/// e^r - 1 for |r| <= ln2/2: r + r² (c2 + c3 r + c4 r² + c5 r³ + c6 r⁴), VectorMath's coefficients.
VECTOR_TARGET static inline __m256 expm1_poly(__m256 r) {
    __m256 q = _mm256_fmadd_ps(r, SPLAT(0.00138146128f), SPLAT(0.00836871006f));
    q = _mm256_fmadd_ps(q, r, SPLAT(0.041668389f));
    q = _mm256_fmadd_ps(q, r, SPLAT(0.166665211f));
    q = _mm256_fmadd_ps(q, r, SPLAT(0.49999994f));
    return _mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r);
}

/// For y in [-87, 0]: t = y·log2(e) + 1.5·2²³ (n = round(y·log2 e) in its low bits), n as a float,
/// r = y - n·ln2 in two steps, and 2ⁿ from t's bits.
VECTOR_TARGET static inline __m256 exp_parts(__m256 y, __m256 *n, __m256 *scale) {
    const __m256 shifter = SPLAT(12582912.0f);
    __m256 t = _mm256_fmadd_ps(y, SPLAT(1.44269504f), shifter);
    *n = _mm256_sub_ps(t, shifter);
    __m256 r = _mm256_fnmadd_ps(*n, SPLAT(0.693145751953125f), y);
    r = _mm256_fnmadd_ps(*n, SPLAT(1.428606820309417e-6f), r);
    __m256i e = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(127 << 23));
    *scale = _mm256_castsi256_ps(e);
    return r;
}

/// e^y for y <= 0; y below -87 gives e^-87 (the sigmoid it feeds is then below 2e-38 either way).
VECTOR_TARGET static inline __m256 exp_nonpositive(__m256 y) {
    __m256 n, scale;
    __m256 r = exp_parts(_mm256_max_ps(SPLAT(-87.0f), y), &n, &scale);   // NaN stays NaN
    return _mm256_mul_ps(_mm256_add_ps(expm1_poly(r), SPLAT(1)), scale);
}

VECTOR_TARGET static inline __m256 sigmoid8(__m256 x) {
    const __m256 sign = SPLAT(-0.0f);
    __m256 e = exp_nonpositive(_mm256_or_ps(x, sign));                   // e^-|x|
    __m256 num = _mm256_blendv_ps(SPLAT(1), e, x);                       // x < 0 (sign bit set): e
    return _mm256_div_ps(num, _mm256_add_ps(SPLAT(1), e));
}

/// tanh|x| = -(e^y - 1) / (2 + e^y - 1) with y = -2|x| (clamped at -20, where tanh is 1 in floats);
/// (1 - e^y) / (1 + e^y) once n <= -2, where e^y - 1 no longer loses digits. The sign is copied back.
VECTOR_TARGET static inline __m256 tanh8(__m256 x) {
    const __m256 sign = SPLAT(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 y = _mm256_mul_ps(SPLAT(-2), _mm256_min_ps(SPLAT(10), ax));   // NaN stays NaN
    __m256 n, scale;
    __m256 r = exp_parts(y, &n, &scale);
    __m256 pm1 = expm1_poly(r);
    __m256 em = _mm256_fmadd_ps(scale, pm1, _mm256_sub_ps(scale, SPLAT(1)));   // e^y - 1
    __m256 e = _mm256_mul_ps(_mm256_add_ps(pm1, SPLAT(1)), scale);              // e^y
    __m256 big = _mm256_cmp_ps(n, SPLAT(-2), _CMP_LE_OQ);
    __m256 num = _mm256_blendv_ps(_mm256_sub_ps(_mm256_setzero_ps(), em), _mm256_sub_ps(SPLAT(1), e), big);
    __m256 den = _mm256_blendv_ps(_mm256_add_ps(SPLAT(2), em), _mm256_add_ps(SPLAT(1), e), big);
    __m256 th = _mm256_andnot_ps(sign, _mm256_div_ps(num, den));
    return _mm256_or_ps(th, _mm256_and_ps(x, sign));
}

#define LD _mm256_loadu_ps
#define ST _mm256_storeu_ps
#define ONE SPLAT(1)

VECTOR_TARGET static void forward_vector(long rows, long H, const float *gi, const float *gh, const float *bias,
                                         const float *cPrev, float *cNext, float *h, float *hCopy, float *saved) {
    long H8 = H - H % 8;
    for (long b = 0; b < rows; b++) {
        const float *x = gi + b * 4 * H, *y = gh + b * 4 * H;
        float *sv = saved + b * 4 * H;
        for (long j = 0; j < H8; j += 8) {
#define PRE(k) _mm256_add_ps(_mm256_add_ps(LD(x + (k) * H + j), LD(y + (k) * H + j)), LD(bias + (k) * H + j))
            __m256 i = sigmoid8(PRE(0)), f = sigmoid8(PRE(1)), g = tanh8(PRE(2)), o = sigmoid8(PRE(3));
#undef PRE
            __m256 c = _mm256_fmadd_ps(f, LD(cPrev + b * H + j), _mm256_mul_ps(i, g));
            __m256 hv = _mm256_mul_ps(o, tanh8(c));
            ST(cNext + b * H + j, c);
            ST(h + b * H + j, hv);
            if (hCopy) ST(hCopy + b * H + j, hv);
            ST(sv + j, i); ST(sv + H + j, f); ST(sv + 2 * H + j, g); ST(sv + 3 * H + j, o);
        }
        forward_units(H8, H, x, y, bias, cPrev + b * H, cNext + b * H, h + b * H, sv);
        if (hCopy) for (long j = H8; j < H; j++) hCopy[b * H + j] = h[b * H + j];
    }
}

VECTOR_TARGET static void backward_vector(long rows, long H, const float *saved, const float *cPrev, const float *cNext,
                                          const float *dOut, const float *dh, float *dc, float *dG, float *dG2) {
    long H8 = H - H % 8;
    for (long b = 0; b < rows; b++) {
        const float *sv = saved + b * 4 * H;
        float *d = dG + b * 4 * H, *d2 = dG2 ? dG2 + b * 4 * H : 0;
        for (long j = 0; j < H8; j += 8) {
            long e = b * H + j;
            __m256 i = LD(sv + j), f = LD(sv + H + j), g = LD(sv + 2 * H + j), o = LD(sv + 3 * H + j);
            __m256 dhTotal = _mm256_add_ps(LD(dOut + e), LD(dh + e));
            __m256 tc = tanh8(LD(cNext + e));
            __m256 dTanh = _mm256_fnmadd_ps(tc, tc, ONE);                            // 1 - tanh²c
            __m256 dcTotal = _mm256_fmadd_ps(_mm256_mul_ps(dhTotal, o), dTanh, LD(dc + e));
            __m256 gates[4] = {
                _mm256_mul_ps(_mm256_mul_ps(dcTotal, g), _mm256_mul_ps(i, _mm256_sub_ps(ONE, i))),
                _mm256_mul_ps(_mm256_mul_ps(dcTotal, LD(cPrev + e)), _mm256_mul_ps(f, _mm256_sub_ps(ONE, f))),
                _mm256_mul_ps(_mm256_mul_ps(dcTotal, i), _mm256_fnmadd_ps(g, g, ONE)),
                _mm256_mul_ps(_mm256_mul_ps(dhTotal, tc), _mm256_mul_ps(o, _mm256_sub_ps(ONE, o))),
            };
            for (int k = 0; k < 4; k++) { ST(d + k * H + j, gates[k]); if (d2) ST(d2 + k * H + j, gates[k]); }
            ST(dc + e, _mm256_mul_ps(dcTotal, f));
        }
        backward_units(H8, H, sv, cPrev + b * H, cNext + b * H, dOut + b * H, dh + b * H, dc + b * H, d, d2);
    }
}

static int vectorised(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
static int vectorised(void) { return 0; }
#endif

void dive_lstm_cell_forward(long rows, long H, const float *gi, const float *gh, const float *bias, const float *cPrev,
                            float *cNext, float *h, float *hCopy, float *saved) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (vectorised()) { forward_vector(rows, H, gi, gh, bias, cPrev, cNext, h, hCopy, saved); return; }
#endif
    for (long b = 0; b < rows; b++) {
        forward_units(0, H, gi + b * 4 * H, gh + b * 4 * H, bias, cPrev + b * H, cNext + b * H, h + b * H, saved + b * 4 * H);
        if (hCopy) for (long j = 0; j < H; j++) hCopy[b * H + j] = h[b * H + j];
    }
}

void dive_lstm_cell_backward(long rows, long H, const float *saved, const float *cPrev, const float *cNext,
                             const float *dOut, const float *dh, float *dc, float *dG, float *dG2) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (vectorised()) { backward_vector(rows, H, saved, cPrev, cNext, dOut, dh, dc, dG, dG2); return; }
#endif
    for (long b = 0; b < rows; b++)
        backward_units(0, H, saved + b * 4 * H, cPrev + b * H, cNext + b * H, dOut + b * H, dh + b * H, dc + b * H,
                       dG + b * 4 * H, dG2 ? dG2 + b * 4 * H : 0);
}
