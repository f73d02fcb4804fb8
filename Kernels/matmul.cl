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
//    in one launch.
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
// columns of C. Defines: TSM, TSN, TSK, WPTM, WPTN (host: local = (TSN/WPTN, TSM/WPTM),
// global = (ceil(N/TSN)·TSN/WPTN, ceil(M/TSM)·TSM/WPTM, batch)).

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
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)

__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_lt(const int M, const int N, const int K, const float alpha, const float beta,
             const int transA, __global const float* restrict A, const int lda, const int strideA,
             const int transB, __global const float* restrict B, const int ldb, const int strideB,
             __global float* restrict C, const int ldc, const int strideC,
             __global const float* restrict bias, const int epilogue)
{
    __local float As[TSK][TSM + 1];
    __local float Bs[TSK][TSN + 1];
    const int tx = get_local_id(0), ty = get_local_id(1), lid = ty * RTSN + tx;
    const int i0 = get_group_id(1) * TSM, j0 = get_group_id(0) * TSN, b = get_global_id(2);
    __global const float* a = A + (size_t)b * strideA;
    __global const float* bb = B + (size_t)b * strideB;

    float acc[WPTM][WPTN];
    #pragma unroll
    for (int r = 0; r < WPTM; r++) {
        #pragma unroll
        for (int c = 0; c < WPTN; c++) acc[r][c] = 0.0f;
    }

    for (int k0 = 0; k0 < K; k0 += TSK) {
        // Stage op(A)(i0.., k0..) and op(B)(k0.., j0..): RTSM·RTSN items load TSK·TSM and TSK·TSN values.
        for (int e = lid; e < TSK * TSM; e += RTSM * RTSN) {
            int row, kk;
            if (transA) { kk = e / TSM; row = e - kk * TSM; } else { row = e / TSK; kk = e - row * TSK; }
            const int i = i0 + row, k = k0 + kk;
            As[kk][row] = (i < M && k < K) ? (transA ? a[(size_t)k * lda + i] : a[(size_t)i * lda + k]) : 0.0f;
        }
        for (int e = lid; e < TSK * TSN; e += RTSM * RTSN) {
            int col, kk;
            if (transB) { col = e / TSK; kk = e - col * TSK; } else { kk = e / TSN; col = e - kk * TSN; }
            const int j = j0 + col, k = k0 + kk;
            Bs[kk][col] = (j < N && k < K) ? (transB ? bb[(size_t)j * ldb + k] : bb[(size_t)k * ldb + j]) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        #pragma unroll
        for (int kk = 0; kk < TSK; kk++) {
            float av[WPTM], bv[WPTN];
            #pragma unroll
            for (int r = 0; r < WPTM; r++) av[r] = As[kk][ty + r * RTSM];
            #pragma unroll
            for (int c = 0; c < WPTN; c++) bv[c] = Bs[kk][tx + c * RTSN];
            #pragma unroll
            for (int r = 0; r < WPTM; r++) {
                #pragma unroll
                for (int c = 0; c < WPTN; c++) acc[r][c] = fma(av[r], bv[c], acc[r][c]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    __global float* cb = C + (size_t)b * strideC;
    #pragma unroll
    for (int r = 0; r < WPTM; r++) {
        const int i = i0 + ty + r * RTSM;
        if (i >= M) continue;
        #pragma unroll
        for (int c = 0; c < WPTN; c++) {
            const int j = j0 + tx + c * RTSN;
            if (j >= N) continue;
            float out = alpha * acc[r][c];
            if (beta != 0.0f) out += beta * cb[(size_t)i * ldc + j];
            if (epilogue & 1) out += bias[j];
            if (epilogue & 2) out = fmax(out, 0.0f);
            cb[(size_t)i * ldc + j] = out;
        }
    }
}
