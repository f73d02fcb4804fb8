// OpenCL row ops, attention, embeddings and dropout: argument plumbing for Kernels/softmax.cl,
// loss.cl, layernorm.cl, attention.cl, embedding.cl and random.cl.
import Foundation

extension OpenCLBackend {
    /// Work-items per row for the per-group row kernels (a power of two from 32 to 256, about four
    /// columns each, so a short row does not pay for a deep reduction tree), or nil for the per-item
    /// kernels: GPUs take groups unless a test forces the choice.
    func rowGroupSize(cols: Int) -> Int? {
        switch KernelVariants.rows {
        case .perItem: return nil
        case .auto where !info.isGPU: return nil
        default:
            var L = 32
            while L * 4 < cols && L < min(256, info.maxWorkGroupSize) { L *= 2 }
            return min(L, info.maxWorkGroupSize)
        }
    }

    public func maskedSoftmax(_ x: Tensor, validLens: Tensor?, into y: Tensor, rows: Int, cols: Int) throws {
        try requireFloat32(x, op: "maskedSoftmax")
        let rep = validLens.map { rows / max($0.count, 1) } ?? 1
        let L = rowGroupSize(cols: cols)
        try launch(L == nil ? .sm_fw : .sm_fw_wg, global: (rows * (L ?? 1), 1, 1), local: L.map { ($0, 1, 1) }) { a in
            try a.buffer(x); try a.buffer(y); try a.buffer(validLens)
            try a.int(cols); try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            if let L { try a.local(floats: L) }
        }
    }

    public func softmaxBackward(output y: Tensor, gradOutput dy: Tensor, validLens: Tensor?, into dx: Tensor,
                                rows: Int, cols: Int) throws {
        try requireFloat32(y, op: "softmaxBackward")
        let rep = validLens.map { rows / max($0.count, 1) } ?? 1
        let L = rowGroupSize(cols: cols)
        try launch(L == nil ? .sm_bw : .sm_bw_wg, global: (rows * (L ?? 1), 1, 1), local: L.map { ($0, 1, 1) }) { a in
            try a.buffer(y); try a.buffer(dy); try a.buffer(dx); try a.buffer(validLens)
            try a.int(cols); try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            if let L { try a.local(floats: L) }
        }
    }

    public func crossEntropy(logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
                             into loss: Tensor, rows: Int, classes: Int) throws {
        try requireFloat32(logits, op: "crossEntropy")
        try launch(.ce_fw, global: (rows, 1, 1)) { a in
            try a.buffer(logits); try a.buffer(targets); try a.buffer(weights); try a.buffer(loss)
            try a.int(classes); try a.float(labelSmoothing); try a.int(weights == nil ? 0 : 1)
        }
    }

    public func crossEntropyBackward(logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
                                     gradLoss: Tensor, gradScale: Float, into dLogits: Tensor, rows: Int, classes: Int) throws {
        try requireFloat32(logits, op: "crossEntropyBackward")
        try launch(.ce_bw, global: (rows, 1, 1)) { a in
            try a.buffer(logits); try a.buffer(targets); try a.buffer(weights); try a.buffer(gradLoss); try a.buffer(dLogits)
            try a.int(classes); try a.float(labelSmoothing); try a.int(weights == nil ? 0 : 1)
            try a.int(gradLoss.count == rows ? 0 : 1); try a.float(gradScale)
        }
    }

    public func layerNorm(_ x: Tensor, residual: Tensor?, dropout: DropoutMask?, gamma: Tensor, beta: Tensor, eps: Float,
                          into y: Tensor, sum: Tensor?, mean: Tensor, rstd: Tensor, rows: Int, cols: Int) throws {
        try requireFloat32(x, gamma, beta, op: "layerNorm")
        let L = rowGroupSize(cols: cols)
        try launch(L == nil ? .ln_fw : .ln_fw_wg, global: (rows * (L ?? 1), 1, 1), local: L.map { ($0, 1, 1) }) { a in
            try a.buffer(x); try a.buffer(gamma); try a.buffer(beta); try a.buffer(y); try a.buffer(mean); try a.buffer(rstd)
            try a.int(cols); try a.float(eps)
            try a.buffer(residual); try a.buffer(sum); try a.int(residual == nil ? 0 : 1); try a.dropout(dropout)
            if let L { try a.local(floats: L) }
        }
    }

