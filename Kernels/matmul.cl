// matmul.cl: batched single-precision matrix multiply (GEMM) for Dive.
//
//     C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]        for b in 0 ..< batch
//
// All matrices are row-major. op(A) is M x K and op(B) is K x N:
//   transA == 0: A is stored M x K, op(A)(i, k) = A[offA + b * strideA + i * lda + k]
//   transA != 0: A is stored K x M, op(A)(i, k) = A[offA + b * strideA + k * lda + i]
//   transB == 0: B is stored K x N, op(B)(k, j) = B[offB + b * strideB + k * ldb + j]
//   transB != 0: B is stored N x K, op(B)(k, j) = B[offB + b * strideB + j * ldb + k]
//   C(i, j) = C[offC + b * strideC + i * ldc + j]
// Offsets, leading dimensions and batch strides count elements (floats), not bytes. A batch
// stride of 0 means that the operand is shared by every batch entry. When beta == 0, C is
// written without being read (it may hold NaNs). With K == 0 the result is C = beta * C.
// C must not overlap A or B.
//
// HOW IT WORKS (the BLIS recipe, written as plain per-work-item vector code)
//
// 1. gemm_pack copies op(A) into "panels" of MR rows, stored k-major:
//        Ap[b][p][k][r] = op(A)[b](p * MR + r, k)          (0 for rows >= M)
//    and, in the same launch, op(B) into panels of NR columns:
//        Bp[b][q][k][c] = op(B)[b](k, q * NR + c)          (0 for columns >= N)
//    Packing deals with the transposes, leading dimensions, offsets and batch strides once, so
//    the compute kernel only ever walks two contiguous streams, and the zero padding means it
//    never checks bounds inside its loop.
// 2. gemm_tile: one work-item computes one MR x NR tile of C. Per step of k it loads MR scalars
//    of the A panel and NR floats (NR / VW vectors) of the B panel and does MR * NR / VW vector
//    fused multiply-adds into accumulators that stay in registers. With MR = 6, NR = 16, VW = 8
//    that is 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 AVX2 registers.
//    The order in which tiles are handed out decides what stays in the caches: global id x walks
//    down gm consecutive tile rows of one tile column before moving to the next column, so a B
//    panel (K * NR floats) is reused gm times while it sits in L1/L2, and the gm A panels of the
//    group (gm * MR * K floats) are reused by every tile column while they sit in L2/L3.
// 3. gemm_small: no packing and a single launch; reads A and B in place through their strides.
//    For tiny products, where the launches and memory passes of packing cost more than the math.
// 4. gemm_lt (at the end of this file): the GPU kernel, local-memory tiles and register blocking
//    in one launch, with double-buffered slices, vector loads and split-K (+ gemm_splitk_sum) as
//    candidates the tuner times.
//
// On CPU OpenCL drivers (PoCL) the per-work-item style of 1-3 is many times faster than GPU-style
// kernels with local memory and barriers; on GPUs the reverse holds, so GPUs run gemm_lt.
//
// Every kernel ends in an epilogue chosen by the bits of `epilogue`: 1 adds a bias (n elements,
// broadcast over rows and batch), 2 then applies ReLU (a Linear layer and its activation in one
// launch): C = relu(alpha·op(A)·op(B) + beta·C + bias).
//
// COMPILE-TIME DEFINES (build options, e.g. "-D MR=6 -D NR=16")
//   MR   rows of a gemm_tile tile (default 6); any value >= 1.
//   NR   columns of a gemm_tile tile (default 16); a multiple of VW.
//   VW   vector width for B and C rows (default 8 = one AVX register); 1, 2, 4, 8 or 16.
//   SMR  rows of a gemm_small tile (default 6); any value >= 1.
//   SNR  columns of a gemm_small tile (default 16); a multiple of VW.
// The host must use the same MR, NR, SMR, SNR in the sizes below as the program was built with.
//
// KERNELS, ARGUMENTS (in order) AND LAUNCH GEOMETRY
//   Do nothing at all if M, N or batch is 0. Let
//     pm = ceil(M / MR), pn = ceil(N / NR)                     (tile rows, tile columns)
//     batchA = (strideA == 0 ? 1 : batch), batchB = (strideB == 0 ? 1 : batch)
//     kChunks = ceil(K / 256)  (any value >= 1 is correct; it only sets how the packing work
//                               is split: each work-item packs ceil(K / kChunks) steps of k)
//
//   gemm_pack(int M, int N, int K, int batchA,
//             int transA, global const float* A, int offA, int lda, int strideA,
//             int transB, global const float* B, int offB, int ldb, int strideB,
//             global float* Ap, global float* Bp)
//     global = (kChunks, max(pm, pn), batchA + batchB); local = NULL (or (1, 1, 1)).
//     Ap: a buffer of at least batchA * pm * K * MR floats; Bp: batchB * pn * K * NR floats.
//     If K == 0 skip the pack (a global size of 0 is invalid) and pass any buffers as Ap, Bp.
//     Ap and Bp must be whole buffers (not sub-buffers), so that their vectors are aligned.
//   gemm_tile(int M, int N, int K, float alpha, float beta,
//             global const float* Ap, int strideAp, global const float* Bp, int strideBp,
//             global float* C, int offC, int ldc, int strideC, int gm, global const float* bias, int epilogue)
//     Enqueue after the packs (an in-order queue does this). strideAp = (strideA == 0 ? 0 :
//     pm * K * MR), strideBp = (strideB == 0 ? 0 : pn * K * NR).
//     gm >= 1: tile rows per group (32 is a good default; gm >= pm walks plain columns).
//     global = (roundup(gm * pn, LX), roundup(ceil(pm / gm), LY), batch), local = (LX, LY, 1),
//     LX = 1 or 4, LY = 1 on PoCL. Work-items outside the matrix return at once.
//   gemm_small(int M, int N, int K, float alpha, float beta,
//              int transA, global const float* A, int offA, int lda, int strideA,
//              int transB, global const float* B, int offB, int ldb, int strideB,
//              global float* C, int offC, int ldc, int strideC, global const float* bias, int epilogue)
//     global = (ceil(M / SMR), ceil(N / SNR), batch), local = NULL. No scratch buffers.
//     On PoCL it beats the packed path when M * N * K <= 2^18 (about 64^3), and for
//     transB == 0 with N <= 64 up to M * N * K <= 2^22.

