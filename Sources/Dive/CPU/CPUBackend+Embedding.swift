// CPU embedding lookup (Ops/Embedding.swift): a row gather with scale, positions and dropout, and
// its backward, a scatter-add into the table's gradient.
import Foundation
import RealModule

extension CPUBackend {
    /// Gathers table rows (zero rows for bad indices), then scales, adds positions and drops out in place.
    public func embedding(
        table: Tensor, indices: Tensor, scale: Float, positions: Tensor?, dropout: DropoutMask?,
        into out: Tensor, count: Int, dim: Int
    ) throws {
        try gather(table: table, indices: indices, into: out, count: count, dim: dim)
        // The rest of the chain, in place: scale, positions, dropout.
        if scale != 1 { try unary(.mulScalar(scale), out, into: out) }
        if let positions {
            let steps = positions.count / max(dim, 1)
            let rows = Tensor(shape: [count / max(steps, 1), steps, dim], dtype: out.dtype, storage: out.storage, backend: self)
            try binary(.add, rows, positions, into: rows, plan: try BroadcastPlan.make(rows.shape, [1, steps, dim], op: "embedding"))
        }
        if let dropout { try self.dropout(out, mask: dropout, into: out) }
    }

    private func gather(table: Tensor, indices: Tensor, into out: Tensor, count: Int, dim: Int) throws {
        let rowsInTable = table.count / max(dim, 1)
        let idx = indices.cpuPointer(Int32.self)
        let bytes = table.dtype.byteSize * dim
        let src = unsafeDowncast(table.storage, to: CPUBuffer.self).pointer
        let dst = unsafeDowncast(out.storage, to: CPUBuffer.self).pointer
        Parallel.forRanges(count, costPerItem: bytes) { rows in
            for n in rows {
                let i = Int(idx[n])
                if i >= 0 && i < rowsInTable {
                    (dst + n * bytes).copyMemory(from: src + i * bytes, byteCount: bytes)
                } else {
                    (dst + n * bytes).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                }
            }
        }
    }

    /// Applies dropout and scale to dOut, then scatter-adds its rows into dTable at `indices`.
    public func embeddingBackward(
        gradOutput dOut: Tensor, indices: Tensor, scale: Float, dropout: DropoutMask?,
        into dTable: Tensor, count: Int, dim: Int
    ) throws {
        var g = dOut
        if dropout != nil || scale != 1 {
            g = try dOut.emptyLike()
            if let dropout { try self.dropout(dOut, mask: dropout, into: g) }
            try unary(.mulScalar(scale), dropout == nil ? dOut : g, into: g)
        }
        try scatterAdd(gradOutput: g, indices: indices, into: dTable, count: count, dim: dim)
    }

    private func scatterAdd(gradOutput dOut: Tensor, indices: Tensor, into dTable: Tensor, count: Int, dim: Int) throws {
        if try isDouble(dOut, "embeddingBackward") {
            scatterAdd(
                dOut.cpuPointer(Double.self), indices.cpuPointer(Int32.self), dTable.cpuPointer(Double.self),
                count, dim, dTable.count / max(dim, 1))
        } else {
            scatterAdd(
                dOut.cpuPointer(Float.self), indices.cpuPointer(Int32.self), dTable.cpuPointer(Float.self),
                count, dim, dTable.count / max(dim, 1))
        }
    }

    /// The cores take column ranges of the table, so no two write the same element.
    private func scatterAdd<T: CPUFloat>(
        _ g: UnsafeMutablePointer<T>, _ idx: UnsafeMutablePointer<Int32>,
        _ table: UnsafeMutablePointer<T>, _ count: Int, _ dim: Int, _ rows: Int
    ) {
        table.update(repeating: 0, count: rows * dim)
        Parallel.forRanges(dim, costPerItem: count) { cols in
            for n in 0..<count {
                let i = Int(idx[n])
                guard i >= 0 && i < rows else { continue }
                let dst = table + i * dim, src = g + n * dim
                for j in cols { dst[j] += src[j] }
            }
        }
    }
}
