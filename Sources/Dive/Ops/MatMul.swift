// Matrix products: `matmul` for matrices (the left one may carry leading axes, as a Linear layer's
// input does) and `bmm` for batches of matrices, either operand optionally transposed, with an
// optional bias and ReLU applied in the same launch. Backward: dA = dC · op(B)ᵀ, dB = op(A)ᵀ · dC, as GEMMs
// with transposes, each added in place into a gradient gathered so far where autograd offers one;
// dbias = Σ over rows of dC.

extension Tensor {
    /// (m, k) · (k, n) → (m, n); with `transposeA` self is (k, m), with `transposeB` b is (n, k).
    /// Without `transposeA`, self may be (..., k): its leading axes are rows, (..., k) → (..., n).
    /// `bias` (n) is added to every row, and then with `relu` max(0, ·) applied (a Linear layer and
    /// its activation in one GEMM launch).
    public func matmul(
        _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, bias: Tensor? = nil,
        relu: Bool = false
    ) throws -> Tensor {
        guard rank == 2 || (rank > 2 && !transposeA), b.rank == 2 else {
            throw DiveError.shapeMismatch(
                op: "matmul",
                detail: "expects matrices (or (..., k) · (k, n)), got \(shape)\(transposeA ? "ᵀ" : "") and \(b.shape); use bmm for batches")
        }
        let rows = shape.dropLast().reduce(1, *)
        let out = try Tensor.bmm(
            self, as: [1, rows, shape[rank - 1]], b, as: [1] + b.shape, transposeA: transposeA,
            transposeB: transposeB, bias: bias, relu: relu)
        return try out.reshaped(transposeA ? [out.shape[1], out.shape[2]] : Array(shape.dropLast()) + [out.shape[2]])
    }

    /// Batched product (B, m, k) · (B, k, n) → (B, m, n). Either operand may have batch 1 (shared).
    public func bmm(_ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        try Tensor.bmm(self, as: shape, b, as: b.shape, transposeA: transposeA, transposeB: transposeB)
    }

    /// The product of `a` and `b` read as the 3-D shapes `shapeA` and `shapeB` (same counts; the
    /// gradients come back in their own shapes). With `adding` (as many elements as the result),
    /// the product is added into it in place (GEMM beta = 1) and `adding` itself is returned: how
    /// a backward adds into a gathered gradient.
    static func bmm(
        _ a: Tensor, as shapeA: [Int], _ b: Tensor, as shapeB: [Int], transposeA: Bool, transposeB: Bool,
        bias: Tensor? = nil, relu: Bool = false, adding sum: Tensor? = nil
    ) throws -> Tensor {
        try a.checkSameDevice([b] + (bias.map { [$0] } ?? []), op: "bmm")
        try a.checkFloat(op: "bmm")
        guard shapeA.count == 3, shapeB.count == 3, a.dtype == b.dtype else {
            throw DiveError.shapeMismatch(op: "bmm", detail: "expects 3-D operands of one type, got \(a.shape) and \(b.shape)")
        }
        let a3 = try a.detached().reshaped(shapeA), b3 = try b.detached().reshaped(shapeB)
        let m = transposeA ? shapeA[2] : shapeA[1], k = transposeA ? shapeA[1] : shapeA[2]
        let kb = transposeB ? shapeB[2] : shapeB[1], n = transposeB ? shapeB[1] : shapeB[2]
        let batch = Swift.max(shapeA[0], shapeB[0])
        guard k == kb, shapeA[0] == batch || shapeA[0] == 1, shapeB[0] == batch || shapeB[0] == 1 else {
            throw DiveError.shapeMismatch(op: "bmm", detail: "\(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        }
        if let bias, bias.count != n || bias.dtype != a.dtype {
            throw DiveError.shapeMismatch(op: "bmm", detail: "bias \(bias.shape) \(bias.dtype) for products of \(n) columns")
        }
        if let sum, sum.count != batch * m * n || sum.dtype != a.dtype {
            throw DiveError.shapeMismatch(op: "bmm", detail: "adding into \(sum.shape) \(sum.dtype), products are \([batch, m, n])")
        }
        let out = try sum.map { try $0.reshaped([batch, m, n]) } ?? a.emptyLike([batch, m, n])
        let shape = GemmShape(
            batch: batch, m: m, n: n, k: k, transA: transposeA, transB: transposeB,
            strideA: shapeA[0] == 1 ? 0 : m * k, strideB: shapeB[0] == 1 ? 0 : k * n)
        try a.backend.gemm(a3, b3, into: out, shape: shape, alpha: 1, beta: sum == nil ? 0 : 1, bias: bias, relu: relu)
        if let sum { return sum }  // only backward passes add (autograd is off there)
        let inputs = [a, b] + (bias.map { [$0] } ?? [])
        if Autograd.shouldRecord(inputs) {
            let needA = a.requiresGrad, needB = b.requiresGrad, needBias = bias?.requiresGrad ?? false
            let originalA = a.shape, originalB = b.shape, y = relu ? out.detached() : nil
            out.record(
                inputs: inputs,
                accumulatingBackward: { dy, gathered in
                    var da: Tensor?, db: Tensor?
                    // Through the ReLU first: y > 0 exactly where its input was.
                    var g = dy
                    if relu {
                        g = try dy.emptyLike()
                        try dy.backend.unaryBackward(.relu, input: y!, output: y!, gradOutput: dy, into: g)
                    }
                    // A gradient gathered so far for an operand that is not shared across the batch
                    // takes this product in place (and is returned as it is).
                    let intoA = shapeA[0] == batch ? gathered[0] : nil
                    let intoB = shapeB[0] == batch ? gathered[1] : nil
                    if needA {
                        // op(A) = G · op(B)ᵀ; store in A's own layout.
                        da =
                            transposeA
                            ? try bmm(b3, as: shapeB, g, as: g.shape, transposeA: transposeB, transposeB: true, adding: intoA)
                            : try bmm(g, as: g.shape, b3, as: shapeB, transposeA: false, transposeB: !transposeB, adding: intoA)
                        if shapeA[0] == 1 && batch > 1 { da = try da!.sum(axis: 0, keepDims: true) }
                        if intoA == nil { da = try da!.reshaped(originalA) }
                    }
                    if needB {
                        // op(B) = op(A)ᵀ · G
                        db =
                            transposeB
                            ? try bmm(g, as: g.shape, a3, as: shapeA, transposeA: true, transposeB: transposeA, adding: intoB)
                            : try bmm(a3, as: shapeA, g, as: g.shape, transposeA: !transposeA, transposeB: false, adding: intoB)
                        if shapeB[0] == 1 && batch > 1 { db = try db!.sum(axis: 0, keepDims: true) }
                        if intoB == nil { db = try db!.reshaped(originalB) }
                    }
                    let dbias = needBias ? try g.reshaped([batch * m, n]).sum(axis: 0) : nil
                    return [da, db] + (bias == nil ? [] : [dbias])
                })
        }
        return out
    }
}
