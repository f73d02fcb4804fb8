// Layer normalisation over the last axis with an affine γ, β (PyTorch's LayerNorm, biased variance),
// alone or fused with the residual sum and dropout before it (the Transformer's AddNorm).

extension Tensor {
    /// Layer normalisation over the last axis (biased variance), then the affine γ·x̂ + β per column.
    public func layerNorm(gamma: Tensor, beta: Tensor, eps: Float = 1e-5) throws -> Tensor {
        try checkFloat(op: "layerNorm")
        try checkSameDevice([gamma, beta], op: "layerNorm")
        guard let cols = shape.last, gamma.count == cols, beta.count == cols else {
            throw DiveError.shapeMismatch(op: "layerNorm", detail: "input \(shape) with γ \(gamma.shape) and β \(beta.shape)")
        }
        let rows = count / Swift.max(cols, 1)
        let out = try emptyLike()
        let mean = try emptyLike([rows]), rstd = try emptyLike([rows])
        try backend.layerNorm(self, gamma: gamma, beta: beta, eps: eps, into: out, mean: mean, rstd: rstd, rows: rows, cols: cols)
        if Autograd.shouldRecord([self, gamma, beta]) {
            let x = detached(), gm = gamma.detached()
            out.record(inputs: [self, gamma, beta]) { g in
                let dx = try x.emptyLike(), dGamma = try gm.emptyLike(), dBeta = try gm.emptyLike()
                try x.backend.layerNormBackward(
                    x, gradOutput: g, gamma: gm, mean: mean, rstd: rstd,
                    into: dx, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
                return [dx, dGamma, dBeta]
            }
        }
        return out
    }

    /// The Transformer's AddNorm, LN(x + dropout(y)), in one layer-norm launch each way: the sum
    /// and the dropout happen inside the kernel (the mask `y.dropout(p:stream:)` would draw at this
    /// point of the stream), and the backward writes y's gradient beside x's.
    public static func addNorm(
        _ x: Tensor, _ y: Tensor, gamma: Tensor, beta: Tensor, eps: Float = 1e-5,
        dropout p: Float = 0, stream: RandomStream? = nil
    ) throws -> Tensor {
        try x.checkFloat(op: "addNorm")
        try x.checkSameDevice([y, gamma, beta], op: "addNorm")
        guard let cols = x.shape.last, y.shape == x.shape, y.dtype == x.dtype, gamma.count == cols, beta.count == cols else {
            throw DiveError.shapeMismatch(op: "addNorm", detail: "x \(x.shape), y \(y.shape), γ \(gamma.shape), β \(beta.shape)")
        }
        guard p >= 0 && p <= 1 else { throw DiveError.invalidArgument(op: "addNorm", detail: "dropout probability \(p) outside [0, 1]") }
        var mask: DropoutMask?
        if p > 0 {
            guard let stream else { throw DiveError.invalidArgument(op: "addNorm", detail: "dropout \(p) needs a random stream") }
            mask = try stream.mask(p: p, count: y.count)
        }
        let rows = x.count / Swift.max(cols, 1)
        let out = try x.emptyLike(), sum = try x.emptyLike()
        let mean = try x.emptyLike([rows]), rstd = try x.emptyLike([rows])
        try x.backend.layerNorm(
            x, residual: y, dropout: mask, gamma: gamma, beta: beta, eps: eps, into: out, sum: sum,
            mean: mean, rstd: rstd, rows: rows, cols: cols)
        if Autograd.shouldRecord([x, y, gamma, beta]) {
            let gm = gamma.detached()
            out.record(inputs: [x, y, gamma, beta]) { g in
                let dz = try sum.emptyLike(), dGamma = try gm.emptyLike(), dBeta = try gm.emptyLike()
                let dy = try sum.emptyLike()
                try sum.backend.layerNormBackward(
                    sum, gradOutput: g, gamma: gm, mean: mean, rstd: rstd, dropout: mask,
                    into: dz, dResidual: dy, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
                return [dz, dy, dGamma, dBeta]
            }
        }
        return out
    }
}
