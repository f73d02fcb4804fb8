// The CPU backend's C kernels, where the instructions are chosen at run time by the CPU's
// features: a GEMM against a B operand packed once and reused many times (the recurrent weights
// W_hh, multiplied by the state at every time step of a sequence), and the vector kernels of
// kernels.inc (transcendental buffers, softmax and LayerNorm rows, recurrent cells).
#ifndef DIVE_CKERNELS_H
#define DIVE_CKERNELS_H

/// Columns per packed panel of B.
#define DIVE_PANEL_WIDTH 16

/// Floats needed to pack a (k, n) operand: ceil(n / 16) panels of k rows of 16.
long dive_packed_size(long k, long n);

/// Packs op(B) (k, n) into panels of 16 columns: packed[p][x][j] = op(B)[x][16p + j], zero past n.
/// B is row-major with leading dimension ldb; op(B) = B when trans = 0, Bᵀ (B stored (n, k)) when 1.
void dive_pack_panels(const float *b, long k, long n, long ldb, int trans, float *packed);

/// C (m, n) = A (m, k) · op(B) + beta · C for beta 0 or 1, with op(B) packed by dive_pack_panels.
/// A and C are row-major with leading dimensions lda and ldc.
void dive_gemm_packed(long m, long n, long k, const float *a, long lda, const float *packed,
                      float beta, float *c, long ldc);

/// 1 when this CPU runs the AVX2/FMA kernel, 0 when the portable loop runs instead.
int dive_gemm_packed_is_vectorised(void);

/// The logit the book's masked softmax gives masked-out positions.
#define DIVE_MASKED_LOGIT -1e6f