    public func layerNormBackward(_ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
                                  dropout: DropoutMask?, into dx: Tensor, dResidual: Tensor?, dGamma: Tensor, dBeta: Tensor,
                                  rows: Int, cols: Int) throws {
        try requireFloat32(x, op: "layerNormBackward")
        // One launch: each work-item's share of dx (its row), then of dγ and dβ (columns dealt out).
        if rows == 0 {
            try fill(dGamma, value: 0); try fill(dBeta, value: 0)
            return
        }
        let L = rowGroupSize(cols: cols)
        try launch(L == nil ? .ln_bw : .ln_bw_wg, global: (rows * (L ?? 1), 1, 1), local: L.map { ($0, 1, 1) }) { a in
            try a.buffer(x); try a.buffer(dy); try a.buffer(gamma); try a.buffer(mean); try a.buffer(rstd); try a.buffer(dx)
            try a.int(cols)
            try a.buffer(dResidual); try a.int(dResidual == nil ? 0 : 1); try a.dropout(dropout)
            try a.buffer(dGamma); try a.buffer(dBeta); try a.int(rows)
            if let L { try a.local(floats: L) }
        }
    }

    public func attention(q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, scale: Float, dropout: DropoutMask?,
                          into out: Tensor, weights: Tensor, dims d: AttentionDims) throws {
        try requireFloat32(q, k, v, op: "attention")
        let rep = validLens.map { (d.batch / d.heads * d.queries) / max($0.count, 1) } ?? 1
        if d.keys * d.depth >= 2048 && (d.heads > 1 || !d.isUnpacked) {
            // Long sequences run on contiguous heads: split, attend, merge (four copies).
            let items = d.batch / d.heads
            let split = { (t: Tensor, steps: Int, width: Int, columns: AttentionColumns) throws -> Tensor in
                let c = try Tensor.empty([d.batch, steps, width], on: self)
                try self.copyStrided(t, into: c, layout: try StridedLayout.make(
                    shape: [items, d.heads, steps, width], srcStrides: [steps * columns.stride, width, columns.stride, 1],
                    dstStrides: [d.heads * steps * width, steps * width, width, 1], srcOffset: columns.offset))
                return c
            }
            let o = try Tensor.empty([d.batch, d.queries, d.valueDepth], on: self)
            let plain = AttentionDims(batch: d.batch, queries: d.queries, keys: d.keys, depth: d.depth, valueDepth: d.valueDepth)
            // Lengths per query, shared by the heads, repeated for the split heads' rows.
            var lens = validLens
            if let l = validLens, d.heads > 1, l.count == items * d.queries {
                lens = try Tensor.empty([items, d.heads, d.queries], dtype: .int32, on: self)
                try copyStrided(l, into: lens!, layout: try StridedLayout.make(
                    shape: [items, d.heads, d.queries], srcStrides: [d.queries, 0, 1], dstStrides: [d.heads * d.queries, d.queries, 1]))
            }
            try attention(q: try split(q, d.queries, d.depth, d.query), k: try split(k, d.keys, d.depth, d.key),
                          v: try split(v, d.keys, d.valueDepth, d.value),
                          validLens: lens, scale: scale, dropout: dropout, into: o, weights: weights, dims: plain)
            try copyStrided(o, into: out, layout: try StridedLayout.make(
                shape: [items, d.heads, d.queries, d.valueDepth],
                srcStrides: [d.heads * d.queries * d.valueDepth, d.queries * d.valueDepth, d.valueDepth, 1],
                dstStrides: [d.queries * d.heads * d.valueDepth, d.valueDepth, d.heads * d.valueDepth, 1]))
            return
        }
        if d.keys * d.depth >= 2048 {
            // Long sequences: scores by the tuned GEMM, the masked softmax in place, then P V (P
            // dropped out into a copy first, when training).
            lock.lock(); defer { lock.unlock() }
            try gemmPlan.run(q, k, weights, GemmShape(batch: d.batch, m: d.queries, n: d.keys, k: d.depth, transB: true),
                             alpha: scale, beta: 0, bias: nil, relu: false)
            try maskedSoftmax(weights, validLens: validLens, into: weights, rows: d.batch * d.queries, cols: d.keys)
            var p = weights
            if let dropout {
                p = try Tensor.empty(weights.shape, on: self)
                try self.dropout(weights, mask: dropout, into: p)
            }
            try gemmPlan.run(p, v, out, GemmShape(batch: d.batch, m: d.queries, n: d.valueDepth, k: d.keys),
                             alpha: 1, beta: 0, bias: nil, relu: false)
            return
        }
        try launch(.at_fw, global: (d.queries, d.batch, 1)) { a in
            try a.buffer(q); try a.buffer(k); try a.buffer(v); try a.buffer(validLens); try a.buffer(out); try a.buffer(weights)
            try a.int(d.queries); try a.int(d.keys); try a.int(d.depth); try a.int(d.valueDepth)
            try a.float(scale); try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            try a.dropout(dropout); try a.int(d.heads); try a.columns(d)
        }
    }

