// kernels.inc for the architecture's baseline (SSE2 on x86-64, NEON on arm64): the path of any
// CPU, and of DIVE_CPU_PATH=baseline. 8-float vectors are split into the registers there are;
// their value-passing ABI does not matter for these file-local functions.
#pragma clang diagnostic ignored "-Wpsabi"
#if defined(__aarch64__)
#define DIVE_FMA 1
#endif
#define KERNEL_TABLE dive_kernels_baseline
#include "kernels.inc"
