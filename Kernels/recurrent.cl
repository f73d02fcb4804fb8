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
