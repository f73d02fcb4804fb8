// Layer normalisation over rows of `cols`, biased variance (as PyTorch). The forward runs one
// work-item (or, _wg, one work-group) per row. The backward is one launch doing two independent
// things: the input gradient, per row as the forward, then the γ and β gradients, one column per
// work-item (columns dealt out over all work-items), so no two work-items write the same element.
// With `hasres` the forward normalises z = x + dropout(res) (the Transformer's AddNorm in one
// launch), writing z for the backward, and the input gradient also writes dres = dropout(dz).

// z = x + dropout(res) for row r (elements lid, lid + L, ...), written to z; returns z's row.
inline __global const float* residual_row(__global const float* x, __global const float* res, __global float* z,
                                          const int r, const int cols, const int lid, const int L,
                                          const float dp, const ulong seed, const ulong offset) {
    const size_t base = (size_t)r * cols;
    for (int j = lid; j < cols; j += L) z[base + j] = x[base + j] + res[base + j] * drop_factor(dp, seed, offset, base + j);
    return z + base;
}

__kernel void ln_fw(__global const float* x, __global const float* gamma, __global const float* beta,
                    __global float* y, __global float* mean, __global float* rstd, const int cols, const float eps,
                    __global const float* res, __global float* z, const int hasres,
                    const float dp, const ulong seed, STEP_ARG(offset)) {
    STEP_VALUE(offset);
    const int r = get_global_id(0);
    __global const float* xr = hasres ? residual_row(x, res, z, r, cols, 0, 1, dp, seed, offset) : x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;
    const int c8 = cols & ~7;
    float8 s8 = (float8)(0.0f);
    for (int j = 0; j < c8; j += 8) s8 += vload8(0, xr + j);
    float mu = (s8.s0 + s8.s1) + (s8.s2 + s8.s3) + (s8.s4 + s8.s5) + (s8.s6 + s8.s7);
    for (int j = c8; j < cols; j++) mu += xr[j];
    mu /= cols;
    float8 q8 = (float8)(0.0f);
    for (int j = 0; j < c8; j += 8) { const float8 d = vload8(0, xr + j) - mu; q8 += d * d; }
    float var = (q8.s0 + q8.s1) + (q8.s2 + q8.s3) + (q8.s4 + q8.s5) + (q8.s6 + q8.s7);
    for (int j = c8; j < cols; j++) { const float d = xr[j] - mu; var += d * d; }
    const float inv = rsqrt(var / cols + eps);
    for (int j = 0; j < c8; j += 8)
        vstore8((vload8(0, xr + j) - mu) * inv * vload8(0, gamma + j) + vload8(0, beta + j), 0, yr + j);
    for (int j = c8; j < cols; j++) yr[j] = (xr[j] - mu) * inv * gamma[j] + beta[j];
    mean[r] = mu;
    rstd[r] = inv;
}

// dx = rstd · (dŷ - mean(dŷ) - x̂ · mean(dŷ · x̂)), dŷ = dy · γ.
// dγ_j = Σ_r dy_rj · x̂_rj and dβ_j = Σ_r dy_rj for column j.
inline void column_sums(__global const float* x, __global const float* dy, __global const float* mean,
                        __global const float* rstd, __global float* dgamma, __global float* dbeta,
                        const int rows, const int cols, const int j) {
    float g = 0.0f, b = 0.0f;
    for (int r = 0; r < rows; r++) {
        const size_t i = (size_t)r * cols + j;
        g += dy[i] * (x[i] - mean[r]) * rstd[r];
        b += dy[i];
    }
    dgamma[j] = g;
    dbeta[j] = b;
}

