// Shape ops: reshape (free, shares storage), and permute, slice, concat, which all run as the
// one strided-copy primitive.

/// Row-major strides of a shape, in elements.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { strides[i] = acc; acc *= shape[i] }
    return strides
}

extension Tensor {
    /// The same data under another shape; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw DiveError.shapeMismatch(op: "reshape", detail: "cannot reshape \(shape) to \(newShape)")
            }
            target[hole] = count / known
        }
        guard target.allSatisfy({ $0 >= 0 }), target.reduce(1, *) == count else {
            throw DiveError.shapeMismatch(op: "reshape", detail: "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        if target == shape { return self }
        let out = Tensor(shape: target, dtype: dtype, storage: storage, backend: backend)
        if Autograd.shouldRecord([self]) {
            let original = shape
            out.record(inputs: [self]) { g in [try g.reshaped(original)] }
        }
        return out
    }

    /// Dimensions reordered: result dim i is input dim `order[i]`.
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.sorted() == Array(0..<rank) else {
            throw DiveError.invalidArgument(op: "permute", detail: "\(order) is not a permutation of the \(rank) dimensions of \(shape)")
        }
        if order == Array(0..<rank) { return self }
        let inStrides = contiguousStrides(shape)
        let outShape = order.map { shape[$0] }
        let layout = try StridedLayout.make(
            shape: outShape, srcStrides: order.map { inStrides[$0] },
            dstStrides: contiguousStrides(outShape))
        let out = try emptyLike(outShape)
        try backend.copyStrided(self, into: out, layout: layout)
        if Autograd.shouldRecord([self]) {
            var inverse = [Int](repeating: 0, count: order.count)
            for (i, o) in order.enumerated() { inverse[o] = i }
            out.record(inputs: [self]) { g in [try g.permuted(inverse)] }
        }
        return out
    }

    /// Swaps two dimensions.
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        var order = Array(0..<rank)
        let i = a < 0 ? a + rank : a, j = b < 0 ? b + rank : b
        guard i >= 0, i < rank, j >= 0, j < rank else {
            throw DiveError.invalidArgument(op: "transpose", detail: "dimensions \(a), \(b) out of range for \(shape)")
        }
        order.swapAt(i, j)
        return try permuted(order)
    }

    /// Elements `range` along `axis`. A block of whole rows (every axis before `axis` of size 1)
    /// shares this tensor's storage where the device allows (a view: writing into it in place, as
    /// an optimiser does, writes into this tensor); any other slice is a copy.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank, range.lowerBound >= 0, range.upperBound <= shape[a] else {
            throw DiveError.invalidArgument(op: "slice", detail: "range \(range) on axis \(axis) of shape \(shape)")
        }
        var outShape = shape
        outShape[a] = range.count
        let strides = contiguousStrides(shape)
        let layout = try StridedLayout.make(
            shape: outShape, srcStrides: strides, dstStrides: contiguousStrides(outShape),
            srcOffset: range.lowerBound * strides[a])
        // A block of whole rows (every axis before `a` of size 1) is contiguous: the slice shares
        // the storage, like a reshape, when it starts at 0, and is a view of it where the device
        // can start a buffer there; otherwise it is copied.
        let out: Tensor
        if shape[..<a].allSatisfy({ $0 == 1 }),
            let shared = try sharedBlock(from: range.lowerBound * strides[a], count: outShape.reduce(1, *))
        {
            out = Tensor(shape: outShape, dtype: dtype, storage: shared, backend: backend)
        } else {
            out = try emptyLike(outShape)
            if out.count > 0 { try backend.copyStrided(self, into: out, layout: layout) }
        }
        if Autograd.shouldRecord([self]) {
            let fullShape = shape
            out.record(inputs: [self]) { g in
                let full = try Tensor.zeros(fullShape, dtype: g.dtype, on: g.backend)
                if g.count > 0 {
                    let back = try StridedLayout.make(
                        shape: g.shape, srcStrides: contiguousStrides(g.shape),
                        dstStrides: strides, dstOffset: range.lowerBound * strides[a])
                    try g.backend.copyStrided(g, into: full, layout: back)
                }
                return [full]
            }
        }
        return out
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else {
            throw DiveError.invalidArgument(op: "concat", detail: "no tensors to join")
        }
        let a = axis < 0 ? axis + first.rank : axis
        guard a >= 0, a < first.rank else {
            throw DiveError.invalidArgument(op: "concat", detail: "axis \(axis) out of range for \(first.shape)")
        }
        try first.checkSameDevice(parts, op: "concat")
        for p in parts {
            var s1 = p.shape, s0 = first.shape
            guard p.rank == first.rank, p.dtype == first.dtype else {
                throw DiveError.shapeMismatch(op: "concat", detail: "\(first.shape) \(first.dtype) and \(p.shape) \(p.dtype)")
            }
            s1[a] = 0; s0[a] = 0
            guard s1 == s0 else {
                throw DiveError.shapeMismatch(op: "concat", detail: "\(first.shape) and \(p.shape) differ outside axis \(a)")
            }
        }
        var outShape = first.shape
        outShape[a] = parts.map { $0.shape[a] }.reduce(0, +)
        let out: Tensor
        if first.shape[..<a].allSatisfy({ $0 == 1 }), let joined = try adjacentStorage(parts) {
            // Blocks of rows lying one after another in one allocation (views made by `slice`):
            // the result is a view of them, no copy.
            out = Tensor(shape: outShape, dtype: first.dtype, storage: joined, backend: first.backend)
        } else {
            out = try first.emptyLike(outShape)
            let outStrides = contiguousStrides(outShape)
            var offset = 0
            for p in parts {
                if p.count > 0 {
                    let layout = try StridedLayout.make(
                        shape: p.shape, srcStrides: contiguousStrides(p.shape),
                        dstStrides: outStrides, dstOffset: offset * outStrides[a])
                    try first.backend.copyStrided(p, into: out, layout: layout)
                }
                offset += p.shape[a]
            }
        }
        if Autograd.shouldRecord(parts) {
            let sizes = parts.map { $0.shape[a] }
            out.record(inputs: parts) { g in
                var start = 0
                return try sizes.map { n in
                    defer { start += n }
                    return try g.slice(axis: a, start..<(start + n))
                }
            }
        }
        return out
    }

    /// A contiguous copy (a new buffer), with gradient.
    public func copy() throws -> Tensor {
        let layout = try StridedLayout.make(shape: [count], srcStrides: [1], dstStrides: [1])
        let out = try emptyLike()
        if count > 0 { try backend.copyStrided(self, into: out, layout: layout) }
        if Autograd.shouldRecord([self]) { out.record(inputs: [self]) { g in [g] } }
        return out
    }
}

