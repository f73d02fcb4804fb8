// Fused scaled dot-product attention with the book's valid-length mask, one work-item per
// query row. With `heads` h, batch entry b of the B·h attentions is head b % h of item b / h, and
// Q (B, Tq, h·D), K (B, Tk, h·D), V (B, Tk, h·Dv), out (B, Tq, h·Dv) hold the heads side by side
// (the multi-head layout, so no split or merge copies; h = 1 is the plain (B, Tq, D) layout).
// Q, K, V and their gradients start at element qo, ko, vo of their buffers with rows ldq, ldk,
// ldv apart: h·D alone, more when projections are packed side by side (one buffer for all three);
// P (B·h, Tq, Tk) are the softmax weights. Row (b, i) keeps keys j < lens[((b / h)·Tq + i) / rep]
// (lengths per item or per query, shared by the item's heads); the rest count as the logit -1e6.
// With dp > 0 the weights multiplying V are dropped out: weight (row, j) is kept with the mask of
// stream (seed, offset) at element row·Tk + j and scaled by 1/(1 - dp); P stays undropped.


// Offset of row t of head b % h of item b / h in a tensor of T rows per item, `ld` apart: h·n
// for (items, T, h·n), more when Q, K and V are packed side by side (the caller then adds the
// operand's column offset).
inline size_t head_row(const int b, const int t, const int T, const int h, const int n, const int ld) {
    return ((size_t)(b / h) * T + t) * ld + (size_t)(b % h) * n;
}

// Dot product of two rows of n floats, 8 at a time.
inline float dot_row(__global const float* a, __global const float* b, const int n) {
    const int n8 = n & ~7;
    float8 acc = (float8)(0.0f);
    for (int c = 0; c < n8; c += 8) acc += vload8(0, a + c) * vload8(0, b + c);
    float s = (acc.s0 + acc.s1) + (acc.s2 + acc.s3) + (acc.s4 + acc.s5) + (acc.s6 + acc.s7);
    for (int c = n8; c < n; c++) s += a[c] * b[c];
    return s;
}

// Global size (Tq, B).
__kernel void at_fw(__global const float* q, __global const float* k, __global const float* v,
                    __global const int* lens, __global float* out, __global float* p,
                    const int tq, const int tk, const int d, const int dv,
                    const float scale, const int rep, const int haslens,
                    const float dp, const ulong seed, STEP_ARG(offset), const int h,
                    const int qo, const int ldq, const int ko, const int ldk, const int vo, const int ldv) {
    STEP_VALUE(offset);
    const int i = get_global_id(0), b = get_global_id(1);
    const int row = b * tq + i;
    const size_t ks = ldk, vs = ldv;     // strides between a head's key and value rows
    __global const float* qi = q + qo + head_row(b, i, tq, h, d, ldq);
    __global const float* kb = k + ko + head_row(b, 0, tk, h, d, ldk);
    __global const float* vb = v + vo + head_row(b, 0, tk, h, dv, ldv);
    __global float* pi = p + (size_t)row * tk;
    __global float* oi = out + head_row(b, i, tq, h, dv, h * dv);
    const int valid = haslens ? clamp(lens[((b / h) * tq + i) / rep], 0, tk) : tk;

    // Scores of the valid keys and their maximum.
    float m = valid < tk ? MASKED_LOGIT : -INFINITY;
    for (int j = 0; j < valid; j++) {
        const float s = scale * dot_row(qi, kb + j * ks, d);
        pi[j] = s;
        m = fmax(m, s);
    }
    // Softmax in place; masked keys all get exp(-1e6 - m).
    float sum = 0.0f;
    for (int j = 0; j < valid; j++) { const float e = exp(pi[j] - m); pi[j] = e; sum += e; }
    const float masked = exp(MASKED_LOGIT - m);
    sum += masked * (tk - valid);
    const float inv = 1.0f / sum;
    for (int j = 0; j < valid; j++) pi[j] *= inv;
    for (int j = valid; j < tk; j++) pi[j] = masked * inv;
    // Weighted sum of values (weights dropped out), 8 output columns at a time held in registers.
    const int dv8 = dv & ~7;
    const size_t base = (size_t)row * tk;
    for (int c = 0; c < dv8; c += 8) {
        float8 acc = (float8)(0.0f);
        for (int j = 0; j < tk; j++) acc += pi[j] * drop_factor(dp, seed, offset, base + j) * vload8(0, vb + j * vs + c);
        vstore8(acc, 0, oi + c);
    }
    for (int c = dv8; c < dv; c++) {
        float acc = 0.0f;
        for (int j = 0; j < tk; j++) acc += pi[j] * drop_factor(dp, seed, offset, base + j) * vb[j * vs + c];
        oi[c] = acc;
    }
}

