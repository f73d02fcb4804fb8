// Rooflines of a device, measured by `dive bench kernels`: the arithmetic peak (independent fused
// multiply-add chains, no memory traffic) and the copy bandwidth of its global memory.

// Each work-item runs `iters` iterations of 8 independent fma chains and writes one float so the
// chains are not removed; a and b keep the values bounded. fma_peak takes float4 chains (32 fmas
// an iteration: GPUs, whose registers are scalar); fma_peak_w float16 chains (128 fmas an
// iteration) for CPU-type devices, whose compilers keep a vector type as one SIMD register
// (float4 would use a quarter of an AVX-512 unit). The benchmark takes the faster of the two.
#define FMA8(x0, x1, x2, x3, x4, x5, x6, x7) \
    for (int n = 0; n < iters; n++) { \
        x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); \
        x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b); \
    }

__kernel void fma_peak(__global float* out, const float a, const float b, const int iters) {
    const int i = get_global_id(0);
    float4 x0 = (float4)((float)(i & 1023) * 1e-3f) + (float4)(0.0f, 0.1f, 0.2f, 0.3f);
    float4 x1 = x0 + 0.01f, x2 = x0 + 0.02f, x3 = x0 + 0.03f, x4 = x0 + 0.04f, x5 = x0 + 0.05f, x6 = x0 + 0.06f, x7 = x0 + 0.07f;
    FMA8(x0, x1, x2, x3, x4, x5, x6, x7)
    const float4 t = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    out[i] = (t.x + t.y) + (t.z + t.w);
}

__kernel void fma_peak_w(__global float* out, const float a, const float b, const int iters) {
    const int i = get_global_id(0);
    float16 x0 = (float16)((float)(i & 1023) * 1e-3f) + (float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * 0.01f;
    float16 x1 = x0 + 0.01f, x2 = x0 + 0.02f, x3 = x0 + 0.03f, x4 = x0 + 0.04f, x5 = x0 + 0.05f, x6 = x0 + 0.06f, x7 = x0 + 0.07f;
    FMA8(x0, x1, x2, x3, x4, x5, x6, x7)
    const float16 u = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    const float4 t = (u.lo.lo + u.lo.hi) + (u.hi.lo + u.hi.hi);
    out[i] = (t.x + t.y) + (t.z + t.w);
}

// y[i] = x[i] over n float4s: read + write of 16·n bytes.
__kernel void copy_bw(__global const float4* x, __global float4* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = x[i];
}
