// Chooses the CPU path once, at load time: AVX2+FMA where the CPU has both (and DIVE_CPU_PATH is
// not "baseline"), else the baseline.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

extern const DiveCPUKernels dive_kernels_baseline;
#if defined(__x86_64__)
extern const DiveCPUKernels dive_kernels_avx2;
#endif

const DiveCPUKernels *dive_cpu_kernels_named(const char *name) {
    if (strcmp(name, "baseline") == 0) return &dive_kernels_baseline;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(name, "avx2+fma") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &dive_kernels_avx2;
#endif
    return 0;
}

static const DiveCPUKernels *chosen = &dive_kernels_baseline;
static const char *chosen_name = "baseline";

__attribute__((constructor)) static void choose(void) {
    const char *forced = getenv("DIVE_CPU_PATH");
    if (forced && strcmp(forced, "baseline") == 0) return;
    if (dive_cpu_kernels_named("avx2+fma")) { chosen = dive_cpu_kernels_named("avx2+fma"); chosen_name = "avx2+fma"; }
}

const DiveCPUKernels *dive_cpu_kernels(void) { return chosen; }
const char *dive_cpu_path(void) { return chosen_name; }
