// Printing tensors the way the book's cells show them: nested brackets, 4 decimals, as PyTorch
// prints a tensor, so a demo's output can be read against the book's.
import Dive
import Foundation

enum DemoFormatting {
    /// `values` of `shape` as nested brackets: [[[0.4881, 0.5119, 0.0000, 0.0000], ...]].
    static func nested(_ values: [Float], shape: [Int], decimals: Int = 4) -> String {
        func render(_ offset: Int, _ dim: Int) -> String {
            if dim == shape.count - 1 {
                let row = (0..<shape[dim]).map { String(format: "%.\(decimals)f", values[offset + $0]) }
                return "[" + row.joined(separator: ", ") + "]"
            }
            let stride = shape[(dim + 1)...].reduce(1, *)
            let parts = (0..<shape[dim]).map { render(offset + $0 * stride, dim + 1) }
            return "[" + parts.joined(separator: ",\n" + String(repeating: " ", count: dim + 1)) + "]"
        }
        return shape.isEmpty ? values.first.map { String(format: "%.\(decimals)f", $0) } ?? "[]" : render(0, 0)
    }

    /// A tensor as `nested` text.
    static func nested(_ t: Tensor, decimals: Int = 4) throws -> String { nested(try t.toArray(), shape: t.shape, decimals: decimals) }
}
