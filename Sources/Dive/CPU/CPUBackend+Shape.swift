// CPU data movement for the shape ops (Ops/Shape.swift): fills, and the strided copy that
// implements permute, slice and concat.
import Foundation

extension CPUBackend {
    /// Sets every element of y to `value`, converted to y's dtype.
    public func fill(_ y: Tensor, value: Double) throws {
        switch y.dtype {
        case .float32: y.cpuPointer(Float.self).update(repeating: Float(value), count: y.count)
        case .float64: y.cpuPointer(Double.self).update(repeating: value, count: y.count)
        case .int32: y.cpuPointer(Int32.self).update(repeating: Int32(value), count: y.count)
        }
    }

    /// Copies through the layout's strides as raw 4- or 8-byte words, contiguous inner rows as blocks.
    public func copyStrided(_ x: Tensor, into y: Tensor, layout: StridedLayout) throws {
        // Every dtype is 4 or 8 bytes: copy as raw integers of that width.
        if x.dtype.byteSize == 8 {
            stridedCopy(x.cpuPointer(UInt64.self), y.cpuPointer(UInt64.self), layout)
        } else {
            stridedCopy(x.cpuPointer(UInt32.self), y.cpuPointer(UInt32.self), layout)
        }
    }

    private func stridedCopy<T>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ l: StridedLayout) {
        let n = l.shape, s = l.srcStrides, d = l.dstStrides
        Parallel.forRanges(n[0] * n[1], costPerItem: n[2] * n[3], family: .elementwise) { range in
            for i01 in range {
                let i0 = i01 / n[1], i1 = i01 % n[1]
                let sBase = l.srcOffset + i0 * s[0] + i1 * s[1]
                let dBase = l.dstOffset + i0 * d[0] + i1 * d[1]
                for i2 in 0..<n[2] {
                    let sRow = src + sBase + i2 * s[2], dRow = dst + dBase + i2 * d[2]
                    if s[3] == 1 && d[3] == 1 {
                        dRow.update(from: sRow, count: n[3])
                    } else {
                        for i3 in 0..<n[3] { dRow[i3 * d[3]] = sRow[i3 * s[3]] }
                    }
                }
            }
        }
    }
}
