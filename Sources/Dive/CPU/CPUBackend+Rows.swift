// CPU row ops: the book's masked softmax, cross-entropy with label smoothing, layernorm; each
// forward with its backward. Float32 rows go through CKernels' row kernels; Float64 through the
// generic loops below, which are also the readable definitions.
import Foundation
import RealModule

extension CPUBackend {
    // MARK: masked softmax

    public func maskedSoftmax(_ x: Tensor, validLens: Tensor?, into y: Tensor, rows: Int, cols: Int) throws {
        let lens = validLens?.cpuPointer(Int32.self)
        let repeatCount = validLens.map { rows / max($0.count, 1) } ?? 1
        @inline(__always) func valid(_ r: Int) -> Int { lens.map { Int($0[r / repeatCount]) } ?? cols }
        if try isDouble(x, "maskedSoftmax") {
            let xp = x.cpuPointer(Double.self), yp = y.cpuPointer(Double.self)
            Parallel.forRanges(rows, costPerItem: 8 * cols) { r in
                for row in r { softmaxRow(xp + row * cols, yp + row * cols, cols, valid(row)) }
            }
        } else {
            let xp = x.cpuPointer(Float.self), yp = y.cpuPointer(Float.self)
            Parallel.forRanges(rows, costPerItem: 8 * cols) { r in
                for row in r { CPUKernels.table.softmax_row(xp + row * cols, yp + row * cols, cols, valid(row)) }
            }
        }
    }

