// Dropout from a counter-based RNG: element i of stream `seed` uses the hash of (seed, offset + i),
// the same SplitMix64 steps as CounterRNG.swift, so every device draws the same mask.

inline ulong mix64(ulong z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

// y = x · keep / (1 - p), keep = uniform >= p. Global size: n.
__kernel void dropout(__global const float* x, __global float* y, const int n, const float p,
                      const ulong seed, const ulong offset) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const ulong bits = mix64(mix64(seed) + (offset + (ulong)i + 1UL) * 0x9E3779B97F4A7C15UL);
    const float u = (float)(bits >> 40) * 0x1p-24f;
    const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    y[i] = u >= p ? x[i] * scale : 0.0f;
}
