// The book's masked softmax, one work-item per row (global size: rows). Row r keeps its first
// lens[r / rep] entries; the rest count as the logit -1e6, so an empty row comes out uniform.
// `haslens` is 0 when there are no valid lengths (then `lens` is an unused dummy buffer).

#define MASKED_LOGIT -1e6f

__kernel void sm_fw(__global const float* x, __global float* y, __global const int* lens,
                    const int cols, const int rep, const int haslens) {
    const int r = get_global_id(0);
    __global const float* xr = x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;
    const int valid = haslens ? clamp(lens[r / rep], 0, cols) : cols;
    float m = valid < cols ? MASKED_LOGIT : -INFINITY;
    for (int j = 0; j < valid; j++) m = fmax(m, xr[j]);
    float sum = 0.0f;
    for (int j = 0; j < valid; j++) { const float e = exp(xr[j] - m); yr[j] = e; sum += e; }
    const float masked = exp(MASKED_LOGIT - m);
    sum += masked * (cols - valid);
    const float inv = 1.0f / sum;
    for (int j = 0; j < valid; j++) yr[j] *= inv;
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
