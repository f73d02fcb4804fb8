// Recurrent cells (tanh RNN, GRU r,z,n, LSTM i,f,g,o) and whole-sequence recurrences. The cell is
// written once, as the macro CELL_UNIT over the element type, and instantiated twice: for one
// (batch row, hidden unit) as cell_unit_fw / cell_unit_bw, which every scalar kernel here runs:
// cell_fw / cell_bw (one step, one work-item per unit and row), rnn_seq_* (a work-group carries a
// few rows through every step) and rnn_split_* (work-groups own hidden units, across the whole
// device); and for 8 consecutive units as cell_unit_fw8 / cell_unit_bw8, which the _v8 kernels (the
// float8 form of rnn_seq_* for CPU devices) run. Offsets are in elements; see CellStep and
// RecurrentSequence in Backend/Recurrence.swift.

// The G gates of unit j in a row of G blocks of `stride` floats, 0 past the cell's G gates, as a
// float4 (a macro: rows live in __global or __local memory).
#define GATES(row, G, stride, j) ((float4)((row)[j], (G) > 1 ? (row)[(stride) + (j)] : 0.0f, \
                                           (G) > 2 ? (row)[2 * (stride) + (j)] : 0.0f, (G) > 3 ? (row)[3 * (stride) + (j)] : 0.0f))

// Writes the G gates v of unit j into such a row.
#define PUT_GATES(row, v, G, stride, j) do { (row)[j] = (v).s0; if ((G) > 1) (row)[(stride) + (j)] = (v).s1; \
    if ((G) > 2) (row)[2 * (stride) + (j)] = (v).s2; if ((G) > 3) (row)[3 * (stride) + (j)] = (v).s3; } while (0)

// The float8 forms of GATES / PUT_GATES, for units j … j + 7: one float8 per gate, in a gates8,
// which has the fields of a float4 (s0 … s3) so that CELL_UNIT's code reads both alike. GATES4_OF
// and GATES8_OF build the two from four gates (GATES8_OF broadcasts a scalar); gates8_add adds two.
typedef struct { float8 s0, s1, s2, s3; } gates8;
#define GATES4_OF(a, b, c, d) ((float4)(a, b, c, d))
#define GATES8_OF(a, b, c, d) ((gates8){(float8)(a), (float8)(b), (float8)(c), (float8)(d)})
#define GATES8(row, G, stride, j) GATES8_OF(vload8(0, (row) + (j)), \
    (G) > 1 ? vload8(0, (row) + (stride) + (j)) : (float8)0.0f, (G) > 2 ? vload8(0, (row) + 2 * (stride) + (j)) : (float8)0.0f, \
    (G) > 3 ? vload8(0, (row) + 3 * (stride) + (j)) : (float8)0.0f)
#define PUT_GATES8(row, v, G, stride, j) do { vstore8((v).s0, 0, (row) + (j)); \
    if ((G) > 1) vstore8((v).s1, 0, (row) + (stride) + (j)); if ((G) > 2) vstore8((v).s2, 0, (row) + 2 * (stride) + (j)); \
    if ((G) > 3) vstore8((v).s3, 0, (row) + 3 * (stride) + (j)); } while (0)

inline gates8 gates8_add(const gates8 a, const gates8 b) {
    return GATES8_OF(a.s0 + b.s0, a.s1 + b.s1, a.s2 + b.s2, a.s3 + b.s3);
}

// CELL_UNIT(T, GT, GATES_OF, SIG, FW, BW) defines, for element type T (float: one unit; float8:
// eight), its gate tuple GT (float4 / gates8) built by GATES_OF(a, b, c, d), the sigmoid SIG and
// the cell's two directions FW and BW:
//
// FW, the forward cell: x the gate inputs, y the hidden side h W_hhᵀ + b_hh, hp h_{t-1} (GRU), cp
// c_{t-1} (LSTM). Returns h_t; *c is c_t (LSTM), *sv the gates saved for the backward (GRU r, z,
// n, W_hn h + b_hn; LSTM i, f, g, o).
//
// BW, the backward cell from dht (dout + dh): sv the saved gates, h = h_t (tanh RNN), hp h_{t-1}
// (GRU), c c_t and cp c_{t-1} (LSTM), *dc dc_t in and dc_{t-1}'s direct part f·dc out. Returns the
// gate gradients of the inputs; *dy is that of the hidden side (GRU: n's is dn·r), *direct the
// part of dh_{t-1} that skips W_hh (GRU: z·dht, else 0).
//
// Keep each formula one expression, as it is: OpenCL C may contract a·b + c into an fma only
// within an expression, so both instances round alike, and splitting one would change its rounding.
#define CELL_UNIT(T, GT, GATES_OF, SIG, FW, BW) \
inline T SIG(const T x) { return 1.0f / (1.0f + exp(-x)); } \
 \
