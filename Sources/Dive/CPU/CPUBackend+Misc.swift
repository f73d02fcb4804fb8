// CPU embeddings, dropout, the fused Adam step and the global norm for gradient clipping.
import RealModule

extension CPUBackend {
    public func embedding(table: Tensor, indices: Tensor, scale: Float, positions: Tensor?, dropout: DropoutMask?,
                          into out: Tensor, count: Int, dim: Int) throws {
        try gather(table: table, indices: indices, into: out, count: count, dim: dim)
        // The rest of the chain, in place: scale, positions, dropout.
        if scale != 1 { try unary(.mulScalar(scale), out, into: out) }
        if let positions {
            let steps = positions.count / max(dim, 1)
            let rows = Tensor(shape: [count / max(steps, 1), steps, dim], dtype: out.dtype, storage: out.storage, backend: self)
            try binary(.add, rows, positions, into: rows, plan: try BroadcastPlan.make(rows.shape, [1, steps, dim], op: "embedding"))
        }
        if let dropout { try self.dropout(out, mask: dropout, into: out) }
    }

    private func gather(table: Tensor, indices: Tensor, into out: Tensor, count: Int, dim: Int) throws {
        let rowsInTable = table.count / max(dim, 1)
        let idx = indices.cpuPointer(Int32.self)
        let bytes = table.dtype.byteSize * dim
        let src = unsafeDowncast(table.storage, to: CPUBuffer.self).pointer
        let dst = unsafeDowncast(out.storage, to: CPUBuffer.self).pointer
        Parallel.forRanges(count, costPerItem: bytes) { rows in
            for n in rows {
                let i = Int(idx[n])
                if i >= 0 && i < rowsInTable {
                    (dst + n * bytes).copyMemory(from: src + i * bytes, byteCount: bytes)
                } else {
                    (dst + n * bytes).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                }
            }
        }
    }

    public func embeddingBackward(gradOutput dOut: Tensor, indices: Tensor, scale: Float, dropout: DropoutMask?,
                                  into dTable: Tensor, count: Int, dim: Int) throws {
        var g = dOut
        if dropout != nil || scale != 1 {
            g = try dOut.emptyLike()
            if let dropout { try self.dropout(dOut, mask: dropout, into: g) }
            try unary(.mulScalar(scale), dropout == nil ? dOut : g, into: g)
        }
        try scatterAdd(gradOutput: g, indices: indices, into: dTable, count: count, dim: dim)
    }

    private func scatterAdd(gradOutput dOut: Tensor, indices: Tensor, into dTable: Tensor, count: Int, dim: Int) throws {
        if try isDouble(dOut, "embeddingBackward") {
            scatterAdd(dOut.cpuPointer(Double.self), indices.cpuPointer(Int32.self), dTable.cpuPointer(Double.self),
                       count, dim, dTable.count / max(dim, 1))
        } else {
            scatterAdd(dOut.cpuPointer(Float.self), indices.cpuPointer(Int32.self), dTable.cpuPointer(Float.self),
                       count, dim, dTable.count / max(dim, 1))
        }
    }

    /// The cores take column ranges of the table, so no two write the same element.
    private func scatterAdd<T: CPUFloat>(_ g: UnsafeMutablePointer<T>, _ idx: UnsafeMutablePointer<Int32>,
                                         _ table: UnsafeMutablePointer<T>, _ count: Int, _ dim: Int, _ rows: Int) {
        table.update(repeating: 0, count: rows * dim)
        Parallel.forRanges(dim, costPerItem: count) { cols in
            for n in 0..<count {
                let i = Int(idx[n])
                guard i >= 0 && i < rows else { continue }
                let dst = table + i * dim, src = g + n * dim
                for j in cols { dst[j] += src[j] }
            }
        }
    }

