// Learning-rate schedules: constant, the Transformer paper's warmup, the book's cosine with linear
// warmup (11.11), factor, square-root and multi-step. `lr(at:)` takes the step or epoch count,
// from 0: the rate at step 0 is the first update's, and no schedule wastes it on a rate of 0.
import Dive
import Foundation

/// A learning-rate schedule (section 11.11): the rate as a function of the step or epoch count.
public protocol LRSchedule: Sendable {
    /// The learning rate at `step`, counted from 0 (the caller decides whether steps are updates
    /// or epochs).
    func lr(at step: Int) -> Float
}

/// The same learning rate at every step.
public struct ConstantLR: LRSchedule {
    /// The rate returned at every step.
    public var lr: Float
    /// A schedule that always returns `lr`.
    public init(_ lr: Float) { self.lr = lr }
    /// `lr`, whatever the step.
    public func lr(at step: Int) -> Float { lr }
}

/// Vaswani et al.: lr = scale · d_model^-0.5 · min(n^-0.5, n · warmup^-1.5) for update n = step + 1
/// (the paper counts updates from 1).
public struct TransformerWarmupLR: LRSchedule {
    /// The model width d_model, the number of warmup updates, and a factor multiplying the whole rate.
    public var dModel: Int, warmup: Int, scale: Double
    /// The paper's schedule for width `dModel` (4000 warmup updates by default), times `scale`.
    public init(dModel: Int, warmup: Int = 4000, scale: Double = 1) { self.dModel = dModel; self.warmup = warmup; self.scale = scale }
    /// The rate for update `step + 1`: rising linearly over the warmup, then decaying as the inverse square root of the update number.
    public func lr(at step: Int) -> Float {
        let s = Double(max(step + 1, 1))
        return Float(scale * pow(Double(dModel), -0.5) * min(pow(s, -0.5), s * pow(Double(warmup), -1.5)))
    }
}

/// The book's `CosineScheduler`, from step 0: over the `warmupSteps` first steps linear from
/// warmupBeginLR towards baseLR, step t taking warmupBeginLR + (baseLR − warmupBeginLR)(t + 1)/w, so
/// that step 0 already moves the parameters and step w − 1 reaches baseLR; then
/// finalLR + (baseLR − finalLR)(1 + cos(π (t − w) / (maxUpdate − w))) / 2 up to maxUpdate, then finalLR.
public struct CosineWarmupLR: LRSchedule {
    /// The step where the cosine reaches `finalLR`, the peak and final rates, the warmup length and the rate the warmup starts from.
    public var maxUpdate: Int, baseLR: Float, finalLR: Float, warmupSteps: Int, warmupBeginLR: Float
    /// Throws for a warmup longer than the run (`warmupSteps` > `maxUpdate`) or negative counts.
    public init(maxUpdate: Int, baseLR: Float = 0.01, finalLR: Float = 0, warmupSteps: Int = 0, warmupBeginLR: Float = 0) throws {
        guard maxUpdate >= 0, warmupSteps >= 0 else {
            throw DiveError.invalidArgument(
                op: "CosineWarmupLR", detail: "step counts must not be negative (maxUpdate \(maxUpdate), warmupSteps \(warmupSteps))")
        }
        guard warmupSteps <= maxUpdate else {
            throw DiveError.invalidArgument(
                op: "CosineWarmupLR", detail: "a warmup of \(warmupSteps) steps is longer than the run's \(maxUpdate)")
        }
        self.maxUpdate = maxUpdate; self.baseLR = baseLR; self.finalLR = finalLR
        self.warmupSteps = warmupSteps; self.warmupBeginLR = warmupBeginLR
    }
    /// The linear warmup rate, then the cosine from `baseLR` down to `finalLR`, then `finalLR` after `maxUpdate`.
    public func lr(at step: Int) -> Float {
        if step < warmupSteps {
            return warmupBeginLR + (baseLR - warmupBeginLR) * Float(step + 1) / Float(warmupSteps)
        }
        guard step <= maxUpdate else { return finalLR }
        let span = Double(maxUpdate - warmupSteps)
        let t = span > 0 ? Double(step - warmupSteps) / span : 1
        return finalLR + (baseLR - finalLR) * Float((1 + cos(Double.pi * t)) / 2)
    }
}

/// The book's `FactorScheduler`: max(stopFactorLR, baseLR · factor^t).
public struct FactorLR: LRSchedule {
    /// The decay factor per step, the floor the rate never goes below, and the starting rate.
    public var factor: Float, stopFactorLR: Float, baseLR: Float
    /// A schedule from `baseLR` multiplied by `factor` every step, floored at `stopFactorLR`.
    public init(factor: Float = 1, stopFactorLR: Float = 1e-7, baseLR: Float = 0.1) {
        self.factor = factor; self.stopFactorLR = stopFactorLR; self.baseLR = baseLR
    }
    /// max(stopFactorLR, baseLR · factor^step).
    public func lr(at step: Int) -> Float { max(stopFactorLR, Float(Double(baseLR) * pow(Double(factor), Double(step)))) }
}

/// The book's `SquareRootScheduler`: lr · (t + 1)^-0.5.
public struct SquareRootLR: LRSchedule {
    /// The rate at step 0.
    public var lr: Float
    /// A schedule starting at `lr` and decaying as the inverse square root of the step count.
    public init(lr: Float = 0.1) { self.lr = lr }
    /// lr · (step + 1)^-0.5.
    public func lr(at step: Int) -> Float { Float(Double(lr) * pow(Double(step + 1), -0.5)) }
}

/// PyTorch's `MultiStepLR`: baseLR · γ^(number of milestones ≤ t).
public struct MultiStepLR: LRSchedule {
    /// The starting rate, the steps at which it is multiplied by `gamma`, and that factor.
    public var baseLR: Float, milestones: [Int], gamma: Float
    /// A schedule from `baseLR`, multiplied by `gamma` (0.1 by default) at each milestone.
    public init(baseLR: Float, milestones: [Int], gamma: Float = 0.1) {
        self.baseLR = baseLR; self.milestones = milestones; self.gamma = gamma
    }
    /// baseLR · γ^(number of milestones ≤ step).
    public func lr(at step: Int) -> Float {
        Float(Double(baseLR) * pow(Double(gamma), Double(milestones.filter { $0 <= step }.count)))
    }
}
