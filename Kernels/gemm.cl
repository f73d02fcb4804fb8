// gemm.cl: batched single-precision matrix multiply (GEMM) for Dive.
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
//
// HOW IT WORKS (the BLIS recipe, written as plain per-work-item vector code)
//
// 1. gemm_pack_a copies op(A) into "panels" of MR rows, stored k-major:
//        Ap[b][p][k][r] = op(A)[b](p * MR + r, k)          (0 for rows >= M)
//    gemm_pack_b copies op(B) into panels of NR columns:
//        Bp[b][q][k][c] = op(B)[b](k, q * NR + c)          (0 for columns >= N)
//    Packing deals with the transposes, leading dimensions, offsets and batch strides once, so
//    the compute kernel only ever walks two contiguous streams. Zero padding means that it never
//    has to check bounds inside its loop.
// 2. gemm_tile: one work-item computes one MR x NR tile of C. Per step of k it loads MR scalars
//    of the A panel and NR floats (NR / VW vectors) of the B panel and does MR * NR / VW vector
//    multiply-adds into accumulators that live in registers. With MR = 6, NR = 16, VW = 8 this is
//    12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 AVX2 registers.
//    The order in which tiles are handed out decides what stays in the caches: work-item x runs
//    down GM consecutive tile rows for one tile column before moving to the next column, so one B
//    panel (K * NR floats) is reused GM times from L1/L2 while the GM A panels (GM * MR * K floats)
//    are reused for every column from L2/L3.
// 3. gemm_small: no packing, one launch, reads A, B through their strides. For tiny products,
//    where the two extra launches of the packed path cost more than the arithmetic.
//
// On CPU OpenCL drivers (PoCL) this per-work-item style is many times faster than GPU-style
// kernels with local memory and barriers. On GPUs these kernels are correct but not tuned.
//
// COMPILE-TIME DEFINES (build options, e.g. "-D MR=6 -D NR=16")
//   MR   rows of a C tile (default 6). Any value >= 1.
//   NR   columns of a C tile (default 16). A multiple of VW.
//   VW   vector width used for B and C rows (default 8 = one AVX register); 1, 2, 4, 8 or 16.
//   SMR, SNR  tile of gemm_small (defaults 4, 8). SNR must be 2, 4, 8 or 16.
// The host must use the same MR and NR for the scratch sizes and launch sizes below.
//
// KERNELS, ARGUMENTS (in order) AND LAUNCH GEOMETRY
//   Let pm = ceil(M / MR), pn = ceil(N / NR), batchA = (strideA == 0 ? 1 : batch),
//   batchB = (strideB == 0 ? 1 : batch). Do nothing at all if M, N or batch is 0.
//
//   gemm_pack_a(int M, int K, int transA, global const float* A, int offA, int lda, int strideA,
//               global float* Ap)
//     global = (kChunks, pm, batchA), local = NULL (any). kChunks >= 1 splits K into chunks of
//     ceil(K / kChunks) (suggested: ceil(K / 256)). Ap needs batchA * pm * K * MR floats.
//   gemm_pack_b(int N, int K, int transB, global const float* B, int offB, int ldb, int strideB,
//               global float* Bp)
//     global = (kChunks, pn, batchB), local = NULL. Bp needs batchB * pn * K * NR floats.
//     Skip both packs when K == 0 (a global size of 0 is invalid); any buffer may then be passed
//     as Ap and Bp. Ap and Bp must start at the beginning of a buffer (vector alignment).
//   gemm_tile(int M, int N, int K, float alpha, float beta,
//             global const float* Ap, int strideAp, global const float* Bp, int strideBp,
//             global float* C, int offC, int ldc, int strideC, int gm)
//     strideAp = (strideA == 0 ? 0 : pm * K * MR), strideBp = (strideB == 0 ? 0 : pn * K * NR).
//     gm >= 1 is the number of tile rows in a group (see "HOW IT WORKS"; gm >= pm gives plain
//     column-by-column order). groups = ceil(pm / gm).
//     global = (roundup(gm * pn, LX), roundup(groups, LY), batch), local = (LX, LY, 1);
//     LX = LY = 1 is fine on PoCL (the kernel ignores the padding work-items).
//   gemm_small(int M, int N, int K, float alpha, float beta,
//              int transA, global const float* A, int offA, int lda, int strideA,
//              int transB, global const float* B, int offB, int ldb, int strideB,
//              global float* C, int offC, int ldc, int strideC)
//     global = (ceil(M / SMR), ceil(N / SNR), batch), local = NULL. Needs no scratch.

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
#define SMR 4
#endif
#ifndef SNR
#define SNR 8
#endif