#ifndef MR
#define MR 6
#endif
#ifndef NR
#define NR 16
#endif
#ifndef VW
#define VW 8
#endif
#ifndef SMR
#define SMR 6
#endif
#ifndef SNR
#define SNR 16
#endif

#if NR % VW != 0
#error "NR must be a multiple of VW"
#endif
#if SNR % VW != 0
#error "SNR must be a multiple of VW"
#endif
#define NV (NR / VW)     // vectors per tile row in gemm_tile
#define SNV (SNR / VW)   // vectors per tile row in gemm_small

// floatV is the vector type of VW floats; vloadV / vstoreV are its unaligned load and store.
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
typedef float floatV;
#define vloadV(i, p) ((p)[i])
#define vstoreV(v, i, p) ((p)[i] = (v))
#else
typedef CAT(float, VW) floatV;
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)
#endif

// Pointer arguments are declared restrict (C never overlaps A or B; Ap, Bp are scratch buffers)
// so that the compiler may keep values in registers and vectorise the copy loops.

// ------------------------------------------------------------------------------------------
// Packing. Work-item (kc, p, b) fills steps [k0, k1) of panel p of batch entry b: a contiguous
// run of (k1 - k0) * MR floats in Ap. Zero rows pad the last panel up to MR rows.

inline void pack_a(const int M, const int K, const int transA,
                   __global const float* restrict A, const int offA, const int lda, const int strideA,
                   __global float* restrict Ap, const int p, const int b)
{
    const int chunk = (K + (int)get_global_size(0) - 1) / (int)get_global_size(0);
    const int k0 = (int)get_global_id(0) * chunk;
    const int k1 = min(K, k0 + chunk);
    const int i0 = p * MR;                     // first row of op(A) in this panel
    const int pm = (M + MR - 1) / MR;
    if (p >= pm) return;                       // in case the host rounded the global size up
    __global const float* src = A + offA + (size_t)b * strideA;
    __global float* dst = Ap + ((size_t)b * pm + p) * (size_t)K * MR + (size_t)k0 * MR;

    if (transA) {
        // A is stored K x M: the MR values for one k are contiguous in memory.
        if (i0 + MR <= M) {
            for (int k = k0; k < k1; k++, dst += MR) {
                __global const float* s = src + (size_t)k * lda + i0;
                #pragma unroll
                for (int r = 0; r < MR; r++) dst[r] = s[r];
            }
        } else {                               // last panel: pad with zeros
            for (int k = k0; k < k1; k++, dst += MR) {
                __global const float* s = src + (size_t)k * lda + i0;
                #pragma unroll
                for (int r = 0; r < MR; r++) dst[r] = (i0 + r < M) ? s[r] : 0.0f;
            }
        }
    } else {
        // A is stored M x K: each of the MR rows is contiguous along k.
        #pragma unroll
        for (int r = 0; r < MR; r++) {
            __global const float* s = src + (size_t)(i0 + r) * lda;
            if (i0 + r < M) { for (int k = k0; k < k1; k++) dst[(k - k0) * MR + r] = s[k]; }
            else            { for (int k = k0; k < k1; k++) dst[(k - k0) * MR + r] = 0.0f; }
        }
    }
}

