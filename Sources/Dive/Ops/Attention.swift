// Scaled dot-product attention with the book's valid-length masking: the fused primitive, and
// the composed GEMM + masked softmax + GEMM version that defines it and serves as its oracle.

/// The result of one attention call: output and the softmax weights (kept for inspection).
public struct AttentionResult {
    public let output: Tensor    // (B, Tq, Dv)
    public let weights: Tensor   // (B, Tq, Tk), no gradient
}

extension Tensor {
    /// Fused masked attention: softmax(QKᵀ/√D masked by validLens) V.
    /// Q (B, Tq, D), K (B, Tk, D), V (B, Tk, Dv); validLens Int32 of B or B·Tq entries
    /// (causal masks are valid lengths 1...Tq per row).
    public static func attention(query q: Tensor, key k: Tensor, value v: Tensor,
                                 validLens: Tensor? = nil) throws -> AttentionResult {
        try q.checkFloat(op: "attention")
        try q.checkSameDevice([k, v] + (validLens.map { [$0] } ?? []), op: "attention")
        guard q.rank == 3, k.rank == 3, v.rank == 3, q.shape[0] == k.shape[0], k.shape[0] == v.shape[0],
              q.shape[2] == k.shape[2], k.shape[1] == v.shape[1], q.dtype == k.dtype, k.dtype == v.dtype else {
            throw DiveError.shapeMismatch(op: "attention", detail: "query \(q.shape), key \(k.shape), value \(v.shape)")
        }
        let dims = AttentionDims(batch: q.shape[0], queries: q.shape[1], keys: k.shape[1],
                                 depth: q.shape[2], valueDepth: v.shape[2])
        if let lens = validLens {
            try lens.checkInt(op: "attention")
            let rows = dims.batch * dims.queries
            guard lens.count == dims.batch || lens.count == rows else {
                throw DiveError.shapeMismatch(op: "attention", detail: "\(lens.count) valid lengths for batch \(dims.batch) × \(dims.queries) queries")
            }
        }
        let scale = 1 / Float(Swift.max(dims.depth, 1)).squareRoot()
        let out = try q.emptyLike([dims.batch, dims.queries, dims.valueDepth])
        let weights = try q.emptyLike([dims.batch, dims.queries, dims.keys])
        try q.backend.attention(q: q, k: k, v: v, validLens: validLens, scale: scale, into: out, weights: weights, dims: dims)
        if Autograd.shouldRecord([q, k, v]) {
            let qd = q.detached(), kd = k.detached(), vd = v.detached()
            out.record(inputs: [q, k, v]) { g in
                let dq = try qd.emptyLike(), dk = try kd.emptyLike(), dv = try vd.emptyLike()
                try g.backend.attentionBackward(q: qd, k: kd, v: vd, validLens: validLens, weights: weights, gradOutput: g, scale: scale,
                                                into: dq, dk: dk, dv: dv, dims: dims)
                return [dq, dk, dv]
            }
        }
        return AttentionResult(output: out, weights: weights)
    }

    /// The composed definition: bmm, scale, masked softmax, bmm. Differentiable through its parts.
    public static func composedAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                                         validLens: Tensor? = nil) throws -> AttentionResult {
        let scale = 1 / Float(Swift.max(q.shape[2], 1)).squareRoot()
        let scores = try q.bmm(k, transposeB: true) * scale
        let weights = try scores.maskedSoftmax(validLens: validLens)
        return AttentionResult(output: try weights.bmm(v), weights: weights.detached())
    }
}
