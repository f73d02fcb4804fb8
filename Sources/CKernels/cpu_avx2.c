// kernels.inc for x86-64 CPUs with AVX2 and FMA (Haswell, Zen and later): every function of this
// file is compiled for those instructions, whatever the target of the rest of the build.
#if defined(__x86_64__)
// Dropout's 8 64-bit lanes span two registers here; file-local functions, so their ABI does not matter.
#pragma clang diagnostic ignored "-Wpsabi"
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define DIVE_FMA 1
#define KERNEL_TABLE dive_kernels_avx2
#include "kernels.inc"
#pragma clang attribute pop
#endif