inline void pack_b(const int N, const int K, const int transB,
                   __global const float* restrict B, const int offB, const int ldb, const int strideB,
                   __global float* restrict Bp, const int q, const int b)
{
    const int chunk = (K + (int)get_global_size(0) - 1) / (int)get_global_size(0);
    const int k0 = (int)get_global_id(0) * chunk;
    const int k1 = min(K, k0 + chunk);
    const int j0 = q * NR;                     // first column of op(B) in this panel
    const int pn = (N + NR - 1) / NR;
    if (q >= pn) return;
    __global const float* src = B + offB + (size_t)b * strideB;
    __global float* dst = Bp + ((size_t)b * pn + q) * (size_t)K * NR + (size_t)k0 * NR;

    if (!transB) {
        // B is stored K x N: the NR values for one k are contiguous in memory.
        if (j0 + NR <= N) {
            for (int k = k0; k < k1; k++, dst += NR) {
                __global const float* s = src + (size_t)k * ldb + j0;
                #pragma unroll
                for (int c = 0; c < NR; c++) dst[c] = s[c];
            }
        } else {                               // last panel: pad with zeros
            for (int k = k0; k < k1; k++, dst += NR) {
                __global const float* s = src + (size_t)k * ldb + j0;
                #pragma unroll
                for (int c = 0; c < NR; c++) dst[c] = (j0 + c < N) ? s[c] : 0.0f;
            }
        }
    } else {
        // B is stored N x K: each of the NR columns of op(B) is a contiguous row.
        #pragma unroll
        for (int c = 0; c < NR; c++) {
            __global const float* s = src + (size_t)(j0 + c) * ldb;
            if (j0 + c < N) { for (int k = k0; k < k1; k++) dst[(k - k0) * NR + c] = s[k]; }
            else            { for (int k = k0; k < k1; k++) dst[(k - k0) * NR + c] = 0.0f; }
        }
    }
}

// Both packs in one launch: z < batchA packs panel y of A[z], the rest panel y of B[z - batchA].
__kernel void gemm_pack(const int M, const int N, const int K, const int batchA,
                        const int transA, __global const float* restrict A, const int offA, const int lda, const int strideA,
                        const int transB, __global const float* restrict B, const int offB, const int ldb, const int strideB,
                        __global float* restrict Ap, __global float* restrict Bp)
{
    const int y = get_global_id(1), z = get_global_id(2);
    if (z < batchA) pack_a(M, K, transA, A, offA, lda, strideA, Ap, y, z);
    else            pack_b(N, K, transB, B, offB, ldb, strideB, Bp, y, z - batchA);
}

// ------------------------------------------------------------------------------------------
// The compute kernel: one work-item = one MR x NR tile of C.

