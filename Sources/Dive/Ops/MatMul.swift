// Matrix products: `matmul` for 2-D operands and `bmm` for batches of matrices, either operand
// optionally transposed, with an optional bias added in the same launch. Backward: dA = dC · op(B)ᵀ,
// dB = op(A)ᵀ · dC, as GEMMs with transposes; dbias = Σ over rows of dC.

extension Tensor {
    /// (m, k) · (k, n) → (m, n); with `transposeA` self is (k, m), with `transposeB` b is (n, k).
    /// `bias` (n) is added to every row (a Linear layer in one GEMM launch).
    public func matmul(_ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, bias: Tensor? = nil) throws -> Tensor {
        guard rank == 2, b.rank == 2 else {
            throw DiveError.shapeMismatch(op: "matmul", detail: "expects 2-D operands, got \(shape) and \(b.shape); use bmm for batches")
        }
        let out = try Tensor.bmm(try reshaped([1] + shape), try b.reshaped([1] + b.shape), transposeA: transposeA, transposeB: transposeB,
                                 bias: bias)
        return try out.reshaped(Array(out.shape.dropFirst()))
    }

    /// Batched product (B, m, k) · (B, k, n) → (B, m, n). Either operand may have batch 1 (shared).
    public func bmm(_ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        try Tensor.bmm(self, b, transposeA: transposeA, transposeB: transposeB)
    }

    static func bmm(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, bias: Tensor? = nil) throws -> Tensor {
        try a.checkSameDevice([b] + (bias.map { [$0] } ?? []), op: "bmm")
        try a.checkFloat(op: "bmm")
        guard a.rank == 3, b.rank == 3, a.dtype == b.dtype else {
            throw DiveError.shapeMismatch(op: "bmm", detail: "expects 3-D operands of one type, got \(a.shape) and \(b.shape)")
        }
        let m = transposeA ? a.shape[2] : a.shape[1], k = transposeA ? a.shape[1] : a.shape[2]
        let kb = transposeB ? b.shape[2] : b.shape[1], n = transposeB ? b.shape[1] : b.shape[2]
        let batch = Swift.max(a.shape[0], b.shape[0])
        guard k == kb, a.shape[0] == batch || a.shape[0] == 1, b.shape[0] == batch || b.shape[0] == 1 else {
            throw DiveError.shapeMismatch(op: "bmm", detail: "\(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        }
        if let bias, bias.count != n || bias.dtype != a.dtype {
            throw DiveError.shapeMismatch(op: "bmm", detail: "bias \(bias.shape) \(bias.dtype) for products of \(n) columns")
        }
        let out = try a.emptyLike([batch, m, n])
        let shape = GemmShape(batch: batch, m: m, n: n, k: k, transA: transposeA, transB: transposeB,
                              strideA: a.shape[0] == 1 ? 0 : m * k, strideB: b.shape[0] == 1 ? 0 : k * n)
        try a.backend.gemm(a, b, into: out, shape: shape, alpha: 1, beta: 0, bias: bias)
        let inputs = [a, b] + (bias.map { [$0] } ?? [])
        if Autograd.shouldRecord(inputs) {
            let ad = a.detached(), bd = b.detached()
            let needA = a.requiresGrad, needB = b.requiresGrad, needBias = bias?.requiresGrad ?? false
            out.record(inputs: inputs) { g in
                var da: Tensor?, db: Tensor?
                if needA {
                    // op(A) = G · op(B)ᵀ; store in A's own layout.
                    da = transposeA ? try bmm(bd, g, transposeA: transposeB, transposeB: true)
                                    : try bmm(g, bd, transposeA: false, transposeB: !transposeB)
                    if ad.shape[0] == 1 && batch > 1 { da = try da!.sum(axis: 0, keepDims: true) }
                }
                if needB {
                    // op(B) = op(A)ᵀ · G
                    db = transposeB ? try bmm(g, ad, transposeA: true, transposeB: transposeA)
                                    : try bmm(ad, g, transposeA: !transposeA, transposeB: false)
                    if bd.shape[0] == 1 && batch > 1 { db = try db!.sum(axis: 0, keepDims: true) }
                }
                let dbias = needBias ? try g.reshaped([batch * m, n]).sum(axis: 0) : nil
                return [da, db] + (bias == nil ? [] : [dbias])
            }
        }
        return out
    }
}
