// Layer normalisation over the last axis with an affine γ, β (PyTorch's LayerNorm, biased variance).

extension Tensor {
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
                try x.backend.layerNormBackward(x, gradOutput: g, gamma: gm, mean: mean, rstd: rstd,
                                                into: dx, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
                return [dx, dGamma, dBeta]
            }
        }
        return out
    }
}