/// The CPU backend's vector kernels (kernels.inc), one table per CPU path. Buffers and rows may be
/// updated in place (y = x) unless said otherwise; rows never allocate.
typedef struct {
    /// y[i] = e^x[i], log x[i], tanh x[i], 1/(1 + e^-x[i]) for i < n (≤ 1, 1, 2.5, 3 ulp; IEEE
    /// special values as the C library's).
    void (*exp)(const float *x, float *y, long n);
    void (*log)(const float *x, float *y, long n);
    void (*tanh)(const float *x, float *y, long n);
    void (*sigmoid)(const float *x, float *y, long n);
    /// Σ x[i]² (blocks of 4096 added in double).
    float (*sum_of_squares)(const float *x, long n);
    /// One Adam (AdamW) step over n parameters, PyTorch's formulas: g' = g·gscale + l2·p;
    /// m = β1 m + (1-β1) g'; v = β2 v + (1-β2) g'²; p = p·decay - step·m / (√v / c2root + eps).
    void (*adam_update)(float *p, const float *g, float *m, float *v, long n, float gscale, float l2, float beta1,
                        float beta2, float decay, float step, float c2root, float eps);
    /// Dropout's counter-based mask, scaled: y[i] = x[i]·scale where k_i ≥ threshold, else 0, with
    /// k_i = SplitMix64's mix(z + i·0x9E3779B97F4A7C15) >> 40 (24 random bits; z as CounterRNG
    /// steps it for element 0).
    void (*dropout)(const float *x, float *y, long n, unsigned long long z, unsigned long long threshold,
                    float scale);

    /// C (m, n) = alpha · op(A) (m, k) · op(B) (k, n), row-major, for n ≤ 16 and k ≤ 256 (small
    /// products such as an attention head's): x summed in order with FMAs, so a row of C depends
    /// on nothing but its row of op(A) and op(B). op(A) = Aᵀ where trans_a is 1 (A stored (k, m)),
    /// op(B) = Bᵀ where trans_b is 1 (B stored (n, k)).
    void (*narrow_gemm)(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                        const float *b, long ldb, float *c, long ldc);

    /// Σ exp(x[i] - max) over a row, with the row's maximum (NaN skipped) in *max; each term also
    /// goes to y unless y is NULL. The cross-entropy's log-sum-exp is *max + log(Σ).
    float (*exp_sum_row)(const float *x, float *y, long n, float *max);
    /// The book's masked softmax of a row of n logits: index ≥ valid (clamped to 0…n) counts as
    /// DIVE_MASKED_LOGIT, so valid = 0 gives a uniform row.
    void (*softmax_row)(const float *x, float *y, long n, long valid);
    /// dx = y·(dy - Σ dy·y); dx may be dy or y.
    void (*softmax_backward_row)(const float *y, const float *dy, float *dx, long n);
    /// y = (x - mean)·rstd·γ + β, rstd = 1/√(biased variance + eps); writes mean and rstd.
    void (*layer_norm_row)(const float *x, const float *gamma, const float *beta, float *y, long n, float eps,
                           float *mean, float *rstd);
    /// dx = rstd·(g - mean g - x̂·mean(g·x̂)) with g = dy·γ; ACCUMULATES dγ += dy·x̂, dβ += dy.
    void (*layer_norm_backward_row)(const float *x, const float *dy, const float *gamma, float mean, float rstd,
                                    float *dx, float *dgamma, float *dbeta, long n);

    /// Recurrent steps over `rows` batch rows of H units, PyTorch's gates and equations. gi, gh:
    /// (rows, G·H) input and hidden projections; bias (G·H); h_copy, dG2, dG3: optional copies.
    /// tanh RNN: h = tanh(gi + gh + b); backward dG = (dOut + dh)(1 - h²).
    void (*rnn_tanh_forward)(long rows, long H, const float *gi, const float *gh, const float *bias, float *h, float *h_copy);
    void (*rnn_tanh_backward)(long rows, long H, const float *h, const float *dOut, const float *dh,
                              float *dG, float *dG2, float *dG3);
    /// GRU (r, z, n): saved (rows, 4H) = (r, z, n, W_hn h + b_hn). Backward: dGi and dGh differ in
    /// the n gate (dGh gets dn·r); dh (rows, H) is replaced by the gradient of h_prev's direct path.
    void (*gru_forward)(long rows, long H, const float *gi, const float *gh, const float *bias, const float *hPrev,
                        float *h, float *h_copy, float *saved);
    void (*gru_backward)(long rows, long H, const float *saved, const float *hPrev, const float *dOut, float *dh,
                         float *dGi, float *dGh, float *dGh2);
    /// LSTM (i, f, g, o): c' = f c + i g, h = o tanh c'; saved (rows, 4H) = (i, f, g, o). Backward:
    /// dG (rows, 4H) from dOut + dh, and dc (rows, H), the gradient of c', becomes that of c.
    void (*lstm_forward)(long rows, long H, const float *gi, const float *gh, const float *bias, const float *cPrev,
                         float *cNext, float *h, float *h_copy, float *saved);
    void (*lstm_backward)(long rows, long H, const float *saved, const float *cPrev, const float *cNext,
                          const float *dOut, const float *dh, float *dc, float *dG, float *dG2, float *dG3);
} DiveCPUKernels;

/// The kernels of the widest path this CPU runs: AVX-512 (F, DQ, VL, BW) with AVX2+FMA, else
/// AVX2+FMA, on x86-64 CPUs that have them, else the architecture's baseline (SSE2 on x86-64, NEON
/// on arm64). DIVE_CPU_PATH=avx2+fma or baseline chooses a narrower one.
const DiveCPUKernels *dive_cpu_kernels(void);

/// The path dive_cpu_kernels chose: "avx512", "avx2+fma" or "baseline".
const char *dive_cpu_path(void);

/// A path's kernels by name ("avx512", "avx2+fma", "baseline"), or NULL where this CPU cannot run them
/// (tests run every path the machine has).
const DiveCPUKernels *dive_cpu_kernels_named(const char *name);

/// A piece of a split op: `body(context, index)`.
typedef void (*dive_pool_body)(void *context, long index);

/// Starts the worker pool once, with `threads` - 1 workers beside the calling thread (later calls
/// change nothing); returns the threads that run pieces, the caller included.
int dive_pool_start(int threads);

/// Runs body(context, 0) … body(context, count - 1) on the pool's workers and the calling thread,
/// and returns when every piece has finished. Inline, in order, when the pool is already running
/// a job (another caller, or a piece that splits again) or has no workers.
void dive_pool_run(long count, dive_pool_body body, void *context);

#endif