    private func softmaxRow<T: CPUFloat>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int, _ valid: Int) {
        let masked = T(maskedLogit)
        var m = -T.infinity
        for j in 0..<n { m = Swift.max(m, j < valid ? x[j] : masked) }
        var sum: T = 0
        for j in 0..<n { let e = T.exp((j < valid ? x[j] : masked) - m); y[j] = e; sum += e }
        let inv = 1 / sum
        for j in 0..<n { y[j] *= inv }
    }

    public func softmaxBackward(output y: Tensor, gradOutput dy: Tensor, validLens: Tensor?, into dx: Tensor,
                                rows: Int, cols: Int) throws {
        let lens = validLens?.cpuPointer(Int32.self)
        let repeatCount = validLens.map { rows / max($0.count, 1) } ?? 1
        @inline(__always) func valid(_ r: Int) -> Int { lens.map { min(max(Int($0[r / repeatCount]), 0), cols) } ?? cols }
        if try isDouble(y, "softmaxBackward") {
            let yp = y.cpuPointer(Double.self), gp = dy.cpuPointer(Double.self), dp = dx.cpuPointer(Double.self)
            Parallel.forRanges(rows, costPerItem: 4 * cols) { r in
                for row in r {
                    let yr = yp + row * cols, gr = gp + row * cols, dr = dp + row * cols
                    var dot = 0.0
                    for j in 0..<cols { dot += yr[j] * gr[j] }
                    for j in 0..<cols { dr[j] = yr[j] * (gr[j] - dot) }
                    (dr + valid(row)).update(repeating: 0, count: cols - valid(row))
                }
            }
        } else {
            let yp = y.cpuPointer(Float.self), gp = dy.cpuPointer(Float.self), dp = dx.cpuPointer(Float.self)
            Parallel.forRanges(rows, costPerItem: 4 * cols) { r in
                for row in r {
                    CPUKernels.table.softmax_backward_row(yp + row * cols, gp + row * cols, dp + row * cols, cols)
                    (dp + row * cols + valid(row)).update(repeating: 0, count: cols - valid(row))
                }
            }
        }
    }

    // MARK: cross-entropy

    public func crossEntropy(logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
                             into loss: Tensor, rows: Int, classes: Int) throws {
        if try isDouble(logits, "crossEntropy") {
            crossEntropyLoop(logits.cpuPointer(Double.self), targets.cpuPointer(Int32.self),
                             weights?.cpuPointer(Double.self), Double(labelSmoothing), loss.cpuPointer(Double.self), rows, classes)
        } else {
            crossEntropyRowsF32(logits.cpuPointer(Float.self), targets.cpuPointer(Int32.self),
                                weights?.cpuPointer(Float.self), labelSmoothing, loss.cpuPointer(Float.self), rows, classes)
        }
    }

    /// `crossEntropyLoop` for Float32 with the row kernels (max, exp and sum in vectors).
    private func crossEntropyRowsF32(_ x: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<Int32>,
                                     _ w: UnsafeMutablePointer<Float>?, _ eps: Float, _ loss: UnsafeMutablePointer<Float>,
                                     _ rows: Int, _ v: Int) {
        Parallel.forRanges(rows, costPerItem: 8 * v) { r in
            for row in r {
                let xr = UnsafePointer(x + row * v)
                let target = Int(t[row])
                guard target >= 0 && target < v else { loss[row] = .nan; continue }
                var m: Float = 0
                let sum = CPUKernels.table.exp_sum_row(xr, nil, v, &m)
                let lse = m + Foundation.log(sum)
                let nll = lse - xr[target]
                var smooth: Float = 0
                if eps != 0 {
                    var total: Float = 0
                    for j in 0..<v { total += xr[j] }
                    smooth = lse - total / Float(v)
                }
                loss[row] = ((1 - eps) * nll + eps * smooth) * (w?[row] ?? 1)
            }
        }
    }

    /// loss = -w · ((1-ε) log p[t] + ε/V Σ_j log p_j), with log p = x - logsumexp(x).
    /// A target outside 0..<V gives NaN, so a bad label cannot pass unnoticed.
    private func crossEntropyLoop<T: CPUFloat>(_ x: UnsafeMutablePointer<T>, _ t: UnsafeMutablePointer<Int32>,
                                               _ w: UnsafeMutablePointer<T>?, _ eps: T, _ loss: UnsafeMutablePointer<T>,
                                               _ rows: Int, _ v: Int) {
        Parallel.forRanges(rows, costPerItem: 8 * v) { r in
            for row in r {
                let xr = x + row * v
                let target = Int(t[row])
                guard target >= 0 && target < v else { loss[row] = .nan; continue }
                var m = -T.infinity, total: T = 0
                for j in 0..<v { m = Swift.max(m, xr[j]); total += xr[j] }
                var sum: T = 0
                for j in 0..<v { sum += T.exp(xr[j] - m) }
                let lse = m + T.log(sum)
                let nll = lse - xr[target]
                let smooth = lse - total / T(v)
                loss[row] = ((1 - eps) * nll + eps * smooth) * (w?[row] ?? 1)
            }
        }
    }

    public func crossEntropyBackward(logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
                                     gradLoss: Tensor, gradScale: Float, into dLogits: Tensor, rows: Int, classes: Int) throws {
        let gradStride = gradLoss.count == rows ? 1 : 0
        if try isDouble(logits, "crossEntropyBackward") {
            crossEntropyBackwardLoop(logits.cpuPointer(Double.self), targets.cpuPointer(Int32.self),
                                     weights?.cpuPointer(Double.self), Double(labelSmoothing),
                                     gradLoss.cpuPointer(Double.self), gradStride, Double(gradScale),
                                     dLogits.cpuPointer(Double.self), rows, classes)
        } else {
            crossEntropyBackwardRowsF32(logits.cpuPointer(Float.self), targets.cpuPointer(Int32.self),
                                        weights?.cpuPointer(Float.self), labelSmoothing,
                                        gradLoss.cpuPointer(Float.self), gradStride, gradScale,
                                        dLogits.cpuPointer(Float.self), rows, classes)
        }
    }

    /// `crossEntropyBackwardLoop` for Float32 with the row kernels.
    private func crossEntropyBackwardRowsF32(_ x: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<Int32>,
                                             _ w: UnsafeMutablePointer<Float>?, _ eps: Float, _ g: UnsafeMutablePointer<Float>,
                                             _ gStride: Int, _ gScale: Float, _ dx: UnsafeMutablePointer<Float>, _ rows: Int, _ v: Int) {
        Parallel.forRanges(rows, costPerItem: 8 * v) { r in
            for row in r {
                let xr = UnsafePointer(x + row * v), dr = dx + row * v
                let target = Int(t[row])
                let scale = g[row * gStride] * gScale * (w?[row] ?? 1)
                guard target >= 0 && target < v else { dr.update(repeating: .nan, count: v); continue }
                var m: Float = 0
                let sum = CPUKernels.table.exp_sum_row(xr, dr, v, &m)
                let a = scale / sum, b = scale * eps / Float(v)
                for j in 0..<v { dr[j] = dr[j] * a - b }
                dr[target] -= scale * (1 - eps)
            }
        }
    }

    /// dlogits = g · w · (softmax(x) - (1-ε)·onehot(t) - ε/V).
    private func crossEntropyBackwardLoop<T: CPUFloat>(_ x: UnsafeMutablePointer<T>, _ t: UnsafeMutablePointer<Int32>,
                                                       _ w: UnsafeMutablePointer<T>?, _ eps: T, _ g: UnsafeMutablePointer<T>,
                                                       _ gStride: Int, _ gScale: T, _ dx: UnsafeMutablePointer<T>, _ rows: Int, _ v: Int) {
        Parallel.forRanges(rows, costPerItem: 8 * v) { r in
            for row in r {
                let xr = x + row * v, dr = dx + row * v
                let target = Int(t[row])
                let scale = g[row * gStride] * gScale * (w?[row] ?? 1)
                guard target >= 0 && target < v else { dr.update(repeating: .nan, count: v); continue }
                var m = -T.infinity
                for j in 0..<v { m = Swift.max(m, xr[j]) }
                var sum: T = 0
                for j in 0..<v { let e = T.exp(xr[j] - m); dr[j] = e; sum += e }
                let inv = 1 / sum, uniform = eps / T(v)
                for j in 0..<v { dr[j] = scale * (dr[j] * inv - uniform) }
                dr[target] -= scale * (1 - eps)
            }
        }
    }

    // MARK: layernorm

    public func layerNorm(_ x: Tensor, residual: Tensor?, dropout: DropoutMask?, gamma: Tensor, beta: Tensor, eps: Float,
                          into y: Tensor, sum: Tensor?, mean: Tensor, rstd: Tensor, rows: Int, cols: Int) throws {
        if let residual, let sum {
            // z = x + dropout(residual), then the plain layer norm of z.
            if let dropout { try self.dropout(residual, mask: dropout, into: sum) }
            else { try copyStrided(residual, into: sum, layout: try StridedLayout.make(shape: [sum.count], srcStrides: [1], dstStrides: [1])) }
            try binary(.add, sum, x, into: sum, plan: try BroadcastPlan.make(sum.shape, x.shape, op: "layerNorm"))
            return try layerNorm(sum, residual: nil, dropout: nil, gamma: gamma, beta: beta, eps: eps, into: y, sum: nil,
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

    public func layerNormBackward(_ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
                                  dropout: DropoutMask?, into dx: Tensor, dResidual: Tensor?, dGamma: Tensor, dBeta: Tensor,
                                  rows: Int, cols: Int) throws {
        if let dResidual {
            try layerNormBackward(x, gradOutput: dy, gamma: gamma, mean: mean, rstd: rstd, dropout: nil, into: dx,
                                  dResidual: nil, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
            if let dropout { try self.dropout(dx, mask: dropout, into: dResidual) }
            else { try copyStrided(dx, into: dResidual, layout: try StridedLayout.make(shape: [dx.count], srcStrides: [1], dstStrides: [1])) }
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

    /// Splits rows across threads, each accumulating its own dγ, dβ partials, then sums them.
    private func layerNormBackwardLoop<T: CPUFloat>(
        _ x: Tensor, _ dy: Tensor, _ gamma: Tensor, _ mean: Tensor, _ rstd: Tensor,
        _ dx: Tensor, _ dGamma: Tensor, _ dBeta: Tensor, _ rows: Int, _ cols: Int, _ type: T.Type,
        row rowBackward: (UnsafePointer<T>, UnsafePointer<T>, UnsafePointer<T>, T, T,
                          UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, Int) -> Void
    ) {
        let xp = x.cpuPointer(T.self), gp = dy.cpuPointer(T.self), wp = gamma.cpuPointer(T.self)
        let mp = mean.cpuPointer(T.self), rp = rstd.cpuPointer(T.self), dp = dx.cpuPointer(T.self)
        let threads = Parallel.threadCount
        let partials = UnsafeMutablePointer<T>.allocate(capacity: 2 * threads * cols)
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: 2 * threads * cols)
        let chunk = (rows + threads - 1) / max(threads, 1)
        Parallel.forRanges(threads, costPerItem: max(1, rows * cols * 8 / threads)) { tr in
            for t in tr {
                let dg = partials + 2 * t * cols, db = dg + cols
                for row in min(rows, t * chunk)..<min(rows, (t + 1) * chunk) {   // empty past the last row
                    rowBackward(xp + row * cols, gp + row * cols, wp, mp[row], rp[row], dp + row * cols, dg, db, cols)
                }
            }
        }
        let dgOut = dGamma.cpuPointer(T.self), dbOut = dBeta.cpuPointer(T.self)
        for j in 0..<cols {
            var g: T = 0, b: T = 0
            for t in 0..<threads { g += partials[2 * t * cols + j]; b += partials[(2 * t + 1) * cols + j] }
            dgOut[j] = g; dbOut[j] = b
        }
    }
}
