// Optimiser kernels over many parameters per launch: SGD, Adam/AdamW and the global gradient
// norm (for clipping) each take a table of up to 16 tensors (slots) and run them all in one launch
// over a (width, slots) grid; the host launches once per 16 parameters (the whole table of Adam's
// arguments is about 620 bytes, within OpenCL's minimum of 1024). Unused slots have n = 0.
// `gscale` (one element) multiplies every gradient when `hasscale`: the clipping scale, computed
// on the device by norm_final, so no step reads the norm back to the host.

#define SLOT_PTR(T, name) T name##0, T name##1, T name##2, T name##3, T name##4, T name##5, T name##6, T name##7, \
    T name##8, T name##9, T name##10, T name##11, T name##12, T name##13, T name##14, T name##15
#define SLOT_N const int n0, const int n1, const int n2, const int n3, const int n4, const int n5, const int n6, \
    const int n7, const int n8, const int n9, const int n10, const int n11, const int n12, const int n13, const int n14, const int n15
#define PICK(dst, name) switch (slot) { case 0: dst = name##0; break; case 1: dst = name##1; break; \
    case 2: dst = name##2; break; case 3: dst = name##3; break; case 4: dst = name##4; break;     \
    case 5: dst = name##5; break; case 6: dst = name##6; break; case 7: dst = name##7; break;     \
    case 8: dst = name##8; break; case 9: dst = name##9; break; case 10: dst = name##10; break;   \
    case 11: dst = name##11; break; case 12: dst = name##12; break; case 13: dst = name##13; break; \
    case 14: dst = name##14; break; default: dst = name##15; }

// Plain SGD in place: p -= lr · scale · g.
__kernel void sgd_n(SLOT_PTR(__global float*, p), SLOT_PTR(__global const float*, g), SLOT_N,
                    __global const float* gscale, STEP_ARG(lr_bits), const int hasscale) {
    STEP_VALUE(lr_bits);
    const float lr = as_float((uint)lr_bits);
    const int slot = get_global_id(1);
    __global float* p; __global const float* g; int n;
    PICK(p, p) PICK(g, g) PICK(n, n)
    const float step = lr * (hasscale ? gscale[0] : 1.0f);
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) p[i] -= step * g[i];
}

// PyTorch's Adam. The host folds the bias corrections into step_size = lr / (1 - β1ᵗ) and
// c2root = √(1 - β2ᵗ); `decay` is 1 - lr·wd for AdamW and 1 for Adam, `l2` is wd for Adam and 0
// for AdamW. The three change from step to step, so they come as one step value of float bits each.
__kernel void adam_n(SLOT_PTR(__global float*, p), SLOT_PTR(__global const float*, g),
                     SLOT_PTR(__global float*, m), SLOT_PTR(__global float*, v), SLOT_N,
                     __global const float* gscale, const float b1, const float b2, STEP_ARG(step_bits),
                     STEP_ARG(c2root_bits), const float eps, STEP_ARG(decay_bits), const float l2, const int hasscale) {
    STEP_VALUE(step_bits); STEP_VALUE(c2root_bits); STEP_VALUE(decay_bits);
    const float step_size = as_float((uint)step_bits), c2root = as_float((uint)c2root_bits), decay = as_float((uint)decay_bits);
    const int slot = get_global_id(1);
    __global float* p; __global const float* g; __global float* m; __global float* v; int n;
    PICK(p, p) PICK(g, g) PICK(m, m) PICK(v, v) PICK(n, n)
    const float s = hasscale ? gscale[0] : 1.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        const float gi = g[i] * s + l2 * p[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (sqrt(vi) / c2root + eps);
    }
}

// partial[(base + slot) · W + w] = Σ x[i]² over i ≡ w (mod W), W = the grid's width.
__kernel void sumsq_n(SLOT_PTR(__global const float*, x), SLOT_N, __global float* partial, const int base) {
    const int slot = get_global_id(1), w = get_global_id(0), width = get_global_size(0);
    __global const float* x; int n;
    PICK(x, x) PICK(n, n)
    float acc = 0.0f;
    for (int i = w; i < n; i += width) acc = fma(x[i], x[i], acc);
    partial[(base + slot) * width + w] = acc;
}

// One work-group (local size a power of two, LOCAL): s = Σ partial[0..<count] by a tree in local
// memory; out[0] = √s, or with maxnorm > 0 the clipping scale maxnorm / max(√s, maxnorm)
// (1 when the norm is NaN, as on the CPU).
__kernel void norm_final(__global const float* partial, __global float* out, const int count,
                         const float maxnorm, __local float* sums) {
    const int lid = get_local_id(0), L = get_local_size(0);
    float acc = 0.0f;
    for (int i = lid; i < count; i += L) acc += partial[i];
    sums[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = L / 2; span > 0; span /= 2) {
        if (lid < span) sums[lid] += sums[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        const float norm = sqrt(sums[0]);
        out[0] = maxnorm > 0.0f ? (norm > maxnorm ? maxnorm / norm : 1.0f) : norm;
    }
}