inline T FW(const int kind, const GT x, const GT y, const T hp, const T cp, T* c, GT* sv) { \
    if (kind == 0) return tanh(x.s0 + y.s0); \
    if (kind == 1) { \
        const T r = SIG(x.s0 + y.s0), z = SIG(x.s1 + y.s1), n = tanh(x.s2 + r * y.s2); \
        *sv = GATES_OF(r, z, n, y.s2); \
        return (1.0f - z) * n + z * hp; \
    } \
    const T i = SIG(x.s0 + y.s0), f = SIG(x.s1 + y.s1), g = tanh(x.s2 + y.s2), o = SIG(x.s3 + y.s3); \
    *sv = GATES_OF(i, f, g, o); \
    *c = f * cp + i * g; \
    return o * tanh(*c); \
} \
 \
inline GT BW(const int kind, const T dht, const GT sv, const T h, const T hp, const T c, const T cp, \
             T* dc, GT* dy, T* direct) { \
    *direct = 0.0f; \
    if (kind == 0) { \
        const T d = dht * (1.0f - h * h); \
        *dy = GATES_OF(d, 0.0f, 0.0f, 0.0f); \
        return *dy; \
    } \
    if (kind == 1) { \
        const T r = sv.s0, z = sv.s1, n = sv.s2, hn = sv.s3; \
        const T dn = dht * (1.0f - z) * (1.0f - n * n); \
        const T dz = dht * (hp - n) * z * (1.0f - z); \
        const T dr = dn * hn * r * (1.0f - r); \
        *dy = GATES_OF(dr, dz, dn * r, 0.0f); \
        *direct = dht * z; \
        return GATES_OF(dr, dz, dn, 0.0f); \
    } \
    const T i = sv.s0, f = sv.s1, g = sv.s2, o = sv.s3; \
    const T tc = tanh(c); \
    const T dct = *dc + dht * o * (1.0f - tc * tc); \
    *dc = dct * f; \
    *dy = GATES_OF(dct * g * i * (1.0f - i), dct * cp * f * (1.0f - f), dct * i * (1.0f - g * g), dht * tc * o * (1.0f - o)); \
    return *dy; \
}

CELL_UNIT(float, float4, GATES4_OF, sigm, cell_unit_fw, cell_unit_bw)
CELL_UNIT(float8, gates8, GATES8_OF, sig8, cell_unit_fw8, cell_unit_bw8)

// Forward of one step: pre-activations gi[t] + gh + bias; writes out[t], hnext, saved[t], c'.
__kernel void cell_fw(__global const float* gi, __global const float* gh, __global const float* bias,
                      __global const float* hprev, __global float* cells, __global float* out,
                      __global float* hnext, __global float* saved, const int kind, const int B, const int H,
                      const int t, const int slot, const int poff) {
    const int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4);
    const int e = b * H + j;
    float c = 0.0f;
    float4 sv = 0.0f;
    const float h = cell_unit_fw(kind, GATES(gi + (t * B + b) * G * H, G, H, j),
                                 GATES(gh + b * G * H, G, H, j) + GATES(bias, G, H, j),
                                 kind == 1 ? hprev[poff + e] : 0.0f, kind == 2 ? cells[slot * B * H + e] : 0.0f, &c, &sv);
    if (kind == 2) cells[(slot + 1) * B * H + e] = c;
    if (kind != 0) PUT_GATES(saved + (t * B + b) * 4 * H, sv, 4, H, j);
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
    float dcv = kind == 2 ? dc[e] : 0.0f, direct;
    float4 dy;
    const float4 dx = cell_unit_bw(kind, dout[t * B * H + e] + dh[e], kind == 0 ? (float4)(0.0f) : GATES(saved + (t * B + b) * 4 * H, 4, H, j),
                                   kind == 0 ? out[t * B * H + e] : 0.0f, kind == 1 ? hprev[poff + e] : 0.0f,
                                   kind == 2 ? cells[(slot + 1) * B * H + e] : 0.0f, kind == 2 ? cells[slot * B * H + e] : 0.0f,
                                   &dcv, &dy, &direct);
    PUT_GATES(dgi + (t * B + b) * G * H, dx, G, H, j);
    PUT_GATES(dghs + (t * B + b) * G * H, dy, G, H, j);
    PUT_GATES(dgh + b * G * H, dy, G, H, j);
    if (kind == 1) dh[e] = direct;
    if (kind == 2) dc[e] = dcv;
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

