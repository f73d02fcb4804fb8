// Dropout from a counter-based RNG: element i of stream `seed` uses the hash of (seed, offset + i),
// the same SplitMix64 steps as CounterRNG.swift (`keeps` in common.cl), so every device draws the
// same mask.

// y = x · keep / (1 - p), keep = uniform >= p. Counter of element i: offset + i, or with block > 0
// offset + (i / block)·stride + i % block (DropoutMask in Backend.swift). Global size: n.
__kernel void dropout(__global const float* x, __global float* y, const int n, const float p,
                      const ulong seed, STEP_ARG(offset), const int block, const int stride) {
    STEP_VALUE(offset);
    const int i = get_global_id(0);
    if (i >= n) return;
    const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    const ulong c = block > 0 ? (ulong)(i / block) * (ulong)stride + (ulong)(i % block) : (ulong)i;
    y[i] = keeps(seed, offset, c, p) ? x[i] * scale : 0.0f;
}
