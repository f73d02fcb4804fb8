// Embedding gather and its backward scatter-add, with the transformer's chain fused in: the rows
// scaled, positions added and dropout applied (mask of stream (seed, offset) at element n·D + c).
// Indices outside the table give zero rows forward and are skipped backward.

// out[n, c] = (table[idx[n], c] · scale + pos[n % steps, c]) · drop factor; steps = 0: no
// positions. Global size (D, N).
__kernel void emb_fw(__global const float* table, __global const int* idx, __global float* out,
                     const int d, const int rows, const float scale, __global const float* pos, const int steps,
                     const float dp, const ulong seed, STEP_ARG(offset)) {
    STEP_VALUE(offset);
    const int c = get_global_id(0), n = get_global_id(1);
    const int i = idx[n];
    const size_t e = (size_t)n * d + c;
    float x = (i >= 0 && i < rows) ? table[(size_t)i * d + c] * scale : 0.0f;
    if (steps > 0) x += pos[(size_t)(n % steps) * d + c];
    out[e] = x * drop_factor(dp, seed, offset, e);
}

// dTable = 0; dTable[idx[n], c] += dOut[n, c] · drop factor · scale. One work-item per column c
// owns that column, so the sums need no atomics and come out in the same order every run.
// Global size (D).
__kernel void emb_bw(__global const float* dout, __global const int* idx, __global float* dtable,
                     const int d, const int rows, const int count, const float scale,
                     const float dp, const ulong seed, STEP_ARG(offset)) {
    STEP_VALUE(offset);
    const int c = get_global_id(0);
    for (int r = 0; r < rows; r++) dtable[(size_t)r * d + c] = 0.0f;
    for (int n = 0; n < count; n++) {
        const int i = idx[n];
        const size_t e = (size_t)n * d + c;
        if (i >= 0 && i < rows) dtable[(size_t)i * d + c] += dout[e] * drop_factor(dp, seed, offset, e) * scale;
    }
}