#if NR % VW != 0
#error "NR must be a multiple of VW"
#endif
#define NV (NR / VW)   // vectors per tile row

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
typedef CAT(float, SNR) floatS;
#define vloadS CAT(vload, SNR)
#define vstoreS CAT(vstore, SNR)

// ------------------------------------------------------------------------------------------
// Packing. Work-item (kc, p, b) fills rows [k0, k1) of panel p: a contiguous run of
// (k1 - k0) * MR floats in Ap.

__kernel void gemm_pack_a(const int M, const int K, const int transA,
                          __global const float* A, const int offA, const int lda, const int strideA,
                          __global float* Ap)
{
    const int p = get_global_id(1);
    const int b = get_global_id(2);
    const int chunk = (K + (int)get_global_size(0) - 1) / (int)get_global_size(0);
    const int k0 = (int)get_global_id(0) * chunk;
    const int k1 = min(K, k0 + chunk);
    const int i0 = p * MR;                     // first row of op(A) in this panel
    const int pm = (M + MR - 1) / MR;
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

__kernel void gemm_pack_b(const int N, const int K, const int transB,
                          __global const float* B, const int offB, const int ldb, const int strideB,
                          __global float* Bp)
{
    const int q = get_global_id(1);
    const int b = get_global_id(2);
    const int chunk = (K + (int)get_global_size(0) - 1) / (int)get_global_size(0);
    const int k0 = (int)get_global_id(0) * chunk;
    const int k1 = min(K, k0 + chunk);
    const int j0 = q * NR;                     // first column of op(B) in this panel
    const int pn = (N + NR - 1) / NR;
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

// ------------------------------------------------------------------------------------------
// The compute kernel: one work-item = one MR x NR tile of C.

__kernel void gemm_tile(const int M, const int N, const int K,
                        const float alpha, const float beta,
                        __global const float* Ap, const int strideAp,
                        __global const float* Bp, const int strideBp,
                        __global float* C, const int offC, const int ldc, const int strideC,
                        const int gm)
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

    // C = alpha * acc + beta * C, skipping rows and columns outside C in edge tiles.
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
                    vstoreV(out, v, cr);
                }
            } else {                           // partial row: element by element
                float t[NR];
                #pragma unroll
                for (int v = 0; v < NV; v++) vstoreV(acc[r][v], v, t);
                for (int j = 0; j < cols; j++) {
                    float out = alpha * t[j];
                    if (beta != 0.0f) out += beta * cr[j];
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
                         const int transA, __global const float* A, const int offA, const int lda, const int strideA,
                         const int transB, __global const float* B, const int offB, const int ldb, const int strideB,
                         __global float* C, const int offC, const int ldc, const int strideC)
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

    floatS acc[SMR];
    #pragma unroll
    for (int r = 0; r < SMR; r++) acc[r] = (floatS)(0.0f);

    if (!transB && j0 + SNR <= N) {
        // The SNR values of op(B) for one k are contiguous: one vector load.
        for (int k = 0; k < K; k++) {
            const floatS bk = vloadS(0, bb + (size_t)k * ldb + j0);
            #pragma unroll
            for (int r = 0; r < SMR; r++) acc[r] = fma((floatS)(a[ra[r] + k * sak]), bk, acc[r]);
        }
    } else {
        // General case: gather the SNR values (clamped columns).
        int cb[SNR];
        #pragma unroll
        for (int j = 0; j < SNR; j++) cb[j] = min(j0 + j, N - 1) * sbj;
        for (int k = 0; k < K; k++) {
            float t[SNR];
            #pragma unroll
            for (int j = 0; j < SNR; j++) t[j] = bb[k * sbk + cb[j]];
            const floatS bk = vloadS(0, t);
            #pragma unroll
            for (int r = 0; r < SMR; r++) acc[r] = fma((floatS)(a[ra[r] + k * sak]), bk, acc[r]);
        }
    }

    __global float* c = C + offC + (size_t)b * strideC + (size_t)i0 * ldc + j0;
    const int rows = min(SMR, M - i0);
    const int cols = min(SNR, N - j0);
    #pragma unroll
    for (int r = 0; r < SMR; r++) {
        if (r < rows) {
            __global float* cr = c + (size_t)r * ldc;
            if (cols == SNR) {
                floatS out = alpha * acc[r];
                if (beta != 0.0f) out += beta * vloadS(0, cr);
                vstoreS(out, 0, cr);
            } else {
                float t[SNR];
                vstoreS(acc[r], 0, t);
                for (int j = 0; j < cols; j++) {
                    float out = alpha * t[j];
                    if (beta != 0.0f) out += beta * cr[j];
                    cr[j] = out;
                }
            }
        }
    }
}
