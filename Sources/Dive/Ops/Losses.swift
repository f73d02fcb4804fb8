// Cross-entropy over log-softmax with a per-row weight (the padding mask) and label smoothing.

extension Tensor {
    /// Per-row cross-entropy of logits (N, V) against Int32 targets (N): returns (N).
    /// `weights` (N) multiplies each row's loss (0 for padding); `labelSmoothing` ε spreads ε
    /// over all V classes. A target outside 0..<V makes that row NaN.
    public func crossEntropy(targets: Tensor, weights: Tensor? = nil, labelSmoothing: Float = 0) throws -> Tensor {
        try checkFloat(op: "crossEntropy")
        try targets.checkInt(op: "crossEntropy", role: "the targets (class indices)")
        try checkSameDevice([targets] + (weights.map { [$0] } ?? []), op: "crossEntropy")
        guard rank == 2, targets.count == shape[0], weights.map({ $0.count == shape[0] && $0.dtype == dtype }) ?? true else {
            throw DiveError.shapeMismatch(
                op: "crossEntropy",
                detail:
                    "logits \(shape) need (N, V) with \(rank == 2 ? shape[0] : 0) targets and weights; got targets \(targets.shape)\(weights.map { ", weights \($0.shape)" } ?? "")"
            )
        }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else {
            throw DiveError.invalidArgument(op: "crossEntropy", detail: "label smoothing \(labelSmoothing) must be in [0, 1)")
        }
        let rows = shape[0], classes = shape[1]
        let loss = try emptyLike([rows])
        try backend.crossEntropy(
            logits: self, targets: targets, weights: weights, labelSmoothing: labelSmoothing,
            into: loss, rows: rows, classes: classes)
        recordCrossEntropyBackward(on: loss, targets: targets, weights: weights, labelSmoothing: labelSmoothing, gradScale: 1)
        return loss
    }

    /// scale · Σ over rows of `crossEntropy(targets:weights:labelSmoothing:)`, one element: a
    /// batch's loss (the mean with scale 1/N; the book's masked loss Σ / num_steps). Two launches
    /// forward, and one backward, every row's gradient being the same scaled number.
    public func crossEntropySum(targets: Tensor, weights: Tensor? = nil, labelSmoothing: Float = 0, scale: Float = 1) throws -> Tensor {
        let rows = try Autograd.withoutGrad { try crossEntropy(targets: targets, weights: weights, labelSmoothing: labelSmoothing) }
        let total = try emptyLike([1])
        try backend.reduce(.scaledSum(scale), rows, into: total, outer: 1, length: rows.count, inner: 1)
        recordCrossEntropyBackward(on: total, targets: targets, weights: weights, labelSmoothing: labelSmoothing, gradScale: scale)
        return total
    }

    /// The backward of both: these logits' gradient from `loss`'s, one per row or one shared by all
    /// rows, times `gradScale`.
    private func recordCrossEntropyBackward(
        on loss: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        gradScale: Float
    ) {
        guard Autograd.shouldRecord([self]) else { return }
        let x = detached(), w = weights?.detached()
        let (rows, classes) = (shape[0], shape[1])
        loss.record(inputs: [self]) { g in
            let dx = try x.emptyLike()
            try x.backend.crossEntropyBackward(
                logits: x, targets: targets, weights: w, labelSmoothing: labelSmoothing,
                gradLoss: g, gradScale: gradScale, into: dx, rows: rows, classes: classes)
            return [dx]
        }
    }

    /// Mean squared error (mean over all elements), without the ½.
    public func mseLoss(_ target: Tensor) throws -> Tensor {
        let d = try self - target
        return try (d * d).mean()
    }
}
