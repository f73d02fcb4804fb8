// CPU fused attention: for each batch item, scores = scale·Q Kᵀ, the book's masked softmax in
// place, then P V (P dropped out into a scratch copy first, when training), all while the item is
// in cache. The backward follows the same per-item plan. The products are a head's, a few hundred
// multiply-adds each: CKernels' narrow GEMM takes them (`narrowGemm`), BLAS only wider ones.

extension CPUBackend {
    /// Attention per batch item: scale·Q Kᵀ, masked softmax in place, then (dropped-out) P times V.
    public func attention(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, scale: Float, dropout: DropoutMask?,
        into out: Tensor, weights: Tensor, dims d: AttentionDims
    ) throws {
        if try isDouble(q, "attention") {
            attentionLoop(q, k, v, validLens, Double(scale), dropout, out, weights, d, Double.self)
        } else {
            attentionLoop(q, k, v, validLens, scale, dropout, out, weights, d, Float.self)
        }
    }

    private func attentionLoop<T: CPUFloat>(
        _ q: Tensor, _ k: Tensor, _ v: Tensor, _ validLens: Tensor?, _ scale: T,
        _ dropout: DropoutMask?, _ out: Tensor, _ weights: Tensor, _ d: AttentionDims,
        _ type: T.Type
    ) {
        let qp = q.cpuPointer(T.self), kp = k.cpuPointer(T.self), vp = v.cpuPointer(T.self)
        let op = out.cpuPointer(T.self), pp = weights.cpuPointer(T.self)
        let lens = validLens?.cpuPointer(Int32.self)
        let rows = d.batch * d.queries
        let repeatCount = validLens.map { rows / d.heads / max($0.count, 1) } ?? 1  // lengths are shared by an item's heads
        let masked = T(maskedLogit)
        let block = d.queries * d.keys
        let dropped = dropout.map { _ in UnsafeMutablePointer<T>.allocate(capacity: max(1, block)) }
        defer { dropped?.deallocate() }
        // Head b % h of item b / h: rows an operand's stride apart (the leading dimensions below).
        let ldq = max(1, d.query.stride), ldk = max(1, d.key.stride), ldv = max(1, d.value.stride)
        let ldo = max(1, d.heads * d.valueDepth), plainOut = AttentionColumns(offset: 0, stride: ldo)
        for b in 0..<d.batch {
            let p = pp + b * d.queries * d.keys
            T.narrowGemm(
                transA: false, transB: true, m: d.queries, n: d.keys, k: d.depth, alpha: scale,
                a: qp + d.row(b, 0, steps: d.queries, width: d.depth, d.query), lda: ldq,
                b: kp + d.row(b, 0, steps: d.keys, width: d.depth, d.key), ldb: ldk, c: p, ldc: max(1, d.keys))
            for i in 0..<d.queries {
                let row = p + i * d.keys
                let valid = lens.map { Int($0[((b / d.heads) * d.queries + i) / repeatCount]) } ?? d.keys
                if T.self == Float.self {
                    let f = UnsafeMutableRawPointer(row).assumingMemoryBound(to: Float.self)
                    CPUKernels.table.softmax_row(f, f, d.keys, valid)
                    continue
                }
                var m = -T.infinity
                for j in 0..<d.keys { if j >= valid { row[j] = masked }; m = max(m, row[j]) }
                var sum: T = 0
                for j in 0..<d.keys { let e = T.exp(row[j] - m); row[j] = e; sum += e }
                let inv = 1 / sum
                for j in 0..<d.keys { row[j] *= inv }
            }
            if let dropout, let dropped {
                dropoutLoop(p, dropped, block, dropout.p, dropout.seed, dropout.offset + UInt64(b * block))
            }
            T.narrowGemm(
                transA: false, transB: false, m: d.queries, n: d.valueDepth, k: d.keys, alpha: 1,
                a: dropped ?? p, lda: max(1, d.keys), b: vp + d.row(b, 0, steps: d.keys, width: d.valueDepth, d.value),
                ldb: ldv, c: op + d.row(b, 0, steps: d.queries, width: d.valueDepth, plainOut), ldc: ldo)
        }
    }