    public func dropout(_ x: Tensor, mask: DropoutMask, into y: Tensor) throws {
        // A strided mask is contiguous within each block: one contiguous loop per block.
        let n = x.count, block = mask.block > 0 ? mask.block : max(n, 1)
        let double = try isDouble(x, "dropout")
        for start in stride(from: 0, to: n, by: block) {
            let m = min(block, n - start), offset = mask.counter(start)
            if double {
                dropoutLoop(x.cpuPointer(Double.self) + start, y.cpuPointer(Double.self) + start, m, mask.p, mask.seed, offset)
            } else {
                dropoutLoop(x.cpuPointer(Float.self) + start, y.cpuPointer(Float.self) + start, m, mask.p, mask.seed, offset)
            }
        }
    }

    func dropoutLoop<T: CPUFloat>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int,
                                          _ p: Float, _ seed: UInt64, _ offset: UInt64) {
        let keepScale = p < 1 ? 1 / (1 - T(p)) : 0
        // CounterRNG.uniform(seed, offset + i) >= p, with mix(seed) hoisted, the counter stepped by
        // addition, and the test on the 24 bits as integers: k·2⁻²⁴ ≥ p ⟺ k ≥ ⌈p·2²⁴⌉ (exact).
        let base = CounterRNG.mix(seed), golden: UInt64 = 0x9E37_79B9_7F4A_7C15
        let threshold = UInt64((Double(p) * 0x1p24).rounded(.up))
        Parallel.forRanges(n, costPerItem: 16) { r in
            var z = base &+ (offset &+ UInt64(r.lowerBound) &+ 1) &* golden
            for i in r {
                let k = CounterRNG.mix(z) >> 40
                z = z &+ golden
                let kept = x[i] * keepScale            // computed unconditionally so the select has no branch
                y[i] = k >= threshold ? kept : 0
            }
        }
    }

    public func adamStep(params: [Tensor], grads: [Tensor], m: [Tensor], v: [Tensor], hyper h: AdamHyper) throws {
        for i in params.indices {
            if try isDouble(params[i], "adamStep") {
                adamLoop(params[i], grads[i], m[i], v[i], h, Double.self)
            } else {
                adamLoop(params[i], grads[i], m[i], v[i], h, Float.self)
            }
        }
    }

    /// PyTorch's Adam: m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²;
    /// p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε). Adam adds wd·p to g; AdamW scales p by 1 - lr·wd.
    private func adamLoop<T: CPUFloat>(_ param: Tensor, _ grad: Tensor, _ m: Tensor, _ v: Tensor, _ h: AdamHyper, _ type: T.Type) {
        let p = param.cpuPointer(T.self), g = grad.cpuPointer(T.self)
        let mp = m.cpuPointer(T.self), vp = v.cpuPointer(T.self)
        let gscale: T = h.gradScale.map { $0.cpuPointer(T.self)[0] } ?? 1
        let b1 = T(h.beta1), b2 = T(h.beta2), lr = T(h.lr), wd = T(h.weightDecay), eps = T(h.eps)
        let c1 = 1 - T.pow(b1, T(h.step)), c2 = 1 - T.pow(b2, T(h.step))
        let stepSize = lr / c1, c2root = c2.squareRoot()
        let decay: T = h.decoupled ? 1 - lr * wd : 1
        let l2: T = h.decoupled ? 0 : wd
        Parallel.forRanges(param.count, costPerItem: 16) { r in
            for i in r {
                let gi = g[i] * gscale + l2 * p[i]
                mp[i] = b1 * mp[i] + (1 - b1) * gi
                vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                p[i] = p[i] * decay - stepSize * mp[i] / (vp[i].squareRoot() / c2root + eps)
            }
        }
    }

    public func globalNorm(_ tensors: [Tensor], clipTo maxNorm: Float?, into out: Tensor) throws {
        var total = 0.0
        for t in tensors {
            if try isDouble(t, "globalNorm") {
                let p = t.cpuPointer(Double.self)
                for i in 0..<t.count { total += p[i] * p[i] }
            } else {
                total += Double(CPUKernels.table.sum_of_squares(t.cpuPointer(Float.self), t.count))
            }
        }
        let norm = total.squareRoot()
        let result = maxNorm.map { norm > Double($0) ? Double($0) / norm : 1 } ?? norm
        if out.dtype == .float64 { out.cpuPointer(Double.self)[0] = result } else { out.cpuPointer(Float.self)[0] = Float(result) }
    }
}
