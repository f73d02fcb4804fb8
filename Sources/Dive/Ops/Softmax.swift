// The book's masked softmax over the last axis (masked logits count as -1e6), with valid
// lengths of shape (B,) repeated over the rows of each batch item, or one per row.
import CKernels

/// The logit the book gives masked positions (the CPU's row kernels use the same constant).
let maskedLogit = Double(DIVE_MASKED_LOGIT)

extension Tensor {
    /// Softmax over the last axis. `validLens` (Int32) holds one length per row, or one per
    /// leading batch item (repeated over that item's rows), as the book's `masked_softmax`.
    public func maskedSoftmax(validLens: Tensor? = nil) throws -> Tensor {
        try checkFloat(op: "maskedSoftmax")
        guard let cols = shape.last else {
            throw DiveError.shapeMismatch(op: "maskedSoftmax", detail: "needs at least one dimension")
        }
        let rows = count / Swift.max(cols, 1)
        if let lens = validLens {
            try checkSameDevice([lens], op: "maskedSoftmax")
            try lens.checkInt(op: "maskedSoftmax", role: "the valid lengths")
            guard lens.count > 0 ? rows % lens.count == 0 : rows == 0 else {
                throw DiveError.shapeMismatch(op: "maskedSoftmax", detail: "\(lens.count) valid lengths for \(rows) rows of \(shape)")
            }
        }
        let out = try emptyLike()
        if count > 0 { try backend.maskedSoftmax(self, validLens: validLens, into: out, rows: rows, cols: cols) }
        if Autograd.shouldRecord([self]) {
            let y = out.detached()
            out.record(inputs: [self]) { g in
                let dx = try g.emptyLike()
                try g.backend.softmaxBackward(output: y, gradOutput: g, validLens: validLens, into: dx, rows: rows, cols: cols)
                return [dx]
            }
        }
        return out
    }

    /// The composed definition of masked softmax (mask, exp, sum, divide) from simpler ops:
    /// the oracle the fused kernel is tested against. `maskFloat` is 1 for kept entries, 0 else.
    public func composedMaskedSoftmax(mask maskFloat: Tensor?) throws -> Tensor {
        var x = self
        if let keep = maskFloat {
            // x·keep + (-1e6)·(1 - keep)
            x = try x * keep + (try (1 - keep) * Float(maskedLogit))
        }
        let shifted = try x - x.max(axis: -1, keepDims: true).detached()
        let e = try shifted.exp()
        return try e / e.sum(axis: -1, keepDims: true)
    }
}