extension Tensor {
    /// `count` elements of this tensor's data from element `start` on, as a buffer sharing the
    /// memory (the storage itself when `start` is 0), or nil where the device cannot view there.
    func sharedBlock(from start: Int, count: Int) throws -> Buffer? {
        if start == 0 { return storage }
        return try backend.view(storage, byteOffset: storage.byteOffset + start * dtype.byteSize, byteCount: count * dtype.byteSize)
    }

    /// Whether `concat(parts, axis: 0)` is a view of their storage (no copy): blocks that `slice`
    /// cut from one tensor, one after another.
    public static func joinWithoutCopy(_ parts: [Tensor]) -> Bool {
        guard let first = parts.first, parts.allSatisfy({ $0.rank == first.rank && $0.dtype == first.dtype }) else { return false }
        return adjacentBytes(parts) != nil
    }

    /// The bytes `parts` cover when their data lie one after another in one allocation, or nil.
    private static func adjacentBytes(_ parts: [Tensor]) -> Int? {
        guard let first = parts.first, parts.allSatisfy({ $0.count > 0 }) else { return nil }
        var next = first.storage.byteOffset
        for p in parts {
            guard p.storage.allocation === first.storage.allocation, p.storage.byteOffset == next else { return nil }
            next += p.count * p.dtype.byteSize
        }
        return next - first.storage.byteOffset
    }

    /// One buffer for `parts` when their data lie one after another in one allocation, or nil.
    static func adjacentStorage(_ parts: [Tensor]) throws -> Buffer? {
        guard let first = parts.first, let bytes = adjacentBytes(parts) else { return nil }
        if first.storage.byteOffset == 0 && first.storage.viewed == nil { return first.storage }
        return try first.backend.view(first.storage, byteOffset: first.storage.byteOffset, byteCount: bytes)
    }
}
