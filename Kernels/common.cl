// Shared by every program: ProgramCache puts this file in front of each Kernels/*.cl source.
// The book's masked logit, the dropout hash, and work-group tree reductions.

#define MASKED_LOGIT -1e6f

// SplitMix64's finaliser, as CounterRNG.mix in Swift.
inline ulong mix64(ulong z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

// A value that changes from one training step to the next (a dropout stream's offset, the
// optimiser's step size): STEP_ARG(x) declares the argument x_arg, a table and a slot; STEP_VALUE(x)
// is x_arg, or, where the slot is ≥ 0 (a step recorded as a CUDA graph), entry `slot` of the
// table, which the host writes before the step runs, so a graph replays with unchanged arguments.
#define STEP_ARG(x) const ulong x##_arg, __global const ulong* x##_table, const int x##_slot
#define STEP_VALUE(x) const ulong x = x##_slot < 0 ? x##_arg : x##_table[x##_slot]

// Whether dropout keeps element i of stream (seed, offset): CounterRNG.uniform(seed, offset + i) >= p.
inline bool keeps(const ulong seed, const ulong offset, const ulong i, const float p) {
    const ulong bits = mix64(mix64(seed) + (offset + i + 1UL) * 0x9E3779B97F4A7C15UL);
    return (float)(bits >> 40) * 0x1p-24f >= p;
}

// The dropout factor of element i inside a fused op: 1 without dropout (dp = 0), else keep / (1 - dp).
inline float drop_factor(const float dp, const ulong seed, const ulong offset, const size_t i) {
    return dp > 0.0f ? (keeps(seed, offset, (ulong)i, dp) ? 1.0f / (1.0f - dp) : 0.0f) : 1.0f;
}

// Σ or max of v over the work-group (local size L, a power of two; scratch: L floats).
inline float group_sum(float v, __local float* scratch) {
    const int lid = get_local_id(0), L = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = L / 2; span > 0; span >>= 1) {
        if (lid < span) scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float group_max(float v, __local float* scratch) {
    const int lid = get_local_id(0), L = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = L / 2; span > 0; span >>= 1) {
        if (lid < span) scratch[lid] = fmax(scratch[lid], scratch[lid + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float top = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return top;
}
