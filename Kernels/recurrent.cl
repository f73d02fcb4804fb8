// Fused recurrent cells (tanh RNN, GRU r,z,n, LSTM i,f,g,o): one work-item per (hidden unit j,
// batch row b), global size (H, B). Offsets are in elements; see CellStep in Ops/Recurrent.swift.

inline float sigm(float x) { return 1.0f / (1.0f + exp(-x)); }

// Forward of one step: pre-activations gi[t] + gh + bias; writes out[t], hnext, saved[t], c'.
__kernel void cell_fw(__global const float* gi, __global const float* gh, __global const float* bias,
                      __global const float* hprev, __global float* cells, __global float* out,
                      __global float* hnext, __global float* saved, const int kind, const int B, const int H,
                      const int t, const int slot, const int poff) {
    const int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4);
    const int e = b * H + j;
    __global const float* x = gi + (t * B + b) * G * H;
    __global const float* y = gh + b * G * H;
    __global float* sv = saved + (t * B + b) * 4 * H;
    float h;
    if (kind == 0) {
        h = tanh(x[j] + y[j] + bias[j]);
    } else if (kind == 1) {
        const float r = sigm(x[j] + y[j] + bias[j]);
        const float z = sigm(x[H + j] + y[H + j] + bias[H + j]);
        const float hn = y[2 * H + j] + bias[2 * H + j];
        const float n = tanh(x[2 * H + j] + r * hn);
        h = (1.0f - z) * n + z * hprev[poff + e];
        sv[j] = r; sv[H + j] = z; sv[2 * H + j] = n; sv[3 * H + j] = hn;
    } else {
        const float i = sigm(x[j] + y[j] + bias[j]);
        const float f = sigm(x[H + j] + y[H + j] + bias[H + j]);
        const float g = tanh(x[2 * H + j] + y[2 * H + j] + bias[2 * H + j]);
        const float o = sigm(x[3 * H + j] + y[3 * H + j] + bias[3 * H + j]);
        const float c = f * cells[slot * B * H + e] + i * g;
        cells[(slot + 1) * B * H + e] = c;
        h = o * tanh(c);
        sv[j] = i; sv[H + j] = f; sv[2 * H + j] = g; sv[3 * H + j] = o;
    }
    out[t * B * H + e] = h;
    hnext[e] = h;
}

// Backward of one step from dout[t] + dh; writes dgi[t], dghs[t], dgh; GRU: dh = z·dh' in place;
// LSTM: dc = f·dc' in place.
__kernel void cell_bw(__global const float* saved, __global const float* hprev, __global const float* cells,
                      __global const float* out, __global const float* dout, __global float* dh,
                      __global float* dc, __global float* dgi, __global float* dghs, __global float* dgh,
                      const int kind, const int B, const int H, const int t, const int slot, const int poff) {
    const int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4);
    const int e = b * H + j;
    __global const float* sv = saved + (t * B + b) * 4 * H;
    __global float* xi = dgi + (t * B + b) * G * H;
    __global float* hi = dghs + (t * B + b) * G * H;
    __global float* gi = dgh + b * G * H;
    const float dht = dout[t * B * H + e] + dh[e];
    if (kind == 0) {
        const float h = out[t * B * H + e];
        const float d = dht * (1.0f - h * h);
        xi[j] = d; hi[j] = d; gi[j] = d;
    } else if (kind == 1) {
        const float r = sv[j], z = sv[H + j], n = sv[2 * H + j], hn = sv[3 * H + j];
        const float dn = dht * (1.0f - z) * (1.0f - n * n);
        const float dz = dht * (hprev[poff + e] - n) * z * (1.0f - z);
        const float dr = dn * hn * r * (1.0f - r);
        xi[j] = dr; xi[H + j] = dz; xi[2 * H + j] = dn;
        hi[j] = dr; hi[H + j] = dz; hi[2 * H + j] = dn * r;
        gi[j] = dr; gi[H + j] = dz; gi[2 * H + j] = dn * r;
        dh[e] = dht * z;
    } else {
        const float i = sv[j], f = sv[H + j], g = sv[2 * H + j], o = sv[3 * H + j];
        const float tc = tanh(cells[(slot + 1) * B * H + e]);
        const float dct = dc[e] + dht * o * (1.0f - tc * tc);
        const float di = dct * g * i * (1.0f - i);
        const float df = dct * cells[slot * B * H + e] * f * (1.0f - f);
        const float dg = dct * i * (1.0f - g * g);
        const float d_o = dht * tc * o * (1.0f - o);
        xi[j] = di; xi[H + j] = df; xi[2 * H + j] = dg; xi[3 * H + j] = d_o;
        hi[j] = di; hi[H + j] = df; hi[2 * H + j] = dg; hi[3 * H + j] = d_o;
        gi[j] = di; gi[H + j] = df; gi[2 * H + j] = dg; gi[3 * H + j] = d_o;
        dc[e] = dct * f;
    }
}

