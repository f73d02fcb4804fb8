// CPU masked softmax (Ops/Softmax.swift) and its backward: Float32 rows through CKernels' row
// kernels, Float64 through the generic loops, which are also the readable definitions.
import Foundation
import RealModule

extension CPUBackend {
    /// Softmax of each row of (rows, cols), entries past the row's valid length set to the masked logit first.
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

    /// dx = y ⊙ (dy - Σ y·dy) per row, zero past the row's valid length.
    public func softmaxBackward(
        output y: Tensor, gradOutput dy: Tensor, validLens: Tensor?, into dx: Tensor,
        rows: Int, cols: Int
    ) throws {
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

}
