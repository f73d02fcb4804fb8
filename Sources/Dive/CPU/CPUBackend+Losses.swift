// CPU cross-entropy with label smoothing and per-row weights (Ops/Losses.swift), forward and
// backward: Float32 rows through CKernels' exp-sum row kernel, Float64 through the generic loops.
import Foundation
import RealModule

extension CPUBackend {
    /// Per-row cross-entropy with label smoothing and optional row weights; a target out of range gives NaN.
    public func crossEntropy(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        into loss: Tensor, rows: Int, classes: Int
    ) throws {
        if try isDouble(logits, "crossEntropy") {
            crossEntropyLoop(
                logits.cpuPointer(Double.self), targets.cpuPointer(Int32.self),
                weights?.cpuPointer(Double.self), Double(labelSmoothing), loss.cpuPointer(Double.self), rows, classes)
        } else {
            crossEntropyRowsF32(
                logits.cpuPointer(Float.self), targets.cpuPointer(Int32.self),
                weights?.cpuPointer(Float.self), labelSmoothing, loss.cpuPointer(Float.self), rows, classes)
        }
    }

    /// `crossEntropyLoop` for Float32 with the row kernels (max, exp and sum in vectors).
    private func crossEntropyRowsF32(
        _ x: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<Int32>,
        _ w: UnsafeMutablePointer<Float>?, _ eps: Float, _ loss: UnsafeMutablePointer<Float>,
        _ rows: Int, _ v: Int
    ) {
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
    private func crossEntropyLoop<T: CPUFloat>(
        _ x: UnsafeMutablePointer<T>, _ t: UnsafeMutablePointer<Int32>,
        _ w: UnsafeMutablePointer<T>?, _ eps: T, _ loss: UnsafeMutablePointer<T>,
        _ rows: Int, _ v: Int
    ) {
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

    /// dLogits = g · w · (softmax(x) - (1-ε)·onehot(t) - ε/V) per row, g from `gradLoss` times `gradScale`.
    public func crossEntropyBackward(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        gradLoss: Tensor, gradScale: Float, into dLogits: Tensor, rows: Int, classes: Int
    ) throws {
        let gradStride = gradLoss.count == rows ? 1 : 0
        if try isDouble(logits, "crossEntropyBackward") {
            crossEntropyBackwardLoop(
                logits.cpuPointer(Double.self), targets.cpuPointer(Int32.self),
                weights?.cpuPointer(Double.self), Double(labelSmoothing),
                gradLoss.cpuPointer(Double.self), gradStride, Double(gradScale),
                dLogits.cpuPointer(Double.self), rows, classes)
        } else {
            crossEntropyBackwardRowsF32(
                logits.cpuPointer(Float.self), targets.cpuPointer(Int32.self),
                weights?.cpuPointer(Float.self), labelSmoothing,
                gradLoss.cpuPointer(Float.self), gradStride, gradScale,
                dLogits.cpuPointer(Float.self), rows, classes)
        }
    }

    /// `crossEntropyBackwardLoop` for Float32 with the row kernels.
    private func crossEntropyBackwardRowsF32(
        _ x: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<Int32>,
        _ w: UnsafeMutablePointer<Float>?, _ eps: Float, _ g: UnsafeMutablePointer<Float>,
        _ gStride: Int, _ gScale: Float, _ dx: UnsafeMutablePointer<Float>, _ rows: Int, _ v: Int
    ) {
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
    private func crossEntropyBackwardLoop<T: CPUFloat>(
        _ x: UnsafeMutablePointer<T>, _ t: UnsafeMutablePointer<Int32>,
        _ w: UnsafeMutablePointer<T>?, _ eps: T, _ g: UnsafeMutablePointer<T>,
        _ gStride: Int, _ gScale: T, _ dx: UnsafeMutablePointer<T>, _ rows: Int, _ v: Int
    ) {
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

}
