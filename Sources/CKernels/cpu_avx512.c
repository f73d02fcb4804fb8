// kernels.inc for x86-64 CPUs with AVX-512 (F, DQ, VL, BW: Skylake-X, Ice Lake, Zen 4 and later)
// besides AVX2 and FMA. The 8-float vectors stay 256 bits wide; what changes is that 64-bit lane
// multiplies are one instruction (vpmullq), so dropout's SplitMix64 mask runs 8 counters at once.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512dq,avx512vl,avx512bw"))), apply_to = function)
#define DIVE_FMA 1
#define KERNEL_TABLE dive_kernels_avx512
#include "kernels.inc"
#pragma clang attribute pop
#endif