// Backward, step 1, per query row (global size (Tq, B)):
// dP_j = (dO_i · V_j) · dropout factor; dS_j = scale · P_ij (dP_j - Σ_j P_ij dP_j) into ds (0 at
// masked keys, whose scores were constants); dQ_i = Σ_j dS_j K_j.
__kernel void at_bw_q(__global const float* k, __global const float* v, __global const float* p,
                      __global const float* dout, __global const int* lens, __global float* ds, __global float* dq,
                      const int tq, const int tk, const int d, const int dv, const float scale,
                      const int rep, const int haslens, const float dp, const ulong seed, STEP_ARG(offset),
                      const int h, const int qo, const int ldq, const int ko, const int ldk,
                      const int vo, const int ldv) {
    STEP_VALUE(offset);
    const int i = get_global_id(0), b = get_global_id(1);
    const int row = b * tq + i;
    const int valid = haslens ? clamp(lens[((b / h) * tq + i) / rep], 0, tk) : tk;
    const size_t ks = ldk, vs = ldv;
    __global const float* kb = k + ko + head_row(b, 0, tk, h, d, ldk);
    __global const float* vb = v + vo + head_row(b, 0, tk, h, dv, ldv);
    __global const float* pi = p + (size_t)row * tk;
    __global const float* gi = dout + head_row(b, i, tq, h, dv, h * dv);
    __global float* si = ds + (size_t)row * tk;
    __global float* qi = dq + qo + head_row(b, i, tq, h, d, ldq);
    float dot = 0.0f;
    for (int j = 0; j < tk; j++) {
        __global const float* vj = vb + j * vs;
        float g = 0.0f;
        for (int c = 0; c < dv; c++) g += gi[c] * vj[c];
        g *= drop_factor(dp, seed, offset, (size_t)row * tk + j);
        si[j] = g;
        dot += g * pi[j];
    }
    for (int c = 0; c < d; c++) qi[c] = 0.0f;
    for (int j = 0; j < tk; j++) {
        const float s = j < valid ? scale * pi[j] * (si[j] - dot) : 0.0f;
        si[j] = s;
        __global const float* kj = kb + j * ks;
        for (int c = 0; c < d; c++) qi[c] += s * kj[c];
    }
}

// Backward, step 2, per key row (global size (Tk, B)): dK_j = Σ_i dS_ij Q_i, dV_j = Σ_i P'_ij dO_i
// with P' the dropped-out weights.
__kernel void at_bw_kv(__global const float* q, __global const float* p, __global const float* dout,
                       __global const float* ds, __global float* dk, __global float* dvout,
                       const int tq, const int tk, const int d, const int dv,
                       const float dp, const ulong seed, STEP_ARG(offset), const int h,
                       const int qo, const int ldq, const int ko, const int ldk, const int vo, const int ldv) {
    STEP_VALUE(offset);
    const int j = get_global_id(0), b = get_global_id(1);
    __global float* kj = dk + ko + head_row(b, j, tk, h, d, ldk);
    __global float* vj = dvout + vo + head_row(b, j, tk, h, dv, ldv);
    for (int c = 0; c < d; c++) kj[c] = 0.0f;
    for (int c = 0; c < dv; c++) vj[c] = 0.0f;
    for (int i = 0; i < tq; i++) {
        const size_t row = (size_t)b * tq + i;
        const float s = ds[row * tk + j], w = p[row * tk + j] * drop_factor(dp, seed, offset, row * tk + j);
        __global const float* qi = q + qo + head_row(b, i, tq, h, d, ldq);
        __global const float* gi = dout + head_row(b, i, tq, h, dv, h * dv);
        for (int c = 0; c < d; c++) kj[c] += s * qi[c];
        for (int c = 0; c < dv; c++) vj[c] += w * gi[c];
    }
}
