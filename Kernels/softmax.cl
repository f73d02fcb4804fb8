// The book's masked softmax, one work-item per row (global size: rows). Row r keeps its first
// lens[r / rep] entries; the rest count as the logit -1e6, so an empty row comes out uniform.
// `haslens` is 0 when there are no valid lengths (then `lens` is an unused dummy buffer).

__kernel void sm_fw(__global const float* x, __global float* y, __global const int* lens,
                    const int cols, const int rep, const int haslens) {
    const int r = get_global_id(0);
    __global const float* xr = x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;
    const int valid = haslens ? clamp(lens[r / rep], 0, cols) : cols;
    const int v8 = valid & ~7;
    // Maximum over the valid entries (8 at a time, then the tail).
    float8 m8 = (float8)(-INFINITY);
    for (int j = 0; j < v8; j += 8) m8 = fmax(m8, vload8(0, xr + j));
    float m = fmax(fmax(fmax(m8.s0, m8.s1), fmax(m8.s2, m8.s3)), fmax(fmax(m8.s4, m8.s5), fmax(m8.s6, m8.s7)));
    for (int j = v8; j < valid; j++) m = fmax(m, xr[j]);
    if (valid < cols) m = fmax(m, MASKED_LOGIT);
    // Exponentials and their sum.
    float8 s8 = (float8)(0.0f);
    for (int j = 0; j < v8; j += 8) { const float8 e = exp(vload8(0, xr + j) - m); vstore8(e, 0, yr + j); s8 += e; }
    float sum = (s8.s0 + s8.s1) + (s8.s2 + s8.s3) + (s8.s4 + s8.s5) + (s8.s6 + s8.s7);
    for (int j = v8; j < valid; j++) { const float e = exp(xr[j] - m); yr[j] = e; sum += e; }
    const float masked = exp(MASKED_LOGIT - m);
    sum += masked * (cols - valid);
    // Normalise.
    const float inv = 1.0f / sum;
    for (int j = 0; j < v8; j += 8) vstore8(vload8(0, yr + j) * inv, 0, yr + j);
    for (int j = v8; j < valid; j++) yr[j] *= inv;
    for (int j = valid; j < cols; j++) yr[j] = masked * inv;
}

// dx = y · (dy - Σ y·dy) per row, and 0 at masked positions (the forward replaced them by a constant).
__kernel void sm_bw(__global const float* y, __global const float* dy, __global float* dx,
                    __global const int* lens, const int cols, const int rep, const int haslens) {
    const int r = get_global_id(0);
    const int valid = haslens ? clamp(lens[r / rep], 0, cols) : cols;
    __global const float* yr = y + (size_t)r * cols;
    __global const float* gr = dy + (size_t)r * cols;
    __global float* dr = dx + (size_t)r * cols;
    float dot = 0.0f;
    for (int j = 0; j < cols; j++) dot += yr[j] * gr[j];
    for (int j = 0; j < valid; j++) dr[j] = yr[j] * (gr[j] - dot);
    for (int j = valid; j < cols; j++) dr[j] = 0.0f;
}

// ---------------------------------------------------------------------------------------------
// GPU variants: one work-group per row (global size rows·L, local size L, a power of two), the
// row's items striding over its columns (neighbouring items read neighbouring words) and meeting
// in tree reductions in local memory (`scratch`: L floats, common.cl). Same results as sm_fw / sm_bw.

__kernel void sm_fw_wg(__global const float* x, __global float* y, __global const int* lens,
                       const int cols, const int rep, const int haslens, __local float* scratch) {
    const int r = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    __global const float* xr = x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;
    const int valid = haslens ? clamp(lens[r / rep], 0, cols) : cols;
    float m = -INFINITY;
    for (int j = lid; j < valid; j += L) m = fmax(m, xr[j]);
    m = group_max(m, scratch);
    if (valid < cols) m = fmax(m, MASKED_LOGIT);
    float sum = 0.0f;
    for (int j = lid; j < valid; j += L) { const float e = exp(xr[j] - m); yr[j] = e; sum += e; }
    const float masked = exp(MASKED_LOGIT - m);
    sum = group_sum(sum, scratch) + masked * (cols - valid);
    const float inv = 1.0f / sum;
    for (int j = lid; j < valid; j += L) yr[j] *= inv;
    for (int j = valid + lid; j < cols; j += L) yr[j] = masked * inv;
}

__kernel void sm_bw_wg(__global const float* y, __global const float* dy, __global float* dx,
                       __global const int* lens, const int cols, const int rep, const int haslens,
                       __local float* scratch) {
    const int r = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    const int valid = haslens ? clamp(lens[r / rep], 0, cols) : cols;
    __global const float* yr = y + (size_t)r * cols;
    __global const float* gr = dy + (size_t)r * cols;
    __global float* dr = dx + (size_t)r * cols;
    float dot = 0.0f;
    for (int j = lid; j < cols; j += L) dot += yr[j] * gr[j];
    dot = group_sum(dot, scratch);
    for (int j = lid; j < valid; j += L) dr[j] = yr[j] * (gr[j] - dot);
    for (int j = valid + lid; j < cols; j += L) dr[j] = 0.0f;
}
