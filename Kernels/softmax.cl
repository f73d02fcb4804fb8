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
// GPU variants: a team of T work-items per row (ROW_TEAM in common.cl: one row per work-group when
// T is the group's size, several short rows per group otherwise), the team's items striding over
// the row's columns (neighbouring items read neighbouring words) and meeting in tree reductions in
// local memory (`scratch`: a float per item). Same results as sm_fw / sm_bw.

__kernel void sm_fw_wg(__global const float* x, __global float* y, __global const int* lens,
                       const int cols, const int rep, const int haslens, const int team, const int rows,
                       __local float* scratch) {
    ROW_TEAM(team, rows);
    const int n = live ? cols : 0;
    __global const float* xr = x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;
    const int valid = !live ? 0 : (haslens ? clamp(lens[r / rep], 0, cols) : cols);
    float m = -INFINITY;
    for (int j = t; j < valid; j += team) m = fmax(m, xr[j]);
    m = team_max(m, scratch, team);
    if (valid < n) m = fmax(m, MASKED_LOGIT);
    float sum = 0.0f;
    for (int j = t; j < valid; j += team) { const float e = exp(xr[j] - m); yr[j] = e; sum += e; }
    const float masked = exp(MASKED_LOGIT - m);
    sum = team_sum(sum, scratch, team) + masked * (n - valid);
    const float inv = 1.0f / sum;
    for (int j = t; j < valid; j += team) yr[j] *= inv;
    for (int j = valid + t; j < n; j += team) yr[j] = masked * inv;
}

__kernel void sm_bw_wg(__global const float* y, __global const float* dy, __global float* dx,
                       __global const int* lens, const int cols, const int rep, const int haslens,
                       const int team, const int rows, __local float* scratch) {
    ROW_TEAM(team, rows);
    const int n = live ? cols : 0;
    const int valid = !live ? 0 : (haslens ? clamp(lens[r / rep], 0, cols) : cols);
    __global const float* yr = y + (size_t)r * cols;
    __global const float* gr = dy + (size_t)r * cols;
    __global float* dr = dx + (size_t)r * cols;
    float dot = 0.0f;
    for (int j = t; j < n; j += team) dot += yr[j] * gr[j];
    dot = team_sum(dot, scratch, team);
    for (int j = t; j < valid; j += team) dr[j] = yr[j] * (gr[j] - dot);
    for (int j = valid + t; j < n; j += team) dr[j] = 0.0f;
}