__kernel void gemm_tile(const int M, const int N, const int K,
                        const float alpha, const float beta,
                        __global const float* restrict Ap, const int strideAp,
                        __global const float* restrict Bp, const int strideBp,
                        __global float* restrict C, const int offC, const int ldc, const int strideC,
                        const int gm, __global const float* restrict bias, const int epilogue)
{
    // Which tile? x walks gm tile rows of one tile column, then the next column; y picks
    // the group of gm tile rows.
    const int pn = (N + NR - 1) / NR;
    const int x = get_global_id(0);
    if (x >= gm * pn) return;                  // padding work-item
    const int q = x / gm;                      // tile column
    const int p = get_global_id(1) * gm + x % gm;   // tile row
    const int b = get_global_id(2);
    if (p * MR >= M) return;                   // beyond the last tile row

    // The two packed panels this tile needs. Both are contiguous: a[k * MR + r], bv[k * NV + v].
    __global const float* a = Ap + (size_t)b * strideAp + (size_t)p * K * MR;
    __global const floatV* bv = (__global const floatV*)(Bp + (size_t)b * strideBp + (size_t)q * K * NR);

    floatV acc[MR][NV];
    #pragma unroll
    for (int r = 0; r < MR; r++) {
        #pragma unroll
        for (int v = 0; v < NV; v++) acc[r][v] = (floatV)(0.0f);
    }

    for (int k = 0; k < K; k++) {
        floatV bk[NV];
        #pragma unroll
        for (int v = 0; v < NV; v++) bk[v] = bv[v];
        #pragma unroll
        for (int r = 0; r < MR; r++) {
            const floatV ar = (floatV)(a[r]);  // broadcast one element of A
            #pragma unroll
            for (int v = 0; v < NV; v++) acc[r][v] = fma(ar, bk[v], acc[r][v]);
        }
        a += MR;
        bv += NV;
    }

    // C = alpha * acc + beta * C (+ bias), skipping rows and columns outside C in edge tiles.
    __global float* c = C + offC + (size_t)b * strideC + (size_t)p * MR * ldc + q * NR;
    const int rows = min(MR, M - p * MR);
    const int cols = min(NR, N - q * NR);
    #pragma unroll
    for (int r = 0; r < MR; r++) {
        if (r < rows) {
            __global float* cr = c + (size_t)r * ldc;
            if (cols == NR) {                  // whole row: vector stores
                #pragma unroll
                for (int v = 0; v < NV; v++) {
                    floatV out = alpha * acc[r][v];
                    if (beta != 0.0f) out += beta * vloadV(v, cr);
                    if (epilogue & 1) out += vloadV(v, bias + q * NR);
                    if (epilogue & 2) out = fmax(out, 0.0f);
                    vstoreV(out, v, cr);
                }
            } else {                           // partial row: element by element
                float t[NR];
                #pragma unroll
                for (int v = 0; v < NV; v++) vstoreV(acc[r][v], v, t);
                for (int j = 0; j < cols; j++) {
                    float out = alpha * t[j];
                    if (beta != 0.0f) out += beta * cr[j];
                    if (epilogue & 1) out += bias[q * NR + j];
                    if (epilogue & 2) out = fmax(out, 0.0f);
                    cr[j] = out;
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Small products without packing: one work-item = one SMR x SNR tile, reading A and B in place.
// Rows and columns past the edge are clamped to the last valid one (so the loop needs no
// bounds checks) and their results are simply not stored.

__kernel void gemm_small(const int M, const int N, const int K,
                         const float alpha, const float beta,
                         const int transA, __global const float* restrict A, const int offA, const int lda, const int strideA,
                         const int transB, __global const float* restrict B, const int offB, const int ldb, const int strideB,
                         __global float* restrict C, const int offC, const int ldc, const int strideC,
                         __global const float* restrict bias, const int epilogue)
{
    const int i0 = get_global_id(0) * SMR;
    const int j0 = get_global_id(1) * SNR;
    const int b = get_global_id(2);
    if (i0 >= M || j0 >= N) return;
    __global const float* a = A + offA + (size_t)b * strideA;
    __global const float* bb = B + offB + (size_t)b * strideB;
    // Element strides: op(A)(i, k) = a[i * sai + k * sak], op(B)(k, j) = bb[k * sbk + j * sbj].
    const int sai = transA ? 1 : lda, sak = transA ? lda : 1;
    const int sbk = transB ? 1 : ldb, sbj = transB ? ldb : 1;
    int ra[SMR];                               // start of each (clamped) row of op(A)
    #pragma unroll
    for (int r = 0; r < SMR; r++) ra[r] = min(i0 + r, M - 1) * sai;

    floatV acc[SMR][SNV];
    #pragma unroll
    for (int r = 0; r < SMR; r++) {
        #pragma unroll
        for (int v = 0; v < SNV; v++) acc[r][v] = (floatV)(0.0f);
    }

    if (!transB && j0 + SNR <= N) {
        // The SNR values of op(B) for one k are contiguous: vector loads.
        for (int k = 0; k < K; k++) {
            __global const float* bk_row = bb + (size_t)k * ldb + j0;
            floatV bk[SNV];
            #pragma unroll
            for (int v = 0; v < SNV; v++) bk[v] = vloadV(v, bk_row);
            #pragma unroll
            for (int r = 0; r < SMR; r++) {
                const floatV ar = (floatV)(a[ra[r] + k * sak]);
                #pragma unroll
                for (int v = 0; v < SNV; v++) acc[r][v] = fma(ar, bk[v], acc[r][v]);
            }
        }
    } else {
        // General case: gather the SNR values of op(B) (columns past N are clamped).
        int cb[SNR];
        #pragma unroll
        for (int j = 0; j < SNR; j++) cb[j] = min(j0 + j, N - 1) * sbj;
        for (int k = 0; k < K; k++) {
            float t[SNR];
            #pragma unroll
            for (int j = 0; j < SNR; j++) t[j] = bb[k * sbk + cb[j]];
            floatV bk[SNV];
            #pragma unroll
            for (int v = 0; v < SNV; v++) bk[v] = vloadV(v, t);
            #pragma unroll
            for (int r = 0; r < SMR; r++) {
                const floatV ar = (floatV)(a[ra[r] + k * sak]);
                #pragma unroll
                for (int v = 0; v < SNV; v++) acc[r][v] = fma(ar, bk[v], acc[r][v]);
            }
        }
    }

    // Same epilogue as gemm_tile.
    __global float* c = C + offC + (size_t)b * strideC + (size_t)i0 * ldc + j0;
    const int rows = min(SMR, M - i0);
    const int cols = min(SNR, N - j0);
    #pragma unroll
    for (int r = 0; r < SMR; r++) {
        if (r < rows) {
            __global float* cr = c + (size_t)r * ldc;
            if (cols == SNR) {
                #pragma unroll
                for (int v = 0; v < SNV; v++) {
                    floatV out = alpha * acc[r][v];
                    if (beta != 0.0f) out += beta * vloadV(v, cr);
                    if (epilogue & 1) out += vloadV(v, bias + j0);
                    if (epilogue & 2) out = fmax(out, 0.0f);
                    vstoreV(out, v, cr);
                }
            } else {
                float t[SNR];
                #pragma unroll
                for (int v = 0; v < SNV; v++) vstoreV(acc[r][v], v, t);
                for (int j = 0; j < cols; j++) {
                    float out = alpha * t[j];
                    if (beta != 0.0f) out += beta * cr[j];
                    if (epilogue & 1) out += bias[j0 + j];
                    if (epilogue & 2) out = fmax(out, 0.0f);
                    cr[j] = out;
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// gemm_lt: the GPU kernel. One launch, no packing: a work-group computes a TSM x TSN block of C,
// staging TSK-deep slices of op(A) and op(B) in local memory (loaded cooperatively, coalesced
// along whichever index is contiguous in memory, zero outside the matrices), and each work-item
// keeps a WPTM x WPTN register tile. Work-item (tx, ty) owns rows ty + r·(TSM/WPTM) and columns
// tx + c·(TSN/WPTN), so neighbouring items read neighbouring local words and write neighbouring
// columns of C.
//
// Candidates (compile-time defines; the tuner times them on the device):
//   TSM, TSN, TSK, WPTM, WPTN  the block and register tiles (host: local = (TSN/WPTN, TSM/WPTM),
//                              global = (ceil(N/TSN)·TSN/WPTN, ceil(M/TSM)·TSM/WPTM, batch·splits)).
//   DB = 1   double-buffered slices: each item fetches slice t+1 from global memory into
//            registers before it multiplies slice t out of local memory, then stores it into the
//            other local buffer: one barrier per slice, and the loads' latency hides behind the math.
//   VL = 4   vector loads: 16-byte loads along the contiguous index, where the operand's base,
//            leading dimension and batch stride allow it (checked at run time, uniformly for the
//            launch) and the 4 elements lie inside the matrix; element loads otherwise.
//   DB and VL need each item's share of a slice (TSK·TSM / items, TSK·TSN / items) to be a whole
//   number of VL-vectors.
// Split-K (run-time, `splits` >= 1): group z = b·splits + s multiplies the s-th run of whole TSK
// slices of K. With splits > 1 the raw products go to `partial` (batch·splits·M·N floats) and
// gemm_splitk_sum adds the splits in order and applies the epilogue, so results do not depend on
// timing; for skinny products (few tiles of C, long K) that fills a GPU that C's tiles alone cannot.

#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif
#ifndef DB
#define DB 0
#endif
#ifndef VL
#define VL 1
#endif
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)
#define ITEMS (RTSM * RTSN)
#define LA ((TSK * TSM + ITEMS - 1) / ITEMS)   // elements of op(A) one item stages per slice
#define LB ((TSK * TSN + ITEMS - 1) / ITEMS)   // elements of op(B)
#define NBUF (DB ? 2 : 1)

#if VL != 1 && VL != 4
#error "VL must be 1 or 4"
#endif
#if (DB || VL > 1) && ((TSK * TSM) % (ITEMS * VL) != 0 || (TSK * TSN) % (ITEMS * VL) != 0 || TSK % VL != 0 || TSM % VL != 0 || TSN % VL != 0)
#error "DB and VL need each item's share of a slice to be whole VL-vectors"
#endif

// One operand's element (r, k), r < rows and k < kEnd, is src[r * ld + k] when `alongK` (contiguous
// along k) and src[k * ld + r] otherwise; outside it is 0. Item `lid` stages vectors
// e = lid + v·ITEMS of the TSK x W slice starting at (r0, k0): VL consecutive elements along the
// contiguous index. `fits` says 16-byte loads are aligned (base, ld and k0 multiples of 4).
inline int slice_row(const int e, const int W, const int alongK) { return alongK ? e / (TSK / VL) : (e % (W / VL)) * VL; }
inline int slice_k(const int e, const int W, const int alongK) { return alongK ? (e % (TSK / VL)) * VL : e / (W / VL); }

inline float operand_at(__global const float* src, const int ld, const int alongK, const int r, const int k,
                     const int rows, const int kEnd)
{
    return (r < rows && k < kEnd) ? (alongK ? src[(size_t)r * ld + k] : src[(size_t)k * ld + r]) : 0.0f;
}

// One 16-byte load from a 16-byte aligned address. LLVM's optimiser splits a float4 load whose
// lanes are used one by one into four 4-byte loads that have forgotten the alignment, so for NVPTX
// the load is written in PTX (the non-coherent path: A and B are read-only here).
inline float4 load_float4(__global const float* p)
{
#ifdef __NVPTX__
    float4 v;
    __asm__("ld.global.nc.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
    return v;
#else
    return *(__global const float4*)p;
#endif
}

// Fetches this item's share of the slice into registers: regs[v·VL + u] is element u of vector v.
inline void fetch_slice(float* regs, const int L, const int W, __global const float* src, const int ld, const int alongK,
                        const int r0, const int rows, const int k0, const int kEnd, const int fits)
{
    const int lid = get_local_id(1) * RTSN + get_local_id(0);
    #pragma unroll
    for (int v = 0; v < L / VL; v++) {
        const int e = lid + v * ITEMS;
        const int r = r0 + slice_row(e, W, alongK), k = k0 + slice_k(e, W, alongK);
#if VL == 4
        const int inside = alongK ? (r < rows && k + 4 <= kEnd) : (k < kEnd && r + 4 <= rows);
        if (fits && inside) {
            const float4 x = load_float4(alongK ? src + (size_t)r * ld + k : src + (size_t)k * ld + r);
            regs[v * 4 + 0] = x.s0; regs[v * 4 + 1] = x.s1; regs[v * 4 + 2] = x.s2; regs[v * 4 + 3] = x.s3;
            continue;
        }
#endif
        #pragma unroll
        for (int u = 0; u < VL; u++)
            regs[v * VL + u] = operand_at(src, ld, alongK, alongK ? r : r + u, alongK ? k + u : k, rows, kEnd);
    }
}

// Stores what fetch_slice fetched into the local slice tile[k][r] (row pitch W + 1).
inline void store_slice(__local float* tile, const float* regs, const int L, const int W, const int alongK)
{
    const int lid = get_local_id(1) * RTSN + get_local_id(0);
    #pragma unroll
    for (int v = 0; v < L / VL; v++) {
        const int e = lid + v * ITEMS;
        const int r = slice_row(e, W, alongK), k = slice_k(e, W, alongK);
        #pragma unroll
        for (int u = 0; u < VL; u++) tile[(alongK ? k + u : k) * (W + 1) + (alongK ? r : r + u)] = regs[v * VL + u];
    }
}

// The single-buffered slice without the register staging (any item count): element by element.
inline void stage_slice(__local float* tile, const int W, __global const float* src, const int ld, const int alongK,
                        const int r0, const int rows, const int k0, const int kEnd)
{
    const int lid = get_local_id(1) * RTSN + get_local_id(0);
    for (int e = lid; e < TSK * W; e += ITEMS) {
        const int r = alongK ? e / TSK : e % W, k = alongK ? e % TSK : e / W;
        tile[k * (W + 1) + r] = operand_at(src, ld, alongK, r0 + r, k0 + k, rows, kEnd);
    }
}

// acc += the slice's TSM x TSN product: As[k][row], Bs[k][col].
inline void multiply_slice(float acc[WPTM][WPTN], __local const float* As, __local const float* Bs)
{
    const int tx = get_local_id(0), ty = get_local_id(1);
    #pragma unroll
    for (int kk = 0; kk < TSK; kk++) {
        float av[WPTM], bv[WPTN];
        #pragma unroll
        for (int r = 0; r < WPTM; r++) av[r] = As[kk * (TSM + 1) + ty + r * RTSM];
        #pragma unroll
        for (int c = 0; c < WPTN; c++) bv[c] = Bs[kk * (TSN + 1) + tx + c * RTSN];
        #pragma unroll
        for (int r = 0; r < WPTM; r++) {
            #pragma unroll
            for (int c = 0; c < WPTN; c++) acc[r][c] = fma(av[r], bv[c], acc[r][c]);
        }
    }
}

__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_lt(const int M, const int N, const int K, const float alpha, const float beta,
             const int transA, __global const float* restrict A, const int lda, const int strideA,
             const int transB, __global const float* restrict B, const int ldb, const int strideB,
             __global float* restrict C, const int ldc, const int strideC,
             __global const float* restrict bias, const int epilogue,
             const int splits, __global float* restrict partial)
{
    __local float As[NBUF][TSK * (TSM + 1)];
    __local float Bs[NBUF][TSK * (TSN + 1)];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int i0 = get_group_id(1) * TSM, j0 = get_group_id(0) * TSN;
    const int b = get_group_id(2) / splits, s = get_group_id(2) % splits;
    __global const float* a = A + (size_t)b * strideA;
    __global const float* bb = B + (size_t)b * strideB;
    // This group's run of K: whole slices, the same count for every split but the last.
    const int slices = (K + TSK - 1) / TSK, per = (slices + splits - 1) / splits;
    const int kBegin = min(K, s * per * TSK), kEnd = min(K, (s + 1) * per * TSK);
    const int steps = (kEnd - kBegin + TSK - 1) / TSK;
    // op(A)(i, k) is contiguous along k unless A is transposed; op(B)(k, j) is along k if B is.
    const int aAlongK = !transA, bAlongK = transB;

    float acc[WPTM][WPTN];
    #pragma unroll
    for (int r = 0; r < WPTM; r++) {
        #pragma unroll
        for (int c = 0; c < WPTN; c++) acc[r][c] = 0.0f;
    }

#if DB || VL > 1
    const int fitsA = VL > 1 && ((size_t)a % 16) == 0 && lda % 4 == 0;
    const int fitsB = VL > 1 && ((size_t)bb % 16) == 0 && ldb % 4 == 0;
    float ra[LA], rb[LB];
    if (steps > 0) {
        fetch_slice(ra, LA, TSM, a, lda, aAlongK, i0, M, kBegin, kEnd, fitsA);
        fetch_slice(rb, LB, TSN, bb, ldb, bAlongK, j0, N, kBegin, kEnd, fitsB);
        store_slice(As[0], ra, LA, TSM, aAlongK);
        store_slice(Bs[0], rb, LB, TSN, bAlongK);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int t = 0; t < steps; t++) {
        const int k1 = kBegin + (t + 1) * TSK;
        const int more = t + 1 < steps;
#if DB
        if (more) {                            // slice t+1 into registers while slice t is multiplied
            fetch_slice(ra, LA, TSM, a, lda, aAlongK, i0, M, k1, kEnd, fitsA);
            fetch_slice(rb, LB, TSN, bb, ldb, bAlongK, j0, N, k1, kEnd, fitsB);
        }
        multiply_slice(acc, As[t & 1], Bs[t & 1]);
        if (more) {
            store_slice(As[(t + 1) & 1], ra, LA, TSM, aAlongK);
            store_slice(Bs[(t + 1) & 1], rb, LB, TSN, bAlongK);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#else
        multiply_slice(acc, As[0], Bs[0]);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (more) {
            fetch_slice(ra, LA, TSM, a, lda, aAlongK, i0, M, k1, kEnd, fitsA);
            fetch_slice(rb, LB, TSN, bb, ldb, bAlongK, j0, N, k1, kEnd, fitsB);
            store_slice(As[0], ra, LA, TSM, aAlongK);
            store_slice(Bs[0], rb, LB, TSN, bAlongK);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
#endif
    }
#else
    for (int t = 0; t < steps; t++) {
        const int k0 = kBegin + t * TSK;
        stage_slice(As[0], TSM, a, lda, aAlongK, i0, M, k0, kEnd);
        stage_slice(Bs[0], TSN, bb, ldb, bAlongK, j0, N, k0, kEnd);
        barrier(CLK_LOCAL_MEM_FENCE);
        multiply_slice(acc, As[0], Bs[0]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#endif

    // splits > 1: this split's raw products, partial[b·splits + s][i][j]; else the epilogue into C.
    __global float* out = splits > 1 ? partial + (size_t)get_group_id(2) * M * N : C + (size_t)b * strideC;
    const int ld = splits > 1 ? N : ldc;
    #pragma unroll
    for (int r = 0; r < WPTM; r++) {
        const int i = i0 + ty + r * RTSM;
        if (i >= M) continue;
        #pragma unroll
        for (int c = 0; c < WPTN; c++) {
            const int j = j0 + tx + c * RTSN;
            if (j >= N) continue;
            if (splits > 1) { out[(size_t)i * ld + j] = acc[r][c]; continue; }
            float v = alpha * acc[r][c];
            if (beta != 0.0f) v += beta * out[(size_t)i * ld + j];
            if (epilogue & 1) v += bias[j];
            if (epilogue & 2) v = fmax(v, 0.0f);
            out[(size_t)i * ld + j] = v;
        }
    }
}

// The end of a split-K product: C[b](i, j) = alpha · Σ_s partial[b·splits + s][i][j] + beta · C (+ bias,
// then ReLU), the splits added in order. global = (roundup(N, 64), M, batch), local = (64, 1, 1).
__kernel void gemm_splitk_sum(const int M, const int N, const int splits, const float alpha, const float beta,
                              __global const float* restrict partial,
                              __global float* restrict C, const int ldc, const int strideC,
                              __global const float* restrict bias, const int epilogue)
{
    const int j = get_global_id(0), i = get_global_id(1), b = get_global_id(2);
    if (j >= N || i >= M) return;
    __global const float* p = partial + ((size_t)b * splits * M + i) * N + j;
    float sum = 0.0f;
    for (int s = 0; s < splits; s++) sum += p[(size_t)s * M * N];
    __global float* c = C + (size_t)b * strideC + (size_t)i * ldc + j;
    float v = alpha * sum;
    if (beta != 0.0f) v += beta * *c;
    if (epilogue & 1) v += bias[j];
    if (epilogue & 2) v = fmax(v, 0.0f);
    *c = v;
}
