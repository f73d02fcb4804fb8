// Losses: the book's masked softmax cross-entropy (per sequence Σ valid-token CE / num_steps),
// the per-token mean of the en edition, plain (optionally label-smoothed) cross-entropy and MSE.
import Dive

/// The losses of the book's recipes: masked softmax cross-entropy over sequences, plain cross-entropy and mean squared error.
public enum Loss {
    /// 1 for the first validLens[b] of `steps` positions of each row, else 0: (B·steps) values.
    public static func sequenceMask(validLens: [Int], steps: Int) -> [Float] {
        validLens.flatMap { len in (0..<steps).map { $0 < len ? Float(1) : 0 } }
    }

    /// The book's `MaskedSoftmaxCELoss`: logits (B, T, V), Int32 targets (B, T), valid lengths
    /// per row → (B) losses, each Σ over valid steps of CE / T (the divisor counts padding).
    /// `labelSmoothing` ε spreads ε over the V classes (Vaswani et al.; not in the book).
    public static func maskedSoftmaxCE(
        _ logits: Tensor, targets: Tensor, validLens: [Int],
        labelSmoothing: Float = 0
    ) throws -> Tensor {
        let (ce, B, T) = try maskedTokenCE(logits, targets: targets, validLens: validLens, labelSmoothing: labelSmoothing)
        return try ce.reshaped([B, T]).mean(axis: 1)
    }

    /// The en edition's per-token mean: Σ(CE · mask) / Σ mask, a one-element tensor.
    public static func maskedTokenMeanCE(
        _ logits: Tensor, targets: Tensor, validLens: [Int],
        labelSmoothing: Float = 0
    ) throws -> Tensor {
        let (ce, _, _) = try maskedTokenCE(logits, targets: targets, validLens: validLens, labelSmoothing: labelSmoothing)
        return try ce.sum() / Float(max(validLens.reduce(0, +), 1))
    }

    private static func maskedTokenCE(
        _ logits: Tensor, targets: Tensor, validLens: [Int],
        labelSmoothing: Float
    ) throws -> (Tensor, Int, Int) {
        guard logits.rank == 3, targets.shape == Array(logits.shape.prefix(2)), validLens.count == logits.shape[0] else {
            throw DiveError.shapeMismatch(
                op: "maskedSoftmaxCE",
                detail:
                    "logits \(logits.shape) need (B, T, V) with targets (B, T) and B valid lengths; got targets \(targets.shape), \(validLens.count) lengths"
            )
        }
        let B = logits.shape[0], T = logits.shape[1], V = logits.shape[2]
        let mask = try Tensor(sequenceMask(validLens: validLens, steps: T), shape: [B * T], on: logits.backend)
        let ce = try logits.reshaped([B * T, V]).crossEntropy(
            targets: targets.reshaped([B * T]), weights: mask,
            labelSmoothing: labelSmoothing)
        return (ce, B, T)
    }

    /// PyTorch's `CrossEntropyLoss()`: logits (N, V), Int32 targets (N) → mean over rows; with
    /// `reduction: .none` the (N) per-row losses.
    public static func crossEntropy(
        _ logits: Tensor, targets: Tensor, labelSmoothing: Float = 0,
        reduction: Reduction = .mean
    ) throws -> Tensor {
        switch reduction {
        case .none: return try logits.crossEntropy(targets: targets, labelSmoothing: labelSmoothing)
        case .sum: return try logits.crossEntropySum(targets: targets, labelSmoothing: labelSmoothing)
        case .mean:
            return try logits.crossEntropySum(
                targets: targets, labelSmoothing: labelSmoothing,
                scale: 1 / Float(Swift.max(targets.count, 1)))
        }
    }

    /// PyTorch's `MSELoss()`: mean of (x - y)² (no ½); `.none` keeps every element, `.sum` sums.
    public static func mse(_ x: Tensor, _ y: Tensor, reduction: Reduction = .mean) throws -> Tensor {
        let d = try x - y
        return try reduction.apply(d * d)
    }

    /// How per-element losses are combined, as PyTorch's `reduction`: kept (`none`), averaged (`mean`) or summed (`sum`).
    public enum Reduction: Sendable {
        case none, mean, sum
        func apply(_ t: Tensor) throws -> Tensor {
            switch self {
            case .none: return t
            case .mean: return try t.mean()
            case .sum: return try t.sum()
            }
        }
    }
}
