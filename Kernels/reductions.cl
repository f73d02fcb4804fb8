// Reductions of the middle axis of x viewed as (outer, length, inner) into y (outer, inner).
// One work-item per output element; global size (inner, outer).

__kernel void r_sum(__global const float* x, __global float* y, const int length, const int inner, const float scale) {
    const int i = get_global_id(0), o = get_global_id(1);
    __global const float* p = x + (size_t)o * length * inner + i;
    float acc = 0.0f;
    for (int l = 0; l < length; l++) acc += p[(size_t)l * inner];
    y[o * inner + i] = acc * scale;
}

__kernel void r_max(__global const float* x, __global float* y, const int length, const int inner, const float unused) {
    const int i = get_global_id(0), o = get_global_id(1);
    __global const float* p = x + (size_t)o * length * inner + i;
    float best = -INFINITY;
    for (int l = 0; l < length; l++) best = fmax(best, p[(size_t)l * inner]);
    y[o * inner + i] = best;
}

// Index of the first maximum.
__kernel void r_argmax(__global const float* x, __global int* y, const int length, const int inner, const float unused) {
    const int i = get_global_id(0), o = get_global_id(1);
    __global const float* p = x + (size_t)o * length * inner + i;
    float best = -INFINITY;
    int index = 0;
    for (int l = 0; l < length; l++) {
        const float v = p[(size_t)l * inner];
        if (v > best) { best = v; index = l; }
    }
    y[o * inner + i] = index;
}
