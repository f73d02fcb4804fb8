// Embedding lookup (a row gather) and its backward (a scatter-add into the table's gradient),
// optionally with the transformer's input chain in the same launch: the rows scaled, positional
// encodings added and dropout applied.

extension Tensor {
    /// Rows of `table` (V, D) at Int32 `indices` of any shape: result is indices.shape + [D].
    /// An index outside 0..<V gives a zero row.
    /// With the rest: dropout(rows · scale + positions) in one launch, positions (T, D) a constant
    /// added at step n % T of the flattened indices (indices (B, T)), dropout drawing what
    /// `dropout(p:stream:)` would draw at this point of `stream`.
    public static func embedding(
        _ table: Tensor, indices: Tensor, scale: Float = 1, positions: Tensor? = nil,
        dropout p: Float = 0, stream: RandomStream? = nil
    ) throws -> Tensor {
        try table.checkFloat(op: "embedding")
        try indices.checkInt(op: "embedding", role: "the token indices")
        try table.checkSameDevice([indices] + (positions.map { [$0] } ?? []), op: "embedding")
        guard table.rank == 2 else {
            throw DiveError.shapeMismatch(op: "embedding", detail: "table must be (V, D), got \(table.shape)")
        }
        let dim = table.shape[1]
        if let positions {
            let steps = indices.shape.last ?? 1
            guard positions.count == steps * dim, positions.dtype == table.dtype else {
                throw DiveError.shapeMismatch(
                    op: "embedding", detail: "positions \(positions.shape) for indices \(indices.shape) of \(dim) columns")
            }
        }
        guard p >= 0 && p < 1 else {
            throw DiveError.invalidArgument(op: "embedding", detail: "dropout probability \(p) outside [0, 1)")
        }
        let out = try table.emptyLike(indices.shape + [dim])
        var mask: DropoutMask?
        if p > 0 {
            guard let stream else { throw DiveError.invalidArgument(op: "embedding", detail: "dropout \(p) needs a random stream") }
            mask = try stream.mask(p: p, count: out.count)
        }
        try table.backend.embedding(
            table: table, indices: indices, scale: scale, positions: positions, dropout: mask,
            into: out, count: indices.count, dim: dim)
        if Autograd.shouldRecord([table]) {
            let tableShape = table.shape
            out.record(inputs: [table]) { g in
                let dTable = try g.emptyLike(tableShape)
                try g.backend.embeddingBackward(
                    gradOutput: g, indices: indices, scale: scale, dropout: mask, into: dTable,
                    count: indices.count, dim: dim)
                return [dTable]
            }
        }
        return out
    }
}