    /// The attention backward per batch item: dV, then dP, dS (0 where masked), dQ and dK.
    public func attentionBackward(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, weights: Tensor, gradOutput dOut: Tensor,
        scale: Float, dropout: DropoutMask?, into dq: Tensor, dk: Tensor, dv: Tensor,
        dims d: AttentionDims
    ) throws {
        if try isDouble(q, "attentionBackward") {
            attentionBackwardLoop(q, k, v, validLens, weights, dOut, Double(scale), dropout, dq, dk, dv, d, Double.self)
        } else {
            attentionBackwardLoop(q, k, v, validLens, weights, dOut, scale, dropout, dq, dk, dv, d, Float.self)
        }
    }

    /// With P' = dropout(P): dV = P'ᵀ dO; dP = dropout(dO Vᵀ); dS = scale · P ⊙ (dP - rowsum(dP ⊙ P)), 0
    /// where masked; dQ = dS K; dK = dSᵀ Q.
    private func attentionBackwardLoop<T: CPUFloat>(
        _ q: Tensor, _ k: Tensor, _ v: Tensor, _ validLens: Tensor?, _ weights: Tensor,
        _ dOut: Tensor, _ scale: T, _ dropout: DropoutMask?, _ dq: Tensor, _ dk: Tensor,
        _ dv: Tensor, _ d: AttentionDims, _ type: T.Type
    ) {
        let qp = q.cpuPointer(T.self), kp = k.cpuPointer(T.self), vp = v.cpuPointer(T.self)
        let pp = weights.cpuPointer(T.self), gp = dOut.cpuPointer(T.self)
        let dqp = dq.cpuPointer(T.self), dkp = dk.cpuPointer(T.self), dvp = dv.cpuPointer(T.self)
        let ds = UnsafeMutablePointer<T>.allocate(capacity: max(1, d.queries * d.keys))
        let dropped = dropout.map { _ in UnsafeMutablePointer<T>.allocate(capacity: max(1, d.queries * d.keys)) }
        defer { ds.deallocate(); dropped?.deallocate() }
        let tq = d.queries, tk = d.keys
        let lens = validLens?.cpuPointer(Int32.self)
        let repeatCount = validLens.map { (d.batch / d.heads * tq) / max($0.count, 1) } ?? 1
        // dQ, dK, dV lie like Q, K, V; dO like the output.
        let ldq = max(1, d.query.stride), ldk = max(1, d.key.stride), ldv = max(1, d.value.stride)
        let ldo = max(1, d.heads * d.valueDepth), plainOut = AttentionColumns(offset: 0, stride: ldo)
        for b in 0..<d.batch {
            let p = pp + b * tq * tk, g = gp + d.row(b, 0, steps: tq, width: d.valueDepth, plainOut)
            let qAt = d.row(b, 0, steps: tq, width: d.depth, d.query), kAt = d.row(b, 0, steps: tk, width: d.depth, d.key)
            let vAt = d.row(b, 0, steps: tk, width: d.valueDepth, d.value)
            let qb = qp + qAt, kb = kp + kAt
            let offset = dropout.map { $0.offset + UInt64(b * tq * tk) } ?? 0
            if let dropout, let dropped { dropoutLoop(p, dropped, tq * tk, dropout.p, dropout.seed, offset) }
            T.narrowGemm(
                transA: true, transB: false, m: tk, n: d.valueDepth, k: tq, alpha: 1, a: dropped ?? p, lda: max(1, tk),
                b: g, ldb: ldo, c: dvp + vAt, ldc: ldv)
            T.narrowGemm(
                transA: false, transB: true, m: tq, n: tk, k: d.valueDepth, alpha: 1, a: g, lda: ldo,
                b: vp + vAt, ldb: ldv, c: ds, ldc: max(1, tk))
            if let dropout { dropoutLoop(ds, ds, tq * tk, dropout.p, dropout.seed, offset) }
            for i in 0..<tq {
                let pr = p + i * tk, dr = ds + i * tk
                var dot: T = 0
                for j in 0..<tk { dot += pr[j] * dr[j] }
                let valid = lens.map { min(max(Int($0[((b / d.heads) * tq + i) / repeatCount]), 0), tk) } ?? tk
                for j in 0..<tk { dr[j] = j < valid ? scale * pr[j] * (dr[j] - dot) : 0 }
            }
            T.narrowGemm(
                transA: false, transB: false, m: tq, n: d.depth, k: tk, alpha: 1, a: ds, lda: max(1, tk),
                b: kb, ldb: ldk, c: dqp + qAt, ldc: ldq)
            T.narrowGemm(
                transA: true, transB: false, m: tk, n: d.depth, k: tq, alpha: 1, a: ds, lda: max(1, tk),
                b: qb, ldb: ldq, c: dkp + kAt, ldc: ldk)
        }
    }
}
