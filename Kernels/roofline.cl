// Rooflines of a device, measured by `dive bench kernels`: the arithmetic peak (independent fused
// multiply-add chains, no memory traffic) and the copy bandwidth of its global memory.

// Each work-item runs `iters` iterations of 8 independent float4 fma chains (32 fmas per
// iteration) and writes one float so the chains are not removed. a and b keep values bounded.
__kernel void fma_peak(__global float* out, const float a, const float b, const int iters) {
    const int i = get_global_id(0);
    const float s = (float)(i & 1023) * 1e-3f;
    float4 x0 = (float4)(s, s + 0.1f, s + 0.2f, s + 0.3f), x1 = x0 + 0.01f, x2 = x0 + 0.02f, x3 = x0 + 0.03f;
    float4 x4 = x0 + 0.04f, x5 = x0 + 0.05f, x6 = x0 + 0.06f, x7 = x0 + 0.07f;
    for (int n = 0; n < iters; n++) {
        x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
        x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
    }
    const float4 t = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    out[i] = (t.x + t.y) + (t.z + t.w);
}

// y[i] = x[i] over n float4s: read + write of 16·n bytes.
__kernel void copy_bw(__global const float4* x, __global float4* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = x[i];
}
