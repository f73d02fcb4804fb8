// CPU LayerNorm (Ops/LayerNorm.swift), with the fused residual and dropout, and its backward:
// Float32 rows through CKernels' row kernels, Float64 through the generic loops.
import Foundation
import RealModule

extension CPUBackend {
    /// Layer normalisation of each row of (rows, cols), of z = x + dropout(residual) when given a residual.
    public func layerNorm(
        _ x: Tensor, residual: Tensor?, dropout: DropoutMask?, gamma: Tensor, beta: Tensor, eps: Float,
        into y: Tensor, sum: Tensor?, mean: Tensor, rstd: Tensor, rows: Int, cols: Int
    ) throws {
        if let residual, let sum {
            // z = x + dropout(residual), then the plain layer norm of z.
            if let dropout {
                try self.dropout(residual, mask: dropout, into: sum)
            } else {
                try copyStrided(residual, into: sum, layout: try StridedLayout.make(shape: [sum.count], srcStrides: [1], dstStrides: [1]))
            }
            try binary(.add, sum, x, into: sum, plan: try BroadcastPlan.make(sum.shape, x.shape, op: "layerNorm"))
            return try layerNorm(
                sum, residual: nil, dropout: nil, gamma: gamma, beta: beta, eps: eps, into: y, sum: nil,
                mean: mean, rstd: rstd, rows: rows, cols: cols)
        }
        if try isDouble(x, "layerNorm") {
            let xp = x.cpuPointer(Double.self), yp = y.cpuPointer(Double.self)
            let gp = gamma.cpuPointer(Double.self), bp = beta.cpuPointer(Double.self)
            let mp = mean.cpuPointer(Double.self), rp = rstd.cpuPointer(Double.self)
            Parallel.forRanges(rows, costPerItem: 6 * cols) { r in
                for row in r {
                    let xr = xp + row * cols, yr = yp + row * cols
                    var mu = 0.0
                    for j in 0..<cols { mu += xr[j] }
                    mu /= Double(cols)
                    var variance = 0.0
                    for j in 0..<cols { variance += (xr[j] - mu) * (xr[j] - mu) }
                    let inv = 1 / (variance / Double(cols) + Double(eps)).squareRoot()
                    for j in 0..<cols { yr[j] = (xr[j] - mu) * inv * gp[j] + bp[j] }
                    mp[row] = mu; rp[row] = inv
                }
            }
        } else {
            let xp = x.cpuPointer(Float.self), yp = y.cpuPointer(Float.self)
            let gp = gamma.cpuPointer(Float.self), bp = beta.cpuPointer(Float.self)
            let mp = mean.cpuPointer(Float.self), rp = rstd.cpuPointer(Float.self)
            Parallel.forRanges(rows, costPerItem: 6 * cols) { r in
                for row in r {
                    CPUKernels.table.layer_norm_row(xp + row * cols, gp, bp, yp + row * cols, cols, eps, mp + row, rp + row)
                }
            }
        }
    }

    /// Writes dx per row and dGamma, dBeta from per-thread partial sums; with `dResidual`, also dropout(dx).
    public func layerNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        dropout: DropoutMask?, into dx: Tensor, dResidual: Tensor?, dGamma: Tensor, dBeta: Tensor,
        rows: Int, cols: Int
    ) throws {
        if let dResidual {
            try layerNormBackward(
                x, gradOutput: dy, gamma: gamma, mean: mean, rstd: rstd, dropout: nil, into: dx,
                dResidual: nil, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
            if let dropout {
                try self.dropout(dx, mask: dropout, into: dResidual)
            } else {
                try copyStrided(dx, into: dResidual, layout: try StridedLayout.make(shape: [dx.count], srcStrides: [1], dstStrides: [1]))
            }
            return
        }
        if try isDouble(x, "layerNormBackward") {
            layerNormBackwardLoop(x, dy, gamma, mean, rstd, dx, dGamma, dBeta, rows, cols, Double.self) { x, dy, g, m, r, dx, dg, db, n in
                // dx = rstd · (dŷ - mean(dŷ) - x̂ · mean(dŷ · x̂)), dŷ = dy · γ
                var meanD = 0.0, meanDX = 0.0
                for j in 0..<n { let xh = (x[j] - m) * r; let d = dy[j] * g[j]; meanD += d; meanDX += d * xh }
                meanD /= Double(n); meanDX /= Double(n)
                for j in 0..<n {
                    let xh = (x[j] - m) * r
                    dx[j] = r * (dy[j] * g[j] - meanD - xh * meanDX)
                    dg[j] += dy[j] * xh; db[j] += dy[j]
                }
            }
        } else {
            layerNormBackwardLoop(x, dy, gamma, mean, rstd, dx, dGamma, dBeta, rows, cols, Float.self) { x, dy, g, m, r, dx, dg, db, n in
                CPUKernels.table.layer_norm_backward_row(x, dy, g, m, r, dx, dg, db, n)
            }
        }
    }

    /// Splits rows into blocks, each accumulating its own dγ, dβ partials, then sums the partials
    /// in block order. The blocks are cut by the row count alone (at most 16, of 32 rows or more),
    /// never by the thread count, so the sums are the same on any number of cores.
    private func layerNormBackwardLoop<T: CPUFloat>(
        _ x: Tensor, _ dy: Tensor, _ gamma: Tensor, _ mean: Tensor, _ rstd: Tensor,
        _ dx: Tensor, _ dGamma: Tensor, _ dBeta: Tensor, _ rows: Int, _ cols: Int, _ type: T.Type,
        row rowBackward: (
            UnsafePointer<T>, UnsafePointer<T>, UnsafePointer<T>, T, T,
            UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, Int
        ) -> Void
    ) {
        let xp = x.cpuPointer(T.self), gp = dy.cpuPointer(T.self), wp = gamma.cpuPointer(T.self)
        let mp = mean.cpuPointer(T.self), rp = rstd.cpuPointer(T.self), dp = dx.cpuPointer(T.self)
        let blocks = min(16, max(1, rows / 32))
        let partials = UnsafeMutablePointer<T>.allocate(capacity: 2 * blocks * cols)
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: 2 * blocks * cols)
        Parallel.forRanges(blocks, costPerItem: max(1, rows * cols * 8 / blocks)) { br in
            for b in br {
                let dg = partials + 2 * b * cols, db = dg + cols
                for row in (b * rows / blocks)..<((b + 1) * rows / blocks) {
                    rowBackward(xp + row * cols, gp + row * cols, wp, mp[row], rp[row], dp + row * cols, dg, db, cols)
                }
            }
        }
        let dgOut = dGamma.cpuPointer(T.self), dbOut = dBeta.cpuPointer(T.self)
        for j in 0..<cols {
            var g: T = 0, b: T = 0
            for t in 0..<blocks { g += partials[2 * t * cols + j]; b += partials[(2 * t + 1) * cols + j] }
            dgOut[j] = g; dbOut[j] = b
        }
    }
}
