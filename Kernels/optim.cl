// Optimiser kernels: the fused Adam/AdamW step and sums of squares for the global gradient norm.

// PyTorch's Adam on one element per work-item (global size: n). The host folds the bias
// corrections into step_size = lr / (1 - β1ᵗ) and c2root = √(1 - β2ᵗ); `decay` is 1 - lr·wd for
// AdamW and 1 for Adam, `l2` is wd for Adam and 0 for AdamW. `gscale` (one element) multiplies
// the gradient when `hasscale` (gradient clipping).
__kernel void adam(__global float* p, __global const float* g, __global float* m, __global float* v,
                   __global const float* gscale, const int n, const float b1, const float b2,
                   const float step_size, const float c2root, const float eps, const float decay,
                   const float l2, const int hasscale) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float gi = g[i] * (hasscale ? gscale[0] : 1.0f) + l2 * p[i];
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (sqrt(vi) / c2root + eps);
}

// partial[slot + w] = Σ x[i]² over i ≡ w (mod W), W = global size. Global size: W (e.g. 64).
__kernel void sumsq_part(__global const float* x, __global float* partial, const int n, const int slot) {
    const int w = get_global_id(0), width = get_global_size(0);
    float acc = 0.0f;
    for (int i = w; i < n; i += width) acc += x[i] * x[i];
    partial[slot + w] = acc;
}

// out[0] = Σ partial[0..<count]. Global size: 1.
__kernel void sum_all(__global const float* partial, __global float* out, const int count) {
    float acc = 0.0f;
    for (int i = 0; i < count; i++) acc += partial[i];
    out[0] = acc;
}
