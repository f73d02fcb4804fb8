// Small C kernels the CPU backend calls where Swift cannot reach the hardware's speed: a GEMM
// against a B operand packed once and reused many times (the recurrent weights W_hh, multiplied
// by the state at every time step of a sequence), and the LSTM cell that runs after it.
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

/// One LSTM step (gates i, f, g, o) for `rows` batch rows of H units. gi, gh, saved: (rows, 4H);
/// bias: (4H); cPrev, cNext, h, hCopy: (rows, H). pre = gi + gh + bias; c' = f c + i g; h = o tanh c'.
/// Writes cNext, h (and hCopy unless NULL) and saved = (i, f, g, o).
void dive_lstm_cell_forward(long rows, long H, const float *gi, const float *gh, const float *bias, const float *cPrev,
                            float *cNext, float *h, float *hCopy, float *saved);

/// The step's backward: from saved (i, f, g, o), cPrev, cNext, the output's gradient dOut and the
/// recurrent gradient dh (rows, H), writes the pre-activation gradients dG (rows, 4H) (and dG2
/// unless NULL) and replaces dc (rows, H), the gradient of c', with that of c.
void dive_lstm_cell_backward(long rows, long H, const float *saved, const float *cPrev, const float *cNext,
                             const float *dOut, const float *dh, float *dc, float *dG, float *dG2);

#endif
