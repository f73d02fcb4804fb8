// CPU reductions (Ops/Reductions.swift): sum, max and argmax of the middle axis of (outer, length, inner).
import Foundation
import RealModule

extension CPUBackend {
    /// Reduces the middle axis of x as (outer, length, inner) into y (outer, inner); argmax writes Int32.
    public func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor, outer: Int, length: Int, inner: Int) throws {
        if try isDouble(x, "reduce") {
            reduceLoop(op, x.cpuPointer(Double.self), y, outer, length, inner)
        } else {
            reduceLoop(op, x.cpuPointer(Float.self), y, outer, length, inner)
        }
    }

    private func reduceLoop<T: CPUFloat>(
        _ op: ReduceOp, _ x: UnsafeMutablePointer<T>, _ y: Tensor,
        _ outer: Int, _ length: Int, _ inner: Int
    ) {
        // One output element per (o, i); walking i innermost keeps memory access contiguous.
        if op == .argmax {
            let out = y.cpuPointer(Int32.self)
            Parallel.forRanges(outer, costPerItem: length * inner) { r in
                for o in r {
                    for i in 0..<inner {
                        var best = -T.infinity, index = 0
                        for l in 0..<length {
                            let v = x[(o * length + l) * inner + i]
                            if v > best { best = v; index = l }
                        }
                        out[o * inner + i] = Int32(index)
                    }
                }
            }
            return
        }
        let out = y.cpuPointer(T.self)
        let scale = T(op.scale(length: length))
        // Work items are (output row, column block): fewer output rows than cores (a bias gradient
        // summed over every token is one row) split their columns instead.
        let blocks = outer >= Parallel.width || inner < 256 ? 1 : Parallel.width
        Parallel.forRanges(outer * blocks, costPerItem: length * inner / blocks) { r in
            for item in r {
                let o = item / blocks, block = item % blocks
                let i0 = block * inner / blocks, width = (block + 1) * inner / blocks - i0
                let dst = out + o * inner + i0
                let src = x + o * length * inner + i0
                if op == .max {
                    dst.update(repeating: -T.infinity, count: width)
                    for l in 0..<length { let row = src + l * inner; for i in 0..<width { dst[i] = Swift.max(dst[i], row[i]) } }
                } else if inner == 1 {
                    var acc: T = 0
                    for l in 0..<length { acc += src[l] }
                    dst[0] = acc * scale
                } else {
                    dst.update(repeating: 0, count: width)
                    for l in 0..<length { let row = src + l * inner; for i in 0..<width { dst[i] += row[i] } }
                    if scale != 1 { for i in 0..<width { dst[i] *= scale } }
                }
            }
        }
    }
}
