// Cross-entropy over log-softmax with label smoothing ε and a per-row weight, one work-item per
// row (global size: rows). loss = w · ((1-ε)(lse - x[t]) + ε(lse - mean(x))).
// A target outside 0..<V gives NaN. `hasw` is 0 when there are no weights (w is a dummy).

__kernel void ce_fw(__global const float* x, __global const int* t, __global const float* w,
                    __global float* loss, const int v, const float eps, const int hasw) {
    const int r = get_global_id(0);
    __global const float* xr = x + (size_t)r * v;
    const int target = t[r];
    if (target < 0 || target >= v) { loss[r] = NAN; return; }
    float m = -INFINITY, total = 0.0f;
    for (int j = 0; j < v; j++) { m = fmax(m, xr[j]); total += xr[j]; }
    float sum = 0.0f;
    for (int j = 0; j < v; j++) sum += exp(xr[j] - m);
    const float lse = m + log(sum);
    const float value = (1.0f - eps) * (lse - xr[target]) + eps * (lse - total / v);
    loss[r] = value * (hasw ? w[r] : 1.0f);
}

// dx = g · w · (softmax(x) - (1-ε)·onehot(t) - ε/V).
// Row r's loss has gradient g[r] · gscale, or g[0] · gscale when `gshared` (a scaled sum's).
__kernel void ce_bw(__global const float* x, __global const int* t, __global const float* w,
                    __global const float* g, __global float* dx, const int v, const float eps, const int hasw,
                    const int gshared, const float gscale) {
    const int r = get_global_id(0);
    __global const float* xr = x + (size_t)r * v;
    __global float* dr = dx + (size_t)r * v;
    const int target = t[r];
    if (target < 0 || target >= v) { for (int j = 0; j < v; j++) dr[j] = NAN; return; }
    const float scale = g[gshared ? 0 : r] * gscale * (hasw ? w[r] : 1.0f);
    float m = -INFINITY;
    for (int j = 0; j < v; j++) m = fmax(m, xr[j]);
    float sum = 0.0f;
    for (int j = 0; j < v; j++) { const float e = exp(xr[j] - m); dr[j] = e; sum += e; }
    const float inv = 1.0f / sum, uniform = eps / v;
    for (int j = 0; j < v; j++) dr[j] = scale * (dr[j] * inv - uniform);
    dr[target] -= scale * (1.0f - eps);
}

// ---------------------------------------------------------------------------------------------
// GPU variants: a team of T work-items per row (ROW_TEAM in common.cl), striding over the classes
// and meeting in tree reductions in local memory (`scratch`: a float per item), as the softmax's.
// Same results as ce_fw / ce_bw up to the order of the sums. (`targets`: ROW_TEAM names the item t.)

__kernel void ce_fw_wg(__global const float* x, __global const int* targets, __global const float* w,
                       __global float* loss, const int v, const float eps, const int hasw,
                       const int team, const int rows, __local float* scratch) {
    ROW_TEAM(team, rows);
    const int n = live ? v : 0;
    __global const float* xr = x + (size_t)r * v;
    float m = -INFINITY, total = 0.0f;
    for (int j = t; j < n; j += team) { m = fmax(m, xr[j]); total += xr[j]; }
    m = team_max(m, scratch, team);
    total = team_sum(total, scratch, team);
    float sum = 0.0f;
    for (int j = t; j < n; j += team) sum += exp(xr[j] - m);
    sum = team_sum(sum, scratch, team);
    if (!live || t != 0) return;
    const int target = targets[r];
    if (target < 0 || target >= v) { loss[r] = NAN; return; }
    const float lse = m + log(sum);
    const float value = (1.0f - eps) * (lse - xr[target]) + eps * (lse - total / v);
    loss[r] = value * (hasw ? w[r] : 1.0f);
}

__kernel void ce_bw_wg(__global const float* x, __global const int* targets, __global const float* w,
                       __global const float* g, __global float* dx, const int v, const float eps, const int hasw,
                       const int gshared, const float gscale, const int team, const int rows, __local float* scratch) {
    ROW_TEAM(team, rows);
    const int n = live ? v : 0;
    __global const float* xr = x + (size_t)r * v;
    __global float* dr = dx + (size_t)r * v;
    float m = -INFINITY;
    for (int j = t; j < n; j += team) m = fmax(m, xr[j]);
    m = team_max(m, scratch, team);
    float sum = 0.0f;
    for (int j = t; j < n; j += team) sum += exp(xr[j] - m);
    sum = team_sum(sum, scratch, team);
    if (!live) return;
    const int target = targets[r];
    if (target < 0 || target >= v) { for (int j = t; j < n; j += team) dr[j] = NAN; return; }
    const float scale = g[gshared ? 0 : r] * gscale * (hasw ? w[r] : 1.0f);
    const float inv = 1.0f / sum, uniform = eps / v;
    for (int j = t; j < n; j += team)
        dr[j] = scale * (exp(xr[j] - m) * inv - uniform) - (j == target ? scale * (1.0f - eps) : 0.0f);
}