// The backward cell of (row b, unit j) at step s of a whole-sequence recurrence (time t; tp that of
// the step before): reads what it needs of saved, h0, out and cells, writes dgi[t], dghs[t] and,
// for LSTM, dc; returns the hidden side's gate gradients, *direct dh_{t-1}'s part that skips W_hh.
inline float4 cell_step_bw(const int kind, const float dht, __global const float* saved, __global const float* h0,
                           __global const float* cells, __global const float* out, __global float* dc,
                           __global float* dgi, __global float* dghs, const int s, const int t, const int tp,
                           const int B, const int H, const int b, const int j, float* direct) {
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H, o = b * H + j;
    float dcv = kind == 2 ? dc[o] : 0.0f;
    float4 dy;
    const float4 dx = cell_unit_bw(kind, dht, kind == 0 ? (float4)(0.0f) : GATES(saved + (t * B + b) * 4 * H, 4, H, j),
                                   kind == 0 ? out[t * B * H + o] : 0.0f,
                                   kind == 1 ? (s == 0 ? h0[o] : out[tp * B * H + o]) : 0.0f,
                                   kind == 2 ? cells[(s + 1) * B * H + o] : 0.0f, kind == 2 ? cells[s * B * H + o] : 0.0f,
                                   &dcv, &dy, direct);
    PUT_GATES(dgi + (t * B + b) * GH, dx, G, H, j);
    PUT_GATES(dghs + (t * B + b) * GH, dy, G, H, j);
    if (kind == 2) dc[o] = dcv;
    return dy;
}

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
            float c = 0.0f;
            float4 sv = 0.0f;
            const float h = cell_unit_fw(kind, GATES(gi + (t * B + b) * GH, G, H, j), GATES(gs + r * GH, G, H, j) + GATES(bias, G, H, j),
                                         hs[e], kind == 2 ? cells[s * B * H + o] : 0.0f, &c, &sv);
            if (kind == 2) cells[(s + 1) * B * H + o] = c;
            if (kind != 0) PUT_GATES(saved + (t * B + b) * 4 * H, sv, 4, H, j);
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
        // The cell backward: gate gradients into gs (and dgi, dghs); hs keeps the direct part of dh.
        for (int e = lid; e < nr * H; e += L) {
            const int r = e / H, j = e - r * H, b = b0 + r;
            float direct;
            const float4 dy = cell_step_bw(kind, dout[t * B * H + b * H + j] + hs[e], saved, h0, cells, out, dc, dgi, dghs,
                                           s, t, tp, B, H, b, j, &direct);
            PUT_GATES(gs + r * GH, dy, G, H, j);
            hs[e] = direct;
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
// Recurrences split by hidden unit across the whole device (GPUs). Work-group g owns the hidden
// units j0 = g·U … j0 + U - 1 (U = `units`) for every batch row, and keeps the W_hh entries of
// those units in local memory for the whole launch (G·U·H floats in ws). A step needs the whole
// previous state, so steps meet at a device-wide barrier: a launch runs `count` steps from step
// `first`. The per-step form launches once per step (count 1, any number of groups, no barrier
// reached); the persistent form runs every step in one launch and needs every work-group resident
// at once (a cooperative launch on CUDA, at most one group per compute unit on OpenCL). Both run
// this code, so they give the same numbers. part holds max(L, B·G·U) floats of products.

// The fence the device-wide barrier needs. libclc makes OpenCL's mem_fence a CTA-level fence on
// NVPTX, so the PTX asks for membar.gl itself (PTXTests checks that it is there).
#ifdef __NVPTX__
#define DEVICE_FENCE() __nvvm_membar_gl()
#else
#define DEVICE_FENCE() mem_fence(CLK_GLOBAL_MEM_FENCE)
#endif

// Waits until every work-group of the launch has arrived. sync[0] counts arrivals and is back at 0
// after each barrier; sync[1] counts the barriers passed. Both start at 0 once, for every launch.
inline void grid_sync(volatile __global int* sync, const int groups) {
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        DEVICE_FENCE();                                   // this group's writes before its arrival
        const int passed = atomic_add(&sync[1], 0);
        DEVICE_FENCE();
        if (atomic_inc(&sync[0]) == groups - 1) {         // the last to arrive opens the barrier
            atomic_xchg(&sync[0], 0);
            DEVICE_FENCE();
            atomic_inc(&sync[1]);
        } else {
            while (atomic_add(&sync[1], 0) == passed) {}
        }
        DEVICE_FENCE();                                   // the others' writes before this group's reads
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
}

// part[o] = Σ_k a[b·K + k] · ws[k·N + c] for the B·N outputs o = b·N + c. With fewer outputs than
// work-items, P = L / (B·N) items share an output, each taking every P-th term, and the P partial
// sums are added in part. Ends with a barrier.
inline void split_products(__global const float* a, __local const float* ws, __local float* part,
                           const int B, const int K, const int N) {
    const int lid = get_local_id(0), L = get_local_size(0), M = B * N, P = max(1, L / M);
    for (int i = lid; i < max(M, P * M); i += L) {
        const int o = i % M, p = i / M, b = o / N, c = o - b * N;
        __global const float* row = a + b * K;
        float acc = 0.0f;
        for (int k = p; k < K; k += P) acc = fma(row[k], ws[k * N + c], acc);
        part[i] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (P > 1) {
        for (int o = lid; o < M; o += L) {
            float sum = part[o];
            for (int p = 1; p < P; p++) sum += part[p * M + o];
            part[o] = sum;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// Forward over steps first … first + count - 1. w is W_hh (G·H, H). Same outputs as rnn_seq_fw.
__kernel void rnn_split_fw(__global const float* gi, __global const float* w, __global const float* bias,
                           __global const float* h0, __global float* cells, __global float* out,
                           __global float* saved, volatile __global int* sync, const int kind, const int T,
                           const int B, const int H, const int reverse, const int units, const int first,
                           const int count, __local float* ws, __local float* part) {
    const int lid = get_local_id(0), L = get_local_size(0), groups = get_num_groups(0);
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H, U = units, GU = G * U;
    const int j0 = get_group_id(0) * U;
    // ws[k·GU + g·U + u] = W_hh[g·H + j0 + u][k]: the group's gate rows, transposed (0 past H).
    for (int e = lid; e < GU * H; e += L) {
        const int c = e / H, k = e - c * H, g = c / U, j = j0 + c - g * U;
        ws[k * GU + c] = j < H ? w[(g * H + j) * H + k] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = 0; i < count; i++) {
        const int s = first + i, t = reverse ? T - 1 - s : s, tp = reverse ? T - s : s - 1;
        if (i > 0) grid_sync(sync, groups);
        __global const float* hp = s == 0 ? h0 : out + tp * B * H;
        split_products(hp, ws, part, B, H, GU);                      // (B, G·U): h_{t-1} W_hhᵀ
        for (int e = lid; e < B * U; e += L) {
            const int b = e / U, u = e - b * U, j = j0 + u, o = b * H + j;
            if (j >= H) continue;
            float c = 0.0f;
            float4 sv = 0.0f;
            const float h = cell_unit_fw(kind, GATES(gi + (t * B + b) * GH, G, H, j), GATES(part + b * GU, G, U, u) + GATES(bias, G, H, j),
                                         kind == 1 ? hp[o] : 0.0f, kind == 2 ? cells[s * B * H + o] : 0.0f, &c, &sv);
            if (kind == 2) cells[(s + 1) * B * H + o] = c;
            if (kind != 0) PUT_GATES(saved + (t * B + b) * 4 * H, sv, 4, H, j);
            out[t * B * H + o] = h;
        }
        barrier(CLK_LOCAL_MEM_FENCE);                                 // part is the next step's
    }
}

// Backward over steps first, first - 1 … first - count + 1, then (finish = 1) the gradient of h0.
// Group g owns the units k0 = g·U …: ws[j·U + u] = W_hh[j][k0 + u]. dh (B, H) holds the direct
// part of each unit's state gradient between steps (GRU: z·dh', else 0), and leaves as dh0; dc
// as rnn_seq_bw. Same outputs as rnn_seq_bw.
__kernel void rnn_split_bw(__global const float* saved, __global const float* h0, __global const float* cells,
                           __global const float* out, __global const float* dout, __global float* dh,
                           __global float* dc, __global float* dgi, __global float* dghs, __global const float* w,
                           volatile __global int* sync, const int kind, const int T, const int B, const int H,
                           const int reverse, const int units, const int first, const int count, const int finish,
                           __local float* ws, __local float* part) {
    const int lid = get_local_id(0), L = get_local_size(0), groups = get_num_groups(0);
    const int G = kind == 0 ? 1 : (kind == 1 ? 3 : 4), GH = G * H, U = units;
    const int k0 = get_group_id(0) * U;
    for (int e = lid; e < GH * U; e += L) {
        const int j = e / U, u = e - j * U;
        ws[e] = k0 + u < H ? w[j * H + k0 + u] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = 0; i < count + finish; i++) {
        const int s = first - i, t = reverse ? T - 1 - s : s, tp = reverse ? T - s : s - 1;
        // (B, U): dghs[t_{s+1}] W_hh, the part of dh_s through W_hh, once step s + 1 has run.
        const int through = s < T - 1;
        if (through) {
            if (i > 0) grid_sync(sync, groups);
            split_products(dghs + (reverse ? T - 2 - s : s + 1) * B * GH, ws, part, B, GH, U);
        }
        for (int e = lid; e < B * U; e += L) {
            const int b = e / U, u = e - b * U, j = k0 + u, o = b * H + j;
            if (j >= H) continue;
            const float dhs = dh[o] + (through ? part[e] : 0.0f);
            if (i == count) { dh[o] = dhs; continue; }               // finish: dh0
            float direct;
            cell_step_bw(kind, dout[t * B * H + o] + dhs, saved, h0, cells, out, dc, dgi, dghs, s, t, tp, B, H, b, j, &direct);
            dh[o] = direct;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// ---------------------------------------------------------------------------------------------
// CPU-shaped whole-sequence recurrences (PoCL): work-groups of one work-item, each carrying ROWS
// batch rows through every step with float8 vectors over the hidden units (H a multiple of 8), so
// a CPU core runs the whole sequence of its rows with no barriers. Local memory gs holds the
// rows' gate pre-activations or gradients (ROWS·G·H floats). The cell is cell_unit_fw8 /
// cell_unit_bw8 (CELL_UNIT), with the same inputs as the scalar kernels give it (y = h W_hhᵀ + b_hh).
// Same slots and results as above.

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
            __global const float* hp = s == 0 ? h0 + (size_t)b * H : out + ((size_t)tp * B + b) * H;
            for (int j = 0; j < H; j += 8) {
                const size_t e = (size_t)b * H + j;
                float8 c = 0.0f;
                gates8 sv = GATES8_OF(0.0f, 0.0f, 0.0f, 0.0f);
                const float8 h = cell_unit_fw8(kind, GATES8(gi + ((size_t)t * B + b) * GH, G, H, j),
                                               gates8_add(GATES8(gs + r * GH, G, H, j), GATES8(bias, G, H, j)),
                                               kind == 1 ? vload8(0, hp + j) : (float8)0.0f,
                                               kind == 2 ? vload8(0, cells + (size_t)s * B * H + e) : (float8)0.0f, &c, &sv);
                if (kind == 2) vstore8(c, 0, cells + (size_t)(s + 1) * B * H + e);
                if (kind != 0) PUT_GATES8(saved + ((size_t)t * B + b) * 4 * H, sv, 4, H, j);
                vstore8(h, 0, out + (size_t)t * B * H + e);
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
            __global const float* hp = s == 0 ? h0 + (size_t)b * H : out + ((size_t)tp * B + b) * H;
            for (int j = 0; j < H; j += 8) {
                const size_t e = (size_t)b * H + j, te = (size_t)t * B * H + e;
                float8 dcv = kind == 2 ? vload8(0, dc + e) : (float8)0.0f, direct;
                gates8 dy;
                const gates8 dx = cell_unit_bw8(kind, vload8(0, dout + te) + vload8(0, dh + e),
                                                kind == 0 ? GATES8_OF(0.0f, 0.0f, 0.0f, 0.0f) : GATES8(saved + ((size_t)t * B + b) * 4 * H, 4, H, j),
                                                kind == 0 ? vload8(0, out + te) : (float8)0.0f, kind == 1 ? vload8(0, hp + j) : (float8)0.0f,
                                                kind == 2 ? vload8(0, cells + (size_t)(s + 1) * B * H + e) : (float8)0.0f,
                                                kind == 2 ? vload8(0, cells + (size_t)s * B * H + e) : (float8)0.0f, &dcv, &dy, &direct);
                PUT_GATES8(dgi + ((size_t)t * B + b) * GH, dx, G, H, j);
                PUT_GATES8(dghs + ((size_t)t * B + b) * GH, dy, G, H, j);
                PUT_GATES8(gs + r * GH, dy, G, H, j);
                if (kind == 2) vstore8(dcv, 0, dc + e);
                vstore8(direct, 0, dh + e);
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
