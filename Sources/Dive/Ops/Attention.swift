// Scaled dot-product attention with the book's valid-length masking and dropout on the weights:
// the fused primitive, and the composed GEMM + masked softmax + dropout + GEMM version that
// defines it and serves as its oracle.

/// The result of one attention call: output and the softmax weights (kept for inspection).
public struct AttentionResult {
    /// The attention output, (B, Tq, Dv), or (B, Tq, h·Dv) with h heads side by side.
    public let output: Tensor  // (B, Tq, Dv)
    /// The softmax weights before dropout, (B, Tq, Tk) or (B·h, Tq, Tk) with h heads; no gradient.
    public let weights: Tensor  // (B, Tq, Tk), no gradient
}

extension Tensor {
    /// Fused masked attention: softmax(QKᵀ/√D masked by validLens) V.
    /// Q (B, Tq, D), K (B, Tk, D), V (B, Tk, Dv); validLens Int32 of n entries dividing B·Tq, score
    /// row r reading lens[r / (B·Tq / n)]: one per batch item (n = B), per query (n = B·Tq), or one
    /// per batch item for B = items·heads (n = items; causal masks are valid lengths 1...Tq per row).
    /// With `dropout` p > 0 and a `stream`, the weights multiplying V are dropped out inside the
    /// same kernels, with the mask `weights.dropout(p:stream:)` would draw at this point of the
    /// stream; the returned weights are those before dropout.
    /// With `heads` h > 1, Q (B, Tq, h·D), K (B, Tk, h·D), V (B, Tk, h·Dv) hold h heads side by side
    /// (as the projections of multi-head attention write them): the result is (B, Tq, h·Dv), the
    /// weights (B·h, Tq, Tk), batch entry b·h + i being head i of item b (the book's batch-major
    /// split), with no split or merge copies. validLens still count against the B·Tq query rows of
    /// the items: every head of an item shares its lengths (the book repeats them per head).
    public static func attention(
        query q: Tensor, key k: Tensor, value v: Tensor, validLens: Tensor? = nil,
        heads: Int = 1, dropout p: Float = 0, stream: RandomStream? = nil
    ) throws -> AttentionResult {
        guard heads >= 1, q.rank == 3, k.rank == 3, v.rank == 3, q.shape[0] == k.shape[0], k.shape[0] == v.shape[0],
            q.shape[2] == k.shape[2], k.shape[1] == v.shape[1], q.dtype == k.dtype, k.dtype == v.dtype,
            q.shape[2] % heads == 0, v.shape[2] % heads == 0
        else {
            throw DiveError.shapeMismatch(op: "attention", detail: "query \(q.shape), key \(k.shape), value \(v.shape), \(heads) heads")
        }
        let dims = AttentionDims(
            batch: q.shape[0] * heads, queries: q.shape[1], keys: k.shape[1],
            depth: q.shape[2] / heads, valueDepth: v.shape[2] / heads, heads: heads)
        return try attention([q, k, v], q: 0, k: 1, v: 2, dims: dims, validLens: validLens, dropout: p, stream: stream)
    }

    /// Self-attention on packed projections: qkv (B, T, 3·h·D) holds Q, K and V side by side (what
    /// one product with [W_q; W_k; W_v] writes), read in place; its gradient comes back packed the
    /// same way. Otherwise as `attention(query:key:value:)`.
    public static func attention(
        packedQKV qkv: Tensor, validLens: Tensor? = nil, heads: Int = 1, dropout p: Float = 0,
        stream: RandomStream? = nil
    ) throws -> AttentionResult {
        guard heads >= 1, qkv.rank == 3, qkv.shape[2] % (3 * heads) == 0 else {
            throw DiveError.shapeMismatch(op: "attention", detail: "packed Q, K, V \(qkv.shape) for \(heads) heads")
        }
        let width = qkv.shape[2] / 3, depth = width / heads
        var dims = AttentionDims(
            batch: qkv.shape[0] * heads, queries: qkv.shape[1], keys: qkv.shape[1],
            depth: depth, valueDepth: depth, heads: heads)
        dims.query = AttentionColumns(offset: 0, stride: 3 * width)
        dims.key = AttentionColumns(offset: width, stride: 3 * width)
        dims.value = AttentionColumns(offset: 2 * width, stride: 3 * width)
        return try attention([qkv], q: 0, k: 0, v: 0, dims: dims, validLens: validLens, dropout: p, stream: stream)
    }

