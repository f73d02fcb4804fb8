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
#define STEP_ARG(x) const ulong x##_arg, __global const ulong* restrict x##_table, const int x##_slot
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

// The row kernels' GPU variants: a work-group of L items holds L / T rows, a team of T items per
// row (T a power of two; T = L: one row per group). ROW_TEAM declares the row r, the item's index
// t in its team and whether the row exists (`live`: a group's last teams may have none).
#define ROW_TEAM(T, rows) const int t = get_local_id(0) & ((T) - 1); \
    const int r = get_group_id(0) * (get_local_size(0) / (T)) + get_local_id(0) / (T); const int live = r < (rows)

// Σ or max of v over each team of T consecutive items (T a power of two dividing the group;
// scratch: one float per item of the group). Every item of the group must call it.
inline float team_sum(float v, __local float* scratch, const int T) {
    const int lid = get_local_id(0), t = lid & (T - 1);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = T / 2; span > 0; span >>= 1) {
        if (t < span) scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[lid - t];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float team_max(float v, __local float* scratch, const int T) {
    const int lid = get_local_id(0), t = lid & (T - 1);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = T / 2; span > 0; span >>= 1) {
        if (t < span) scratch[lid] = fmax(scratch[lid], scratch[lid + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float top = scratch[lid - t];
    barrier(CLK_LOCAL_MEM_FENCE);
    return top;
}
