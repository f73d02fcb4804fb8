// Embedding lookup (a row gather) and its backward (a scatter-add into the table's gradient).

extension Tensor {
    /// Rows of `table` (V, D) at Int32 `indices` of any shape: result is indices.shape + [D].
    /// An index outside 0..<V gives a zero row.
    public static func embedding(_ table: Tensor, indices: Tensor) throws -> Tensor {
        try table.checkFloat(op: "embedding")
        try indices.checkInt(op: "embedding")
        try table.checkSameDevice([indices], op: "embedding")
        guard table.rank == 2 else {
            throw DiveError.shapeMismatch(op: "embedding", detail: "table must be (V, D), got \(table.shape)")
        }
        let dim = table.shape[1]
        let out = try table.emptyLike(indices.shape + [dim])
        try table.backend.embedding(table: table, indices: indices, into: out, count: indices.count, dim: dim)
        if Autograd.shouldRecord([table]) {
            let tableShape = table.shape
            out.record(inputs: [table]) { g in
                let dTable = try g.emptyLike(tableShape)
                try g.backend.embeddingBackward(gradOutput: g, indices: indices, into: dTable, count: indices.count, dim: dim)
                return [dTable]
            }
        }
        return out
    }
}
