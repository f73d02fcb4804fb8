// Chooses the CPU path once, at load time: the widest this CPU runs (AVX-512, else AVX2+FMA, else
// the baseline), or the one DIVE_CPU_PATH names ("avx2+fma", "baseline") where this CPU runs it.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

extern const DiveCPUKernels dive_kernels_baseline;
#if defined(__x86_64__)
extern const DiveCPUKernels dive_kernels_avx2;
extern const DiveCPUKernels dive_kernels_avx512;
#endif

const DiveCPUKernels *dive_cpu_kernels_named(const char *name) {
    if (strcmp(name, "baseline") == 0) return &dive_kernels_baseline;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(name, "avx2+fma") == 0 && avx2) return &dive_kernels_avx2;
    if (strcmp(name, "avx512") == 0 && avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return &dive_kernels_avx512;
#endif
    return 0;
}

static const DiveCPUKernels *chosen = &dive_kernels_baseline;
static const char *chosen_name = "baseline";

__attribute__((constructor)) static void choose(void) {
    static const char *const widest_first[] = {"avx512", "avx2+fma", "baseline"};
    const int count = sizeof widest_first / sizeof *widest_first;
    const char *forced = getenv("DIVE_CPU_PATH");
    int first = 0;
    for (int i = 0; forced && i < count; i++) if (strcmp(forced, widest_first[i]) == 0) first = i;
    for (int i = first; i < count; i++) {
        const DiveCPUKernels *kernels = dive_cpu_kernels_named(widest_first[i]);
        if (kernels) { chosen = kernels; chosen_name = widest_first[i]; return; }
    }
}

const DiveCPUKernels *dive_cpu_kernels(void) { return chosen; }
const char *dive_cpu_path(void) { return chosen_name; }
