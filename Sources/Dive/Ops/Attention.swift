// Scaled dot-product attention with the book's valid-length masking and dropout on the weights:
// the fused primitive, and the composed GEMM + masked softmax + dropout + GEMM version that
// defines it and serves as its oracle.

/// The result of one attention call: output and the softmax weights (kept for inspection).
public struct AttentionResult {
    public let output: Tensor    // (B, Tq, Dv)
    public let weights: Tensor   // (B, Tq, Tk), no gradient
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
    /// split), with no split or merge copies. validLens then count against B·h·Tq rows.
    public static func attention(query q: Tensor, key k: Tensor, value v: Tensor, validLens: Tensor? = nil,
                                 heads: Int = 1, dropout p: Float = 0, stream: RandomStream? = nil) throws -> AttentionResult {
        try q.checkFloat(op: "attention")
        try q.checkSameDevice([k, v] + (validLens.map { [$0] } ?? []), op: "attention")
        guard heads >= 1, q.rank == 3, k.rank == 3, v.rank == 3, q.shape[0] == k.shape[0], k.shape[0] == v.shape[0],
              q.shape[2] == k.shape[2], k.shape[1] == v.shape[1], q.dtype == k.dtype, k.dtype == v.dtype,
              q.shape[2] % heads == 0, v.shape[2] % heads == 0 else {
            throw DiveError.shapeMismatch(op: "attention", detail: "query \(q.shape), key \(k.shape), value \(v.shape), \(heads) heads")
        }
        let dims = AttentionDims(batch: q.shape[0] * heads, queries: q.shape[1], keys: k.shape[1],
                                 depth: q.shape[2] / heads, valueDepth: v.shape[2] / heads, heads: heads)
        if let lens = validLens {
            try lens.checkInt(op: "attention")
            let rows = dims.batch * dims.queries
            guard lens.count > 0 ? rows % lens.count == 0 : rows == 0 else {
                throw DiveError.shapeMismatch(op: "attention", detail: "\(lens.count) valid lengths for batch \(dims.batch) × \(dims.queries) queries")
            }
        }
        guard p >= 0 && p <= 1 else {
            throw DiveError.invalidArgument(op: "attention", detail: "dropout probability \(p) outside [0, 1]")
        }
        let scale = 1 / Float(Swift.max(dims.depth, 1)).squareRoot()
        let out = try q.emptyLike([q.shape[0], dims.queries, heads * dims.valueDepth])
        let weights = try q.emptyLike([dims.batch, dims.queries, dims.keys])
        var mask: DropoutMask?
        if p > 0 {
            guard let stream else { throw DiveError.invalidArgument(op: "attention", detail: "dropout \(p) needs a random stream") }
            mask = DropoutMask(p: p, seed: stream.seed, offset: stream.take(weights.count))
        }
        try q.backend.attention(q: q, k: k, v: v, validLens: validLens, scale: scale, dropout: mask, into: out,
                                weights: weights, dims: dims)
        if Autograd.shouldRecord([q, k, v]) {
            let qd = q.detached(), kd = k.detached(), vd = v.detached()
            out.record(inputs: [q, k, v]) { g in
                let dq = try qd.emptyLike(), dk = try kd.emptyLike(), dv = try vd.emptyLike()
                try g.backend.attentionBackward(q: qd, k: kd, v: vd, validLens: validLens, weights: weights, gradOutput: g, scale: scale,
                                                dropout: mask, into: dq, dk: dk, dv: dv, dims: dims)
                return [dq, dk, dv]
            }
        }
        return AttentionResult(output: out, weights: weights)
    }

    /// The composed definition: bmm, scale, masked softmax, dropout, bmm. Differentiable through its parts.
    public static func composedAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                                         validLens: Tensor? = nil, dropout p: Float = 0,
                                         stream: RandomStream? = nil) throws -> AttentionResult {
        let scale = 1 / Float(Swift.max(q.shape[2], 1)).squareRoot()
        let scores = try q.bmm(k, transposeB: true) * scale
        let weights = try scores.maskedSoftmax(validLens: validLens)
        let dropped = try stream.map { p > 0 ? try weights.dropout(p: p, stream: $0) : weights } ?? weights
        return AttentionResult(output: try dropped.bmm(v), weights: weights.detached())
    }
}
