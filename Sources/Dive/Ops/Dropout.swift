// Dropout from the counter-based RNG: each call takes a fresh range of counters from a
// `RandomStream`, so a seed fixes every mask on every device.

/// A seeded stream of counter ranges for dropout masks. Its state (seed, offset) is what a
/// checkpoint stores to resume with the same masks.
public final class RandomStream {
    public var seed: UInt64
    public var offset: UInt64

    public init(seed: UInt64, offset: UInt64 = 0) {
        self.seed = seed
        self.offset = offset
    }

    /// Reserves `count` counters and returns the first.
    public func take(_ count: Int) -> UInt64 {
        defer { offset &+= UInt64(count) }
        return offset
    }
}

extension Tensor {
    /// Zeroes each element with probability p and scales the rest by 1/(1-p).
    public func dropout(p: Float, stream: RandomStream) throws -> Tensor {
        try checkFloat(op: "dropout")
        guard p >= 0 && p <= 1 else {
            throw DiveError.invalidArgument(op: "dropout", detail: "probability \(p) outside [0, 1]")
        }
        if p == 0 { return self }
        let seed = stream.seed, offset = stream.take(count)
        let out = try emptyLike()
        try backend.dropout(self, p: p, seed: seed, offset: offset, into: out)
        if Autograd.shouldRecord([self]) {
            out.record(inputs: [self]) { g in
                let dx = try g.emptyLike()
                try g.backend.dropout(g, p: p, seed: seed, offset: offset, into: dx)
                return [dx]
            }
        }
        return out
    }
}