    /// Attention of `query` (B, Tq, h·D) over packed keys and values: kv (B, Tk, 2·h·D) holds K and
    /// V side by side (one product with [W_k; W_v]), read in place; its gradient comes back packed.
    public static func attention(
        query q: Tensor, packedKV kv: Tensor, validLens: Tensor? = nil, heads: Int = 1,
        dropout p: Float = 0, stream: RandomStream? = nil
    ) throws -> AttentionResult {
        guard heads >= 1, q.rank == 3, kv.rank == 3, q.shape[0] == kv.shape[0], kv.shape[2] == 2 * q.shape[2],
            q.shape[2] % heads == 0, q.dtype == kv.dtype
        else {
            throw DiveError.shapeMismatch(op: "attention", detail: "query \(q.shape), packed K, V \(kv.shape), \(heads) heads")
        }
        let width = q.shape[2], depth = width / heads
        var dims = AttentionDims(
            batch: q.shape[0] * heads, queries: q.shape[1], keys: kv.shape[1],
            depth: depth, valueDepth: depth, heads: heads)
        dims.key = AttentionColumns(offset: 0, stride: 2 * width)
        dims.value = AttentionColumns(offset: width, stride: 2 * width)
        return try attention([q, kv], q: 0, k: 1, v: 1, dims: dims, validLens: validLens, dropout: p, stream: stream)
    }

    /// The fused op over `inputs`, of which inputs[q], inputs[k], inputs[v] hold Q, K, V where
    /// `dims` places them; each input's gradient has its layout.
    private static func attention(
        _ inputs: [Tensor], q: Int, k: Int, v: Int, dims: AttentionDims, validLens: Tensor?,
        dropout p: Float, stream: RandomStream?
    ) throws -> AttentionResult {
        let first = inputs[0]
        try first.checkFloat(op: "attention")
        try first.checkSameDevice(Array(inputs.dropFirst()) + (validLens.map { [$0] } ?? []), op: "attention")
        if let lens = validLens {
            try lens.checkInt(op: "attention", role: "the valid lengths")
            let rows = dims.batch / dims.heads * dims.queries
            guard lens.count > 0 ? rows % lens.count == 0 : rows == 0 else {
                throw DiveError.shapeMismatch(
                    op: "attention", detail: "\(lens.count) valid lengths for batch \(dims.batch / dims.heads) × \(dims.queries) queries")
            }
        }
        guard p >= 0 && p <= 1 else {
            throw DiveError.invalidArgument(op: "attention", detail: "dropout probability \(p) outside [0, 1]")
        }
        let scale = 1 / Float(Swift.max(dims.depth, 1)).squareRoot()
        let items = dims.batch / dims.heads
        let out = try first.emptyLike([items, dims.queries, dims.heads * dims.valueDepth])
        let weights = try first.emptyLike([dims.batch, dims.queries, dims.keys])
        var mask: DropoutMask?
        if p > 0 {
            guard let stream else { throw DiveError.invalidArgument(op: "attention", detail: "dropout \(p) needs a random stream") }
            mask = try stream.mask(p: p, count: weights.count)
        }
        try first.backend.attention(
            q: inputs[q], k: inputs[k], v: inputs[v], validLens: validLens, scale: scale, dropout: mask,
            into: out, weights: weights, dims: dims)
        if Autograd.shouldRecord(inputs) {
            let saved = inputs.map { $0.detached() }
            out.record(inputs: inputs) { g in
                let grads = try saved.map { try $0.emptyLike() }
                try g.backend.attentionBackward(
                    q: saved[q], k: saved[k], v: saved[v], validLens: validLens, weights: weights,
                    gradOutput: g, scale: scale, dropout: mask, into: grads[q], dk: grads[k], dv: grads[v],
                    dims: dims)
                return grads
            }
        }
        return AttentionResult(output: out, weights: weights)
    }

    /// The composed definition: bmm, scale, masked softmax, dropout, bmm. Differentiable through its parts.
    public static func composedAttention(
        query q: Tensor, key k: Tensor, value v: Tensor,
        validLens: Tensor? = nil, dropout p: Float = 0,
        stream: RandomStream? = nil
    ) throws -> AttentionResult {
        let scale = 1 / Float(Swift.max(q.shape[2], 1)).squareRoot()
        let scores = try q.bmm(k, transposeB: true) * scale
        let weights = try scores.maskedSoftmax(validLens: validLens)
        let dropped = try stream.map { p > 0 ? try weights.dropout(p: p, stream: $0) : weights } ?? weights
        return AttentionResult(output: try dropped.bmm(v), weights: weights.detached())
    }
}
