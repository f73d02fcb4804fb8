// Data movement: fills and the strided copy that implements permute, slice and concat.
// Elements are moved as 32-bit words (Float32 and Int32 alike).

__kernel void fill_f(__global float* y, const float value, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = value;
}

__kernel void fill_i(__global int* y, const int value, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = value;
}

// y[doff + i·ds] = x[soff + i·ss] over a 4-D index i = (i0, i1, i2, i3) < shape.
// Global size: (shape.w, shape.z, shape.x · shape.y); one work-item per element.
__kernel void copy4(__global const uint* x, __global uint* y, const int4 shape,
                    const int4 ss, const int4 ds, const int soff, const int doff) {
    const int i3 = get_global_id(0), i2 = get_global_id(1), i01 = get_global_id(2);
    const int i0 = i01 / shape.y, i1 = i01 % shape.y;
    y[doff + i0 * ds.x + i1 * ds.y + i2 * ds.z + i3 * ds.w] = x[soff + i0 * ss.x + i1 * ss.y + i2 * ss.z + i3 * ss.w];
}
