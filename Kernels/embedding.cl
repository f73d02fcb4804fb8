// Embedding gather and its backward scatter-add. Indices outside the table give zero rows
// forward and are skipped backward.

// out[n, c] = table[idx[n], c]. Global size (D, N).
__kernel void emb_fw(__global const float* table, __global const int* idx, __global float* out,
                     const int d, const int rows) {
    const int c = get_global_id(0), n = get_global_id(1);
    const int i = idx[n];
    out[(size_t)n * d + c] = (i >= 0 && i < rows) ? table[(size_t)i * d + c] : 0.0f;
}

// dTable = 0; dTable[idx[n], c] += dOut[n, c]. One work-item per column c owns that column,
// so the sums need no atomics and come out in the same order every run. Global size (D).
__kernel void emb_bw(__global const float* dout, __global const int* idx, __global float* dtable,
                     const int d, const int rows, const int count) {
    const int c = get_global_id(0);
    for (int r = 0; r < rows; r++) dtable[(size_t)r * d + c] = 0.0f;
    for (int n = 0; n < count; n++) {
        const int i = idx[n];
        if (i >= 0 && i < rows) dtable[(size_t)i * d + c] += dout[(size_t)n * d + c];
    }
}