    public func attentionBackward(q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, weights: Tensor, gradOutput dOut: Tensor,
                                  scale: Float, dropout: DropoutMask?, into dq: Tensor, dk: Tensor, dv: Tensor,
                                  dims d: AttentionDims) throws {
        try requireFloat32(q, k, v, op: "attentionBackward")
        let ds = try Tensor.empty([d.batch, d.queries, d.keys], on: self)
        let rep = validLens.map { (d.batch / d.heads * d.queries) / max($0.count, 1) } ?? 1
        try launch(.at_bw_q, global: (d.queries, d.batch, 1)) { a in
            try a.buffer(k); try a.buffer(v); try a.buffer(weights); try a.buffer(dOut); try a.buffer(validLens)
            try a.buffer(ds); try a.buffer(dq)
            try a.int(d.queries); try a.int(d.keys); try a.int(d.depth); try a.int(d.valueDepth); try a.float(scale)
            try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            try a.dropout(dropout); try a.int(d.heads); try a.columns(d)
        }
        try launch(.at_bw_kv, global: (d.keys, d.batch, 1)) { a in
            try a.buffer(q); try a.buffer(weights); try a.buffer(dOut); try a.buffer(ds); try a.buffer(dk); try a.buffer(dv)
            try a.int(d.queries); try a.int(d.keys); try a.int(d.depth); try a.int(d.valueDepth)
            try a.dropout(dropout); try a.int(d.heads); try a.columns(d)
        }
    }

    public func embedding(table: Tensor, indices: Tensor, scale: Float, positions: Tensor?, dropout: DropoutMask?,
                          into out: Tensor, count: Int, dim: Int) throws {
        try requireFloat32(table, op: "embedding")
        try launch(.emb_fw, global: (dim, count, 1)) { a in
            try a.buffer(table); try a.buffer(indices); try a.buffer(out); try a.int(dim); try a.int(table.count / max(dim, 1))
            try a.float(scale); try a.buffer(positions); try a.int(positions.map { $0.count / max(dim, 1) } ?? 0)
            try a.dropout(dropout)
        }
    }

    public func embeddingBackward(gradOutput dOut: Tensor, indices: Tensor, scale: Float, dropout: DropoutMask?,
                                  into dTable: Tensor, count: Int, dim: Int) throws {
        try requireFloat32(dOut, op: "embeddingBackward")
        try launch(.emb_bw, global: (dim, 1, 1)) { a in
            try a.buffer(dOut); try a.buffer(indices); try a.buffer(dTable)
            try a.int(dim); try a.int(dTable.count / max(dim, 1)); try a.int(count); try a.float(scale)
            try a.dropout(dropout)
        }
    }

    public func dropout(_ x: Tensor, mask: DropoutMask, into y: Tensor) throws {
        try requireFloat32(x, op: "dropout")
        try launch(.dropout, global: (x.count, 1, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.int(x.count); try a.float(mask.p); try a.ulong(mask.seed); try a.ulong(mask.offset)
            try a.int(mask.block); try a.int(mask.stride)
        }
    }
}