// ---------------------------------------------------------------------------------------------
// Whole-sequence recurrences: one launch runs every step of one direction. Batch rows are
// independent, so work-group g carries rows g·ROWS … g·ROWS + ROWS - 1 through all T steps and
// work-groups never wait for each other; inside a group, barriers separate a step's GEMM from its
// cell. The state rows live in local memory, W_hh streams from cache each step. ROWS is set when
// the program is built (-D ROWS=n); local memory: hs (ROWS·H floats) and gs (ROWS·G·H floats).
// Slots, offsets and outputs are those of cell_fw / cell_bw at each step s (time t = s, or
// T-1-s when `reverse`), so the results equal the step-by-step path.

#ifndef ROWS
#define ROWS 1
#endif

// Forward. wt is W_hhᵀ (H, G·H), so the work-items of a group read consecutive columns.
// Writes out[t] (T or T+1, B, H), saved[t] (T, B, 4H) and, for LSTM, cells[s + 1] from cells[s].
__kernel void rnn_seq_fw(__global const float* gi, __global const float* wt, __global const float* bias,
                         __global const float* h0, __global float* cells, __global float* out,
                         __global float* saved, const int kind, const int T, const int B, const int H,
                         const int reverse, __local float* hs, __local float* gs) {
    const int lid = get_local_id(0), L = get_local_size(0);
    const int b0 = get_group_id(0) * ROWS, nr = min(ROWS, B - b0);
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H;
    for (int e = lid; e < nr * H; e += L) hs[e] = h0[b0 * H + e];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = 0; s < T; s++) {
        const int t = reverse ? T - 1 - s : s;
        // gs[r] = hs[r] W_hhᵀ for the group's rows: (ROWS, G·H).
        for (int j = lid; j < GH; j += L) {
            float acc[ROWS];
            #pragma unroll
            for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;
            for (int k = 0; k < H; k++) {
                const float w = wt[k * GH + j];
                #pragma unroll
                for (int r = 0; r < ROWS; r++) acc[r] = fma(hs[r * H + k], w, acc[r]);
            }
            // Static indices only: a private array indexed at run time would live in slow memory.
            #pragma unroll
            for (int r = 0; r < ROWS; r++) if (r < nr) gs[r * GH + j] = acc[r];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // The cell, one (row, unit) per item; each item reads and then overwrites its own hs entry.
        for (int e = lid; e < nr * H; e += L) {
            const int r = e / H, j = e - r * H, b = b0 + r, o = b * H + j;
            __global const float* x = gi + (t * B + b) * GH;
            __local const float* y = gs + r * GH;
            __global float* sv = saved + (t * B + b) * 4 * H;
            float h;
            if (kind == 0) {
                h = tanh(x[j] + y[j] + bias[j]);
            } else if (kind == 1) {
                const float rg = sigm(x[j] + y[j] + bias[j]);
                const float z = sigm(x[H + j] + y[H + j] + bias[H + j]);
                const float hn = y[2 * H + j] + bias[2 * H + j];
                const float n = tanh(x[2 * H + j] + rg * hn);
                h = (1.0f - z) * n + z * hs[e];
                sv[j] = rg; sv[H + j] = z; sv[2 * H + j] = n; sv[3 * H + j] = hn;
            } else {
                const float i = sigm(x[j] + y[j] + bias[j]);
                const float f = sigm(x[H + j] + y[H + j] + bias[H + j]);
                const float g = tanh(x[2 * H + j] + y[2 * H + j] + bias[2 * H + j]);
                const float og = sigm(x[3 * H + j] + y[3 * H + j] + bias[3 * H + j]);
                const float c = f * cells[s * B * H + o] + i * g;
                cells[(s + 1) * B * H + o] = c;
                h = og * tanh(c);
                sv[j] = i; sv[H + j] = f; sv[2 * H + j] = g; sv[3 * H + j] = og;
            }
            out[t * B * H + o] = h;
            hs[e] = h;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// Backward, steps in reverse. w is W_hh (G·H, H). dh (B, H) and, for LSTM, dc (B, H) carry the
// state gradients in and leave as those of h0 and c0. Writes dgi[t] and dghs[t] (the same buffer
// for tanh RNN and LSTM); dh_{t-1} = dgh W_hh (+ z·dh' for GRU) stays in local memory between steps.
__kernel void rnn_seq_bw(__global const float* saved, __global const float* h0, __global const float* cells,
                         __global const float* out, __global const float* dout, __global float* dh,
                         __global float* dc, __global float* dgi, __global float* dghs,
                         __global const float* w, const int kind, const int T, const int B, const int H,
                         const int reverse, __local float* hs, __local float* gs) {
    const int lid = get_local_id(0), L = get_local_size(0);
    const int b0 = get_group_id(0) * ROWS, nr = min(ROWS, B - b0);
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H;
    for (int e = lid; e < nr * H; e += L) hs[e] = dh[b0 * H + e];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = T - 1; s >= 0; s--) {
        const int t = reverse ? T - 1 - s : s;
        const int tp = reverse ? T - s : s - 1;           // time of the previous step's output
        // The cell backward: gate gradients into gs (and dgi, dghs); GRU keeps z·dh' in hs.
        for (int e = lid; e < nr * H; e += L) {
            const int r = e / H, j = e - r * H, b = b0 + r, o = b * H + j;
            __global const float* sv = saved + (t * B + b) * 4 * H;
            __global float* xi = dgi + (t * B + b) * GH;
            __global float* hi = dghs + (t * B + b) * GH;
            __local float* gg = gs + r * GH;
            const float dht = dout[t * B * H + o] + hs[e];
            if (kind == 0) {
                const float h = out[t * B * H + o];
                const float d = dht * (1.0f - h * h);
                xi[j] = d; hi[j] = d; gg[j] = d;
                hs[e] = 0.0f;
            } else if (kind == 1) {
                const float rg = sv[j], z = sv[H + j], n = sv[2 * H + j], hn = sv[3 * H + j];
                const float hp = s == 0 ? h0[o] : out[tp * B * H + o];
                const float dn = dht * (1.0f - z) * (1.0f - n * n);
                const float dz = dht * (hp - n) * z * (1.0f - z);
                const float dr = dn * hn * rg * (1.0f - rg);
                xi[j] = dr; xi[H + j] = dz; xi[2 * H + j] = dn;
                hi[j] = dr; hi[H + j] = dz; hi[2 * H + j] = dn * rg;
                gg[j] = dr; gg[H + j] = dz; gg[2 * H + j] = dn * rg;
                hs[e] = dht * z;
            } else {
                const float i = sv[j], f = sv[H + j], g = sv[2 * H + j], og = sv[3 * H + j];
                const float tc = tanh(cells[(s + 1) * B * H + o]);
                const float dct = dc[o] + dht * og * (1.0f - tc * tc);
                const float di = dct * g * i * (1.0f - i);
                const float df = dct * cells[s * B * H + o] * f * (1.0f - f);
                const float dg = dct * i * (1.0f - g * g);
                const float dog = dht * tc * og * (1.0f - og);
                xi[j] = di; xi[H + j] = df; xi[2 * H + j] = dg; xi[3 * H + j] = dog;
                hi[j] = di; hi[H + j] = df; hi[2 * H + j] = dg; hi[3 * H + j] = dog;
                gg[j] = di; gg[H + j] = df; gg[2 * H + j] = dg; gg[3 * H + j] = dog;
                dc[o] = dct * f;
                hs[e] = 0.0f;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // hs[r] += gs[r] W_hh: the gradient of h_{t-1}, one hidden unit k per item.
        for (int k = lid; k < H; k += L) {
            float acc[ROWS];
            #pragma unroll
            for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;
            for (int j = 0; j < GH; j++) {
                const float wv = w[j * H + k];
                #pragma unroll
                for (int r = 0; r < ROWS; r++) acc[r] = fma(gs[r * GH + j], wv, acc[r]);
            }
            #pragma unroll
            for (int r = 0; r < ROWS; r++) if (r < nr) hs[r * H + k] += acc[r];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int e = lid; e < nr * H; e += L) dh[b0 * H + e] = hs[e];
}

// ---------------------------------------------------------------------------------------------
// CPU-shaped whole-sequence recurrences (PoCL): work-groups of one work-item, each carrying ROWS
// batch rows through every step with float8 vectors over the hidden units (H a multiple of 8), so
// a CPU core runs the whole sequence of its rows with no barriers. Local memory gs holds the
// rows' gate pre-activations or gradients (ROWS·G·H floats). Same slots and results as above.

inline float8 sig8(const float8 x) { return 1.0f / (1.0f + exp(-x)); }

__kernel void rnn_seq_fw_v8(__global const float* gi, __global const float* wt, __global const float* bias,
                            __global const float* h0, __global float* cells, __global float* out,
                            __global float* saved, const int kind, const int T, const int B, const int H,
                            const int reverse, __local float* gs) {
    const int b0 = get_group_id(0) * ROWS, nr = min(ROWS, B - b0);
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H;
    for (int s = 0; s < T; s++) {
        const int t = reverse ? T - 1 - s : s, tp = reverse ? T - s : s - 1;
        // gs[r] = h_{t-1}[r] W_hhᵀ, 4 rows × 8 columns at a time (rows past nr repeat the last).
        for (int r0 = 0; r0 < nr; r0 += 4) {
            __global const float* hp[4];
            for (int i = 0; i < 4; i++) {
                const int b = b0 + min(r0 + i, nr - 1);
                hp[i] = s == 0 ? h0 + (size_t)b * H : out + ((size_t)tp * B + b) * H;
            }
            for (int j = 0; j < GH; j += 8) {
                float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
                __global const float* wj = wt + j;
                for (int k = 0; k < H; k++, wj += GH) {
                    const float8 w = vload8(0, wj);
                    a0 = fma((float8)(hp[0][k]), w, a0); a1 = fma((float8)(hp[1][k]), w, a1);
                    a2 = fma((float8)(hp[2][k]), w, a2); a3 = fma((float8)(hp[3][k]), w, a3);
                }
                vstore8(a0, 0, gs + r0 * GH + j);
                if (r0 + 1 < nr) vstore8(a1, 0, gs + (r0 + 1) * GH + j);
                if (r0 + 2 < nr) vstore8(a2, 0, gs + (r0 + 2) * GH + j);
                if (r0 + 3 < nr) vstore8(a3, 0, gs + (r0 + 3) * GH + j);
            }
        }
        // The cell, 8 units at a time.
        for (int r = 0; r < nr; r++) {
            const int b = b0 + r;
            __global const float* x = gi + ((size_t)t * B + b) * GH;
            __local const float* y = gs + r * GH;
            __global float* sv = saved + ((size_t)t * B + b) * 4 * H;
            __global const float* hp = s == 0 ? h0 + (size_t)b * H : out + ((size_t)tp * B + b) * H;
            __global float* o = out + ((size_t)t * B + b) * H;
            for (int j = 0; j < H; j += 8) {
                #define PRE(g) (vload8(0, x + (g) * H + j) + vload8(0, y + (g) * H + j) + vload8(0, bias + (g) * H + j))
                float8 h;
                if (kind == 0) {
                    h = tanh(PRE(0));
                } else if (kind == 1) {
                    const float8 rg = sig8(PRE(0)), z = sig8(PRE(1));
                    const float8 hn = vload8(0, y + 2 * H + j) + vload8(0, bias + 2 * H + j);
                    const float8 n = tanh(vload8(0, x + 2 * H + j) + rg * hn);
                    h = (1.0f - z) * n + z * vload8(0, hp + j);
                    vstore8(rg, 0, sv + j); vstore8(z, 0, sv + H + j); vstore8(n, 0, sv + 2 * H + j); vstore8(hn, 0, sv + 3 * H + j);
                } else {
                    const float8 i = sig8(PRE(0)), f = sig8(PRE(1)), g = tanh(PRE(2)), og = sig8(PRE(3));
                    const size_t e = (size_t)b * H + j;
                    const float8 c = f * vload8(0, cells + (size_t)s * B * H + e) + i * g;
                    vstore8(c, 0, cells + (size_t)(s + 1) * B * H + e);
                    h = og * tanh(c);
                    vstore8(i, 0, sv + j); vstore8(f, 0, sv + H + j); vstore8(g, 0, sv + 2 * H + j); vstore8(og, 0, sv + 3 * H + j);
                }
                #undef PRE
                vstore8(h, 0, o + j);
            }
        }
    }
}

__kernel void rnn_seq_bw_v8(__global const float* saved, __global const float* h0, __global const float* cells,
                            __global const float* out, __global const float* dout, __global float* dh,
                            __global float* dc, __global float* dgi, __global float* dghs,
                            __global const float* w, const int kind, const int T, const int B, const int H,
                            const int reverse, __local float* gs) {
    const int b0 = get_group_id(0) * ROWS, nr = min(ROWS, B - b0);
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H;
    for (int s = T - 1; s >= 0; s--) {
        const int t = reverse ? T - 1 - s : s, tp = reverse ? T - s : s - 1;
        // The cell backward, 8 units at a time: gate gradients into gs[r], dgi[t], dghs[t]; dh keeps
        // the direct part of the state's gradient (GRU: z·dh') or 0.
        for (int r = 0; r < nr; r++) {
            const int b = b0 + r;
            __global const float* sv = saved + ((size_t)t * B + b) * 4 * H;
            __global float* xi = dgi + ((size_t)t * B + b) * GH;
            __global float* hi = dghs + ((size_t)t * B + b) * GH;
            __local float* gg = gs + r * GH;
            __global float* dhr = dh + (size_t)b * H;
            for (int j = 0; j < H; j += 8) {
                const float8 dht = vload8(0, dout + ((size_t)t * B + b) * H + j) + vload8(0, dhr + j);
                float8 direct = 0.0f;
                if (kind == 0) {
                    const float8 h = vload8(0, out + ((size_t)t * B + b) * H + j);
                    const float8 d = dht * (1.0f - h * h);
                    vstore8(d, 0, xi + j); vstore8(d, 0, hi + j); vstore8(d, 0, gg + j);
                } else if (kind == 1) {
                    const float8 rg = vload8(0, sv + j), z = vload8(0, sv + H + j), n = vload8(0, sv + 2 * H + j);
                    const float8 hn = vload8(0, sv + 3 * H + j);
                    const float8 hp = vload8(0, (s == 0 ? h0 + (size_t)b * H : out + ((size_t)tp * B + b) * H) + j);
                    const float8 dn = dht * (1.0f - z) * (1.0f - n * n);
                    const float8 dz = dht * (hp - n) * z * (1.0f - z);
                    const float8 dr = dn * hn * rg * (1.0f - rg);
                    vstore8(dr, 0, xi + j); vstore8(dz, 0, xi + H + j); vstore8(dn, 0, xi + 2 * H + j);
                    vstore8(dr, 0, hi + j); vstore8(dz, 0, hi + H + j); vstore8(dn * rg, 0, hi + 2 * H + j);
                    vstore8(dr, 0, gg + j); vstore8(dz, 0, gg + H + j); vstore8(dn * rg, 0, gg + 2 * H + j);
                    direct = dht * z;
                } else {
                    const float8 i = vload8(0, sv + j), f = vload8(0, sv + H + j), g = vload8(0, sv + 2 * H + j);
                    const float8 og = vload8(0, sv + 3 * H + j);
                    const size_t e = (size_t)b * H + j;
                    const float8 tc = tanh(vload8(0, cells + (size_t)(s + 1) * B * H + e));
                    const float8 dct = vload8(0, dc + e) + dht * og * (1.0f - tc * tc);
                    const float8 di = dct * g * i * (1.0f - i);
                    const float8 df = dct * vload8(0, cells + (size_t)s * B * H + e) * f * (1.0f - f);
                    const float8 dg = dct * i * (1.0f - g * g);
                    const float8 dog = dht * tc * og * (1.0f - og);
                    vstore8(di, 0, xi + j); vstore8(df, 0, xi + H + j); vstore8(dg, 0, xi + 2 * H + j); vstore8(dog, 0, xi + 3 * H + j);
                    vstore8(di, 0, hi + j); vstore8(df, 0, hi + H + j); vstore8(dg, 0, hi + 2 * H + j); vstore8(dog, 0, hi + 3 * H + j);
                    vstore8(di, 0, gg + j); vstore8(df, 0, gg + H + j); vstore8(dg, 0, gg + 2 * H + j); vstore8(dog, 0, gg + 3 * H + j);
                    vstore8(dct * f, 0, dc + e);
                }
                vstore8(direct, 0, dhr + j);
            }
        }
        // dh[r] += gs[r] W_hh, 4 rows × 8 units at a time.
        for (int r0 = 0; r0 < nr; r0 += 4) {
            __local const float* g[4];
            for (int i = 0; i < 4; i++) g[i] = gs + min(r0 + i, nr - 1) * GH;
            for (int k = 0; k < H; k += 8) {
                float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
                __global const float* wk = w + k;
                for (int j = 0; j < GH; j++, wk += H) {
                    const float8 wv = vload8(0, wk);
                    a0 = fma((float8)(g[0][j]), wv, a0); a1 = fma((float8)(g[1][j]), wv, a1);
                    a2 = fma((float8)(g[2][j]), wv, a2); a3 = fma((float8)(g[3][j]), wv, a3);
                }
                __global float* d = dh + (size_t)(b0 + r0) * H + k;
                vstore8(vload8(0, d) + a0, 0, d);
                if (r0 + 1 < nr) vstore8(vload8(0, d + H) + a1, 0, d + H);
                if (r0 + 2 < nr) vstore8(vload8(0, d + 2 * H) + a2, 0, d + 2 * H);
                if (r0 + 3 < nr) vstore8(vload8(0, d + 3 * H) + a3, 0, d + 3 * H);
            }
        }
    }
}
