// Reductions along one axis (sum, mean, max, argmax) and over the whole tensor.

extension Tensor {
    private func normalizedAxis(_ axis: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else {
            throw DiveError.invalidArgument(op: op, detail: "axis \(axis) out of range for shape \(shape)")
        }
        return a
    }

    /// (outer, length, inner) view of the shape around `axis`.
    private func split(_ axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    private func reduce(_ op: ReduceOp, axis: Int, keepDims: Bool, name: String) throws -> Tensor {
        try checkFloat(op: name)
        let a = try normalizedAxis(axis, op: name)
        let (outer, length, inner) = split(a)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        let out = try emptyLike(outShape, dtype: op == .argmax ? .int32 : dtype)
        try backend.reduce(op, self, into: out, outer: outer, length: length, inner: inner)
        if op != .argmax && Autograd.shouldRecord([self]) {
            let x = detached(), y = out.detached()
            var kept = shape; kept[a] = 1
            let inShape = shape
            out.record(inputs: [self]) { g in
                let gk = try g.reshaped(kept)
                switch op {
                case .sum: return [try gk.broadcast(to: inShape)]
                case .mean, .scaledSum: return [try (gk * op.scale(length: length)).broadcast(to: inShape)]
                default:
                    // Gradient flows to the positions equal to the max (ties share it, as in PyTorch's amax).
                    let hit = try x.equalMask(y.reshaped(kept))
                    let counts = try hit.sum(axis: a, keepDims: true)
                    return [try hit * gk / counts]
                }
            }
        }
        return out
    }

    /// The sum along `axis` (negative counts from the end), dropped from the shape unless `keepDims`.
    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor { try reduce(.sum, axis: axis, keepDims: keepDims, name: "sum") }
    /// The mean along `axis` (negative counts from the end), dropped from the shape unless `keepDims`.
    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor { try reduce(.mean, axis: axis, keepDims: keepDims, name: "mean") }
    /// The maximum along `axis`; its gradient is shared equally by the tied maxima.
    public func max(axis: Int, keepDims: Bool = false) throws -> Tensor { try reduce(.max, axis: axis, keepDims: keepDims, name: "max") }
    /// Index of the first maximum along `axis`, as Int32.
    public func argmax(axis: Int, keepDims: Bool = false) throws -> Tensor {
        try reduce(.argmax, axis: axis, keepDims: keepDims, name: "argmax")
    }

    /// Sum of all elements, shape [1].
    public func sum() throws -> Tensor { try reshaped([count]).sum(axis: 0, keepDims: true) }
    /// Mean of all elements, shape [1].
    public func mean() throws -> Tensor { try reshaped([count]).mean(axis: 0, keepDims: true) }

    /// 1 where self == other (broadcast), else 0; no gradient.
    func equalMask(_ other: Tensor) throws -> Tensor {
        // (x - y) == 0  ⇔  relu(1 - |x - y|·huge) > 0; computed without a dedicated kernel.
        let diff = try Autograd.withoutGrad { try self - other }
        let big: Float = 1e30
        return try Autograd.withoutGrad { try ((diff * diff) * (-big) + 1).relu() }
    }

    /// Repeats this tensor along its size-1 dimensions to `target`: one strided copy that reads
    /// the repeated dimensions with stride 0 (or, past the copy's four collapsed dimensions, zeros
    /// plus this tensor). The gradient sums over the repeated dimensions.
    public func broadcast(to target: [Int]) throws -> Tensor {
        if shape == target { return self }
        let padded = Array(repeating: 1, count: Swift.max(target.count - rank, 0)) + shape
        guard padded.count == target.count, zip(padded, target).allSatisfy({ $0 == $1 || $0 == 1 }) else {
            throw DiveError.shapeMismatch(op: "broadcast", detail: "cannot broadcast \(shape) to \(target)")
        }
        let strides = zip(contiguousStrides(padded), zip(padded, target)).map { s, d in d.0 == 1 && d.1 != 1 ? 0 : s }
        guard
            let layout = try? StridedLayout.make(
                shape: target, srcStrides: strides,
                dstStrides: contiguousStrides(target))
        else {
            return try Tensor.zeros(target, dtype: dtype, on: backend) + self
        }
        let out = try emptyLike(target)
        if out.count > 0 { try backend.copyStrided(self, into: out, layout: layout) }
        if Autograd.shouldRecord([self]) {
            let original = shape
            out.record(inputs: [self]) { g in [try g.sumTo(original)] }
        }
        return out
    }
}
