// Index plans the ops layer hands to backends: `StridedLayout` for strided copies (permute,
// slice, concat) and `BroadcastPlan` for broadcasting binary ops. Both collapse dimensions that
// can be merged, so kernels see at most four.

/// Up to four dimensions; both backends index with these.
public let maxKernelRank = 4

/// A strided copy of `shape` elements: y[dstOffset + Σ i·dstStrides] = x[srcOffset + Σ i·srcStrides].
public struct StridedLayout: Equatable, Sendable {
    /// The element counts per dimension, exactly `maxKernelRank` entries after `make`.
    public var shape: [Int]  // exactly maxKernelRank entries after `normalized`
    /// The source's stride of each dimension, in elements.
    public var srcStrides: [Int]
    /// The destination's stride of each dimension, in elements.
    public var dstStrides: [Int]
    /// The element offset of the first source element.
    public var srcOffset: Int
    /// The element offset of the first destination element.
    public var dstOffset: Int

    /// The number of elements copied.
    public var count: Int { shape.reduce(1, *) }

    /// Drops unit dimensions, merges dimensions that are contiguous in both source and
    /// destination, and pads to `maxKernelRank`. Throws if more than four dimensions remain.
    public static func make(
        shape: [Int], srcStrides: [Int], dstStrides: [Int],
        srcOffset: Int = 0, dstOffset: Int = 0
    ) throws -> StridedLayout {
        var dims: [(n: Int, s: Int, d: Int)] = []
        for i in shape.indices where shape[i] != 1 { dims.append((shape[i], srcStrides[i], dstStrides[i])) }
        var merged: [(n: Int, s: Int, d: Int)] = []
        for dim in dims {
            if let last = merged.last, last.s == dim.n * dim.s, last.d == dim.n * dim.d {
                merged[merged.count - 1] = (last.n * dim.n, dim.s, dim.d)
            } else {
                merged.append(dim)
            }
        }
        guard merged.count <= maxKernelRank else {
            throw DiveError.invalidArgument(
                op: "copyStrided",
                detail: "layout \(shape) needs \(merged.count) dimensions; kernels take at most \(maxKernelRank)")
        }
        while merged.count < maxKernelRank { merged.insert((1, 0, 0), at: 0) }
        return StridedLayout(
            shape: merged.map(\.n), srcStrides: merged.map(\.s),
            dstStrides: merged.map(\.d), srcOffset: srcOffset, dstOffset: dstOffset)
    }
}

/// How a broadcasting binary op walks its operands: output dims and each operand's strides
/// (0 along broadcast dimensions), collapsed to four dimensions.
public struct BroadcastPlan: Equatable, Sendable {
    /// Which walk a kernel takes: equal shapes, a one-element a or b, or general strided broadcasting.
    public enum Kind: Sendable { case sameShape, scalarA, scalarB, general }
    /// Which of the four cases this plan is; only `.general` fills `dims` and the strides.
    public var kind: Kind
    /// The broadcast shape of the result.
    public var outShape: [Int]
    /// For `.general`, the merged output dimensions padded to `maxKernelRank`; empty otherwise.
    public var dims: [Int]
    /// For `.general`, a's element stride along each of `dims`, 0 where a is broadcast.
    public var aStrides: [Int]
    /// For `.general`, b's element stride along each of `dims`, 0 where b is broadcast.
    public var bStrides: [Int]
    /// The number of output elements.
    public var count: Int { outShape.reduce(1, *) }

    /// NumPy broadcasting of two shapes; throws when they do not broadcast.
    public static func make(_ a: [Int], _ b: [Int], op: String) throws -> BroadcastPlan {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            guard pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1 else {
                throw DiveError.shapeMismatch(op: op, detail: "\(a) and \(b) do not broadcast")
            }
            out[i] = pa[i] == 1 ? pb[i] : pa[i]
        }
        let countA = a.reduce(1, *), countB = b.reduce(1, *), countOut = out.reduce(1, *)
        if pa == pb { return BroadcastPlan(kind: .sameShape, outShape: out, dims: [], aStrides: [], bStrides: []) }
        if countB == 1 && countA == countOut { return BroadcastPlan(kind: .scalarB, outShape: out, dims: [], aStrides: [], bStrides: []) }
        if countA == 1 && countB == countOut { return BroadcastPlan(kind: .scalarA, outShape: out, dims: [], aStrides: [], bStrides: []) }

        func strides(_ shape: [Int]) -> [Int] {
            var s = [Int](repeating: 0, count: rank), acc = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                s[i] = shape[i] == 1 ? 0 : acc
                acc *= shape[i]
            }
            return s
        }
        let sa = strides(pa), sb = strides(pb)
        var merged: [(n: Int, a: Int, b: Int)] = []
        for i in 0..<rank where out[i] != 1 {
            if let last = merged.last, last.a == out[i] * sa[i], last.b == out[i] * sb[i] {
                merged[merged.count - 1] = (last.n * out[i], sa[i], sb[i])
            } else {
                merged.append((out[i], sa[i], sb[i]))
            }
        }
        guard merged.count <= maxKernelRank else {
            throw DiveError.invalidArgument(
                op: op,
                detail: "broadcasting \(a) with \(b) needs \(merged.count) dimensions; kernels take at most \(maxKernelRank)")
        }
        while merged.count < maxKernelRank { merged.insert((1, 0, 0), at: 0) }
        return BroadcastPlan(
            kind: .general, outShape: out, dims: merged.map(\.n),
            aStrides: merged.map(\.a), bStrides: merged.map(\.b))
    }
}
