// Kernel-device (OpenCL, CUDA) fused attention (Ops/Attention.swift) forward and backward: argument plumbing for
// Kernels/attention.cl.
import Foundation

extension KernelBackend {
    /// Float32 attention: one fused at_fw launch, or for long keys tuned GEMMs around the masked softmax.
    public func attention(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, scale: Float, dropout: DropoutMask?,
        into out: Tensor, weights: Tensor, dims d: AttentionDims
    ) throws {
        try requireFloat32(q, k, v, op: "attention")
        let rep = validLens.map { (d.batch / d.heads * d.queries) / max($0.count, 1) } ?? 1
        if d.keys * d.depth >= 2048 && (d.heads > 1 || !d.isUnpacked) {
            // Long sequences run on contiguous heads: split, attend, merge (four copies).
            let items = d.batch / d.heads
            let split = { (t: Tensor, steps: Int, width: Int, columns: AttentionColumns) throws -> Tensor in
                let c = try Tensor.empty([d.batch, steps, width], on: self)
                try self.copyStrided(
                    t, into: c,
                    layout: try StridedLayout.make(
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
                try copyStrided(
                    l, into: lens!,
                    layout: try StridedLayout.make(
                        shape: [items, d.heads, d.queries], srcStrides: [d.queries, 0, 1], dstStrides: [d.heads * d.queries, d.queries, 1]))
            }
            try attention(
                q: try split(q, d.queries, d.depth, d.query), k: try split(k, d.keys, d.depth, d.key),
                v: try split(v, d.keys, d.valueDepth, d.value),
                validLens: lens, scale: scale, dropout: dropout, into: o, weights: weights, dims: plain)
            try copyStrided(
                o, into: out,
                layout: try StridedLayout.make(
                    shape: [items, d.heads, d.queries, d.valueDepth],
                    srcStrides: [d.heads * d.queries * d.valueDepth, d.queries * d.valueDepth, d.valueDepth, 1],
                    dstStrides: [d.queries * d.heads * d.valueDepth, d.valueDepth, d.heads * d.valueDepth, 1]))
            return
        }
        if d.keys * d.depth >= 2048 {
            // Long sequences: scores by the tuned GEMM, the masked softmax in place, then P V (P
            // dropped out into a copy first, when training).
            lock.lock(); defer { lock.unlock() }
            try gemmPlan.run(
                q, k, weights, GemmShape(batch: d.batch, m: d.queries, n: d.keys, k: d.depth, transB: true),
                alpha: scale, beta: 0, bias: nil, relu: false)
            try maskedSoftmax(weights, validLens: validLens, into: weights, rows: d.batch * d.queries, cols: d.keys)
            var p = weights
            if let dropout {
                p = try Tensor.empty(weights.shape, on: self)
                try self.dropout(weights, mask: dropout, into: p)
            }
            try gemmPlan.run(
                p, v, out, GemmShape(batch: d.batch, m: d.queries, n: d.valueDepth, k: d.keys),
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

    /// Float32 attention backward in two launches: at_bw_q writes dS and dQ, then at_bw_kv writes dK and dV.
    public func attentionBackward(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, weights: Tensor, gradOutput dOut: Tensor,
        scale: Float, dropout: DropoutMask?, into dq: Tensor, dk: Tensor, dv: Tensor,
        dims d: AttentionDims
    ) throws {
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
}
