// Elementwise ops. Unary ops and their derivatives work on 8 elements per work-item
// (global size ceil(n / 8)); the last work-item finishes the tail one element at a time.
// Each F(v, s) below is written once and works on float8 and on float alike.

#define UNARY(name, F)                                                              \
__kernel void name(__global const float* x, __global float* y, const int n, const float a) { \
    const int i = get_global_id(0) * 8;                                             \
    if (i + 8 <= n) {                                                               \
        const float8 v = vload8(0, x + i); const float8 s = (float8)(a);            \
        vstore8(F(v, s), 0, y + i);                                                 \
    } else {                                                                        \
        for (int j = i; j < n; j++) { const float v = x[j]; const float s = a; y[j] = F(v, s); } \
    }                                                                               \
}

#define F_NEG(v, s) (-(v))
#define F_EXP(v, s) exp(v)
#define F_LOG(v, s) log(v)
#define F_TANH(v, s) tanh(v)
#define F_SIGMOID(v, s) (1.0f / (1.0f + exp(-(v))))
#define F_RELU(v, s) fmax(v, 0.0f)
#define F_SQRT(v, s) sqrt(v)
#define F_ADDS(v, s) ((v) + (s))
#define F_MULS(v, s) ((v) * (s))
#define F_RSUBS(v, s) ((s) - (v))
#define F_RDIVS(v, s) ((s) / (v))
#define F_POWS(v, s) pow(v, s)

UNARY(u_neg, F_NEG)
UNARY(u_exp, F_EXP)
UNARY(u_log, F_LOG)
UNARY(u_tanh, F_TANH)
UNARY(u_sigmoid, F_SIGMOID)
UNARY(u_relu, F_RELU)
UNARY(u_sqrt, F_SQRT)
UNARY(u_adds, F_ADDS)
UNARY(u_muls, F_MULS)
UNARY(u_rsubs, F_RSUBS)
UNARY(u_rdivs, F_RDIVS)
UNARY(u_pows, F_POWS)

// y += a · x, 8 elements per work-item like the unary ops.
__kernel void axpy(__global const float* x, __global float* y, const int n, const float a) {
    const int i = get_global_id(0) * 8;
    if (i + 8 <= n) {
        vstore8(fma((float8)(a), vload8(0, x + i), vload8(0, y + i)), 0, y + i);
    } else {
        for (int j = i; j < n; j++) y[j] = fma(a, x[j], y[j]);
    }
}

// Derivatives: dx = dy · f'(x), from x or from y = f(x), whichever is cheaper.
#define UNARY_BW(name, F)                                                           \
__kernel void name(__global const float* x, __global const float* y, __global const float* dy, \
                   __global float* dx, const int n, const float a) {               \
    const int i = get_global_id(0) * 8;                                             \
    if (i + 8 <= n) {                                                               \
        const float8 xv = vload8(0, x + i), yv = vload8(0, y + i), g = vload8(0, dy + i); \
        const float8 s = (float8)(a);                                               \
        vstore8(F(xv, yv, g, s), 0, dx + i);                                        \
    } else {                                                                        \
        for (int j = i; j < n; j++) {                                               \
            const float xv = x[j], yv = y[j], g = dy[j], s = a; dx[j] = F(xv, yv, g, s); \
        }                                                                           \
    }                                                                               \
}

#define D_EXP(x, y, g, s) ((g) * (y))
#define D_LOG(x, y, g, s) ((g) / (x))
#define D_TANH(x, y, g, s) ((g) * (1.0f - (y) * (y)))
#define D_SIGMOID(x, y, g, s) ((g) * (y) * (1.0f - (y)))
#define D_RELU(x, y, g, s) select((g) * 0.0f, (g), (x) > 0.0f)
#define D_SQRT(x, y, g, s) ((g) * 0.5f / (y))
#define D_POWS(x, y, g, s) ((g) * (s) * pow(x, (s) - 1.0f))

UNARY_BW(d_exp, D_EXP)
UNARY_BW(d_log, D_LOG)
UNARY_BW(d_tanh, D_TANH)
UNARY_BW(d_sigmoid, D_SIGMOID)
UNARY_BW(d_relu, D_RELU)
UNARY_BW(d_sqrt, D_SQRT)
UNARY_BW(d_pows, D_POWS)

// Binary ops. `mode` selects the broadcast: 0 same shape, 1 b is a scalar, 2 a is a scalar.
// Global size ceil(n / 8).
#define BINARY(name, OP)                                                            \
__kernel void name(__global const float* a, __global const float* b, __global float* c, \
                   const int n, const int mode) {                                   \
    const int i = get_global_id(0) * 8;                                             \
    if (i + 8 <= n) {                                                               \
        const float8 av = mode == 2 ? (float8)(a[0]) : vload8(0, a + i);            \
        const float8 bv = mode == 1 ? (float8)(b[0]) : vload8(0, b + i);            \
        vstore8(av OP bv, 0, c + i);                                                \
    } else {                                                                        \
        for (int j = i; j < n; j++) {                                               \
            c[j] = (mode == 2 ? a[0] : a[j]) OP (mode == 1 ? b[0] : b[j]);          \
        }                                                                           \
    }                                                                               \
}

BINARY(b_add, +)
BINARY(b_sub, -)
BINARY(b_mul, *)
BINARY(b_div, /)

// General broadcasting over four collapsed dimensions `dims`, with per-operand strides
// (0 where broadcast). Global size (dims.w, dims.z, dims.x · dims.y).
#define BINARY4(name, OP)                                                           \
__kernel void name(__global const float* a, __global const float* b, __global float* c, \
                   const int4 dims, const int4 sa, const int4 sb) {                 \
    const int i3 = get_global_id(0), i2 = get_global_id(1), i01 = get_global_id(2); \
    const int i0 = i01 / dims.y, i1 = i01 % dims.y;                                 \
    const int out = ((i0 * dims.y + i1) * dims.z + i2) * dims.w + i3;               \
    c[out] = a[i0 * sa.x + i1 * sa.y + i2 * sa.z + i3 * sa.w]                       \
          OP b[i0 * sb.x + i1 * sb.y + i2 * sb.z + i3 * sb.w];                      \
}

BINARY4(g_add, +)
BINARY4(g_sub, -)
BINARY4(g_mul, *)
BINARY4(g_div, /)
