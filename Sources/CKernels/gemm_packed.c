// A GEMM against a pre-packed B: B is rearranged once into panels of 16 columns, each panel k
// rows of 16 contiguous floats, so the inner kernel streams it linearly. Tiles of 6 rows × 16
// columns keep 12 AVX2 accumulators busy (two FMA pipes × four cycles of latency need 8); x86 CPUs
// without AVX2/FMA, and other architectures, run the portable loop at the bottom.
#include "CKernels.h"
#include <string.h>

long dive_packed_size(long k, long n) {
    return ((n + DIVE_PANEL_WIDTH - 1) / DIVE_PANEL_WIDTH) * k * DIVE_PANEL_WIDTH;
}

void dive_pack_panels(const float *b, long k, long n, long ldb, int trans, float *packed) {
    long panels = (n + DIVE_PANEL_WIDTH - 1) / DIVE_PANEL_WIDTH;
    if (!trans) {
        // Row x of B is row x of every panel: B is read front to back.
        for (long x = 0; x < k; x++) {
            const float *row = b + x * ldb;
            for (long p = 0; p < panels; p++) {
                long j0 = p * DIVE_PANEL_WIDTH, width = n - j0 < DIVE_PANEL_WIDTH ? n - j0 : DIVE_PANEL_WIDTH;
                float *dst = packed + (p * k + x) * DIVE_PANEL_WIDTH;
                memcpy(dst, row + j0, sizeof(float) * width);
                for (long j = width; j < DIVE_PANEL_WIDTH; j++) dst[j] = 0;
            }
        }
        return;
    }
    // Bᵀ: a panel's 16 columns are 16 rows of B, each read front to back as x advances.
    for (long p = 0; p < panels; p++) {
        long j0 = p * DIVE_PANEL_WIDTH, width = n - j0 < DIVE_PANEL_WIDTH ? n - j0 : DIVE_PANEL_WIDTH;
        const float *rows[DIVE_PANEL_WIDTH];
        for (long j = 0; j < DIVE_PANEL_WIDTH; j++) rows[j] = b + (j0 + (j < width ? j : 0)) * ldb;
        float *dst = packed + p * k * DIVE_PANEL_WIDTH;
        for (long x = 0; x < k; x++) {
            float *row = dst + x * DIVE_PANEL_WIDTH;
            for (long j = 0; j < width; j++) row[j] = rows[j][x];
            for (long j = width; j < DIVE_PANEL_WIDTH; j++) row[j] = 0;
        }
    }
}

/// The portable tile: rows × 16 columns (of which `width` are stored) over the whole k.
static void tile_portable(long rows, long width, long k, const float *a, long lda, const float *panel,
                          float beta, float *c, long ldc) {
    for (long i = 0; i < rows; i++) {
        float acc[DIVE_PANEL_WIDTH] = {0};
        for (long x = 0; x < k; x++) {
            float ax = a[i * lda + x];
            for (int j = 0; j < DIVE_PANEL_WIDTH; j++) acc[j] += ax * panel[x * DIVE_PANEL_WIDTH + j];
        }
        for (long j = 0; j < width; j++) c[i * ldc + j] = acc[j] + (beta != 0 ? c[i * ldc + j] : 0);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VECTOR_TARGET __attribute__((target("avx2,fma")))

/// ROWS (1–6) × 16 tile in registers: per k, two loads of the panel and ROWS broadcasts of A.
#define TILE(ROWS)                                                                               \
VECTOR_TARGET static void tile_##ROWS(long width, long k, const float *a, long lda,             \
                                      const float *panel, float beta, float *c, long ldc) {     \
    __m256 lo[ROWS], hi[ROWS];                                                                   \
    for (int i = 0; i < ROWS; i++) { lo[i] = _mm256_setzero_ps(); hi[i] = _mm256_setzero_ps(); } \
    for (long x = 0; x < k; x++) {                                                               \
        __m256 b0 = _mm256_loadu_ps(panel + x * 16), b1 = _mm256_loadu_ps(panel + x * 16 + 8);   \
        for (int i = 0; i < ROWS; i++) {                                                         \
            __m256 ai = _mm256_broadcast_ss(a + i * lda + x);                                    \
            lo[i] = _mm256_fmadd_ps(ai, b0, lo[i]);                                              \
            hi[i] = _mm256_fmadd_ps(ai, b1, hi[i]);                                              \
        }                                                                                        \
    }                                                                                            \
    for (int i = 0; i < ROWS; i++) {                                                             \
        float *ci = c + i * ldc;                                                                 \
        if (width == 16) {                                                                       \
            if (beta != 0) {                                                                     \
                lo[i] = _mm256_add_ps(lo[i], _mm256_loadu_ps(ci));                               \
                hi[i] = _mm256_add_ps(hi[i], _mm256_loadu_ps(ci + 8));                           \
            }                                                                                    \
            _mm256_storeu_ps(ci, lo[i]); _mm256_storeu_ps(ci + 8, hi[i]);                        \
        } else {                                                                                 \
            float t[16];                                                                         \
            _mm256_storeu_ps(t, lo[i]); _mm256_storeu_ps(t + 8, hi[i]);                          \
            for (long j = 0; j < width; j++) ci[j] = t[j] + (beta != 0 ? ci[j] : 0);             \
        }                                                                                        \
    }                                                                                            \
}
TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)

VECTOR_TARGET static void gemm_vectorised(long m, long n, long k, const float *a, long lda,
                                          const float *packed, float beta, float *c, long ldc) {
    long panels = (n + 15) / 16;
    for (long p = 0; p < panels; p++) {
        const float *panel = packed + p * k * 16;
        long j0 = p * 16, width = n - j0 < 16 ? n - j0 : 16;
        long i = 0;
        for (; i + 6 <= m; i += 6) tile_6(width, k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc);
        switch (m - i) {
        case 5: tile_5(width, k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc); break;
        case 4: tile_4(width, k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc); break;
        case 3: tile_3(width, k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc); break;
        case 2: tile_2(width, k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc); break;
        case 1: tile_1(width, k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc); break;
        default: break;
        }
    }
}

/// The AVX2 tiles run where kernels.inc runs its AVX2+FMA or AVX-512 path (cpu_dispatch.c chose it).
extern const DiveCPUKernels dive_kernels_avx2, dive_kernels_avx512;
int dive_gemm_packed_is_vectorised(void) {
    return dive_cpu_kernels() == &dive_kernels_avx2 || dive_cpu_kernels() == &dive_kernels_avx512;
}
#else
int dive_gemm_packed_is_vectorised(void) { return 0; }
#endif

void dive_gemm_packed(long m, long n, long k, const float *a, long lda, const float *packed,
                      float beta, float *c, long ldc) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (dive_gemm_packed_is_vectorised()) { gemm_vectorised(m, n, k, a, lda, packed, beta, c, ldc); return; }
#endif
    long panels = (n + DIVE_PANEL_WIDTH - 1) / DIVE_PANEL_WIDTH;
    for (long p = 0; p < panels; p++) {
        long j0 = p * DIVE_PANEL_WIDTH, width = n - j0 < DIVE_PANEL_WIDTH ? n - j0 : DIVE_PANEL_WIDTH;
        tile_portable(m, width, k, a, lda, packed + p * k * DIVE_PANEL_WIDTH, beta, c + j0, ldc);
    }
}
