// Plain SGD in place: p -= lr · scale · g, scale = gscale[0] when `hasscale` (clipping), else 1.
// Global size: n.
__kernel void sgd(__global float* p, __global const float* g, __global const float* gscale,
                  const int n, const float lr, const int hasscale) {
    const int i = get_global_id(0);
    if (i >= n) return;
    p[i] -= lr * (hasscale ? gscale[0] : 1.0f) * g[i];
}