// Global size rows: work-item r writes row r of dx (and dres), then columns r, r + rows, ... of
// dγ and dβ.
__kernel void ln_bw(__global const float* x, __global const float* dy, __global const float* gamma,
                    __global const float* mean, __global const float* rstd, __global float* dx, const int cols,
                    __global float* dres, const int hasres, const float dp, const ulong seed, STEP_ARG(offset),
                    __global float* dgamma, __global float* dbeta, const int rows) {
    STEP_VALUE(offset);
    const int r = get_global_id(0);
    for (int j = r; j < cols; j += rows) column_sums(x, dy, mean, rstd, dgamma, dbeta, rows, cols, j);
    __global const float* xr = x + (size_t)r * cols;
    __global const float* gr = dy + (size_t)r * cols;
    __global float* dr = dx + (size_t)r * cols;
    const float mu = mean[r], inv = rstd[r];
    float meanD = 0.0f, meanDX = 0.0f;
    for (int j = 0; j < cols; j++) {
        const float d = gr[j] * gamma[j];
        meanD += d;
        meanDX += d * (xr[j] - mu) * inv;
    }
    meanD /= cols;
    meanDX /= cols;
    for (int j = 0; j < cols; j++) dr[j] = inv * (gr[j] * gamma[j] - meanD - (xr[j] - mu) * inv * meanDX);
    if (hasres) {
        const size_t base = (size_t)r * cols;
        for (int j = 0; j < cols; j++) dres[base + j] = dr[j] * drop_factor(dp, seed, offset, base + j);
    }
}

// dγ[j] = Σ_r dy[r, j] · x̂[r, j],  dβ[j] = Σ_r dy[r, j].

// GPU variants of the forward and the input gradient: a team of T work-items per row (ROW_TEAM in
// common.cl: one row per work-group, or several short rows), items striding over the columns, tree
// sums in local memory (`scratch`: a float per item). Same results as ln_fw / ln_bw.

__kernel void ln_fw_wg(__global const float* x, __global const float* gamma, __global const float* beta,
                       __global float* y, __global float* mean, __global float* rstd, const int cols,
                       const float eps, __global const float* res, __global float* z, const int hasres,
                       const float dp, const ulong seed, STEP_ARG(offset), const int team, const int rows,
                       __local float* scratch) {
    STEP_VALUE(offset);
    ROW_TEAM(team, rows);
    const int n = live ? cols : 0;
    // Each item reads back only the elements of z it wrote.
    __global const float* xr = hasres && live ? residual_row(x, res, z, r, cols, t, team, dp, seed, offset) : x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;
    float s = 0.0f;
    for (int j = t; j < n; j += team) s += xr[j];
    const float mu = team_sum(s, scratch, team) / cols;
    float q = 0.0f;
    for (int j = t; j < n; j += team) { const float d = xr[j] - mu; q += d * d; }
    const float inv = rsqrt(team_sum(q, scratch, team) / cols + eps);
    for (int j = t; j < n; j += team) yr[j] = (xr[j] - mu) * inv * gamma[j] + beta[j];
    if (t == 0 && live) { mean[r] = mu; rstd[r] = inv; }
}

// Row r's team writes row r of dx (and dres); work-item g of the whole launch takes columns g,
// g + global size, ... of dγ and dβ.
__kernel void ln_bw_wg(__global const float* x, __global const float* dy, __global const float* gamma,
                       __global const float* mean, __global const float* rstd, __global float* dx,
                       const int cols, __global float* dres, const int hasres,
                       const float dp, const ulong seed, STEP_ARG(offset),
                       __global float* dgamma, __global float* dbeta, const int rows, const int team,
                       __local float* scratch) {
    STEP_VALUE(offset);
    ROW_TEAM(team, rows);
    for (int j = get_global_id(0); j < cols; j += get_global_size(0)) column_sums(x, dy, mean, rstd, dgamma, dbeta, rows, cols, j);
    const int n = live ? cols : 0;
    __global const float* xr = x + (size_t)r * cols;
    __global const float* gr = dy + (size_t)r * cols;
    __global float* dr = dx + (size_t)r * cols;
    const float mu = live ? mean[r] : 0.0f, inv = live ? rstd[r] : 0.0f;
    float sd = 0.0f, sdx = 0.0f;
    for (int j = t; j < n; j += team) {
        const float d = gr[j] * gamma[j];
        sd += d;
        sdx += d * (xr[j] - mu) * inv;
    }
    const float meanD = team_sum(sd, scratch, team) / cols, meanDX = team_sum(sdx, scratch, team) / cols;
    for (int j = t; j < n; j += team) {
        const float d = inv * (gr[j] * gamma[j] - meanD - (xr[j] - mu) * inv * meanDX);
        dr[j] = d;
        if (hasres) dres[(size_t)r * cols + j] = d * drop_factor(dp, seed, offset, (size_t)r * cols + j);
    }
}
