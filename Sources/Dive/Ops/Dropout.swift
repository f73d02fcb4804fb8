// Dropout from the counter-based RNG: each call takes a fresh range of counters from a
// `RandomStream`, so a seed fixes every mask on every device. In a data-parallel run the stream
// knows which rows of the global minibatch this process holds, and draws each mask as the whole
// minibatch's would be, keeping its rows' part: the masks, and the training, do not depend on how
// the rows are split between processes.

/// The rows of a global minibatch one process of a data-parallel run holds.
public struct RowShard: Equatable, Sendable {
    /// The global minibatch rows this process holds.
    public var rows: Range<Int>
    /// The number of rows in the whole global minibatch.
    public var globalRows: Int
    /// Builds a shard of the `rows` this process holds out of a minibatch of `globalRows` rows.
    public init(rows: Range<Int>, globalRows: Int) { self.rows = rows; self.globalRows = globalRows }
}

/// A seeded stream of counter ranges for dropout masks. Its state (seed, offset) is what a
/// checkpoint stores to resume with the same masks.
public final class RandomStream {
    /// The stream's seed, fixed for the run.
    public var seed: UInt64
    /// The first counter the next mask uses; each mask advances it by the global minibatch's element count.
    public var offset: UInt64
    /// Set per minibatch by data-parallel training (nil: the tensors hold the whole minibatch).
    public var shard: RowShard?

    /// Builds a stream from a seed, starting at `offset` (a checkpoint's saved offset to resume its masks).
    public init(seed: UInt64, offset: UInt64 = 0) {
        self.seed = seed
        self.offset = offset
    }

    /// The mask for a tensor of `count` elements whose batch axis comes after `outer` elements'
    /// worth of leading axes (1: batch-major; T: time-major (T, B, ...)), and advances the stream.
    public func mask(p: Float, count: Int, outer: Int = 1) throws -> DropoutMask {
        guard let shard, shard.rows.count != shard.globalRows else {
            defer { offset &+= UInt64(count) }
            return DropoutMask(p: p, seed: seed, offset: offset)
        }
        let local = shard.rows.count
        guard local > 0, outer > 0, count % (outer * local) == 0 else {
            throw DiveError.invalidArgument(op: "dropout", detail: "\(count) elements are not \(outer) blocks of \(local) rows")
        }
        let inner = count / (outer * local)
        defer { offset &+= UInt64(outer * shard.globalRows * inner) }
        let first = offset &+ UInt64(shard.rows.lowerBound * inner)
        return outer == 1
            ? DropoutMask(p: p, seed: seed, offset: first)
            : DropoutMask(p: p, seed: seed, offset: first, block: local * inner, stride: shard.globalRows * inner)
    }
}

extension Tensor {
    /// Zeroes each element with probability p and scales the rest by 1/(1-p). `batchAxis` is the
    /// axis of the minibatch's rows (0 batch-major, 1 time-major).
    public func dropout(p: Float, stream: RandomStream, batchAxis: Int = 0) throws -> Tensor {
        try checkFloat(op: "dropout")
        guard p >= 0 && p <= 1 else {
            throw DiveError.invalidArgument(op: "dropout", detail: "probability \(p) outside [0, 1]")
        }
        if p == 0 { return self }
        let mask = try stream.mask(p: p, count: count, outer: shape.prefix(batchAxis).reduce(1, *))
        let out = try emptyLike()
        try backend.dropout(self, mask: mask, into: out)
        if Autograd.shouldRecord([self]) {
            out.record(inputs: [self]) { g in
                let dx = try g.emptyLike()
                try g.backend.dropout(g, mask: mask, into: dx)
                return [dx]
            }
        }
        return out
    }
}
