// Learning-rate schedules: constant, the Transformer paper's warmup, the book's cosine with linear
// warmup (11.11), factor, square-root and multi-step. `lr(at:)` takes the step or epoch count,
// from 0: the rate at step 0 is the first update's, and no schedule wastes it on a rate of 0.
import Dive
import Foundation

public protocol LRSchedule: Sendable {
    /// The learning rate at `step`, counted from 0 (the caller decides whether steps are updates
    /// or epochs).
    func lr(at step: Int) -> Float
}

public struct ConstantLR: LRSchedule {
    public var lr: Float
    public init(_ lr: Float) { self.lr = lr }
    public func lr(at step: Int) -> Float { lr }
}

/// Vaswani et al.: lr = scale · d_model^-0.5 · min(n^-0.5, n · warmup^-1.5) for update n = step + 1
/// (the paper counts updates from 1).
public struct TransformerWarmupLR: LRSchedule {
    public var dModel: Int, warmup: Int, scale: Double
    public init(dModel: Int, warmup: Int = 4000, scale: Double = 1) { self.dModel = dModel; self.warmup = warmup; self.scale = scale }
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
    public var maxUpdate: Int, baseLR: Float, finalLR: Float, warmupSteps: Int, warmupBeginLR: Float
    /// Throws for a warmup longer than the run (`warmupSteps` > `maxUpdate`) or negative counts.
    public init(maxUpdate: Int, baseLR: Float = 0.01, finalLR: Float = 0, warmupSteps: Int = 0, warmupBeginLR: Float = 0) throws {
        guard maxUpdate >= 0, warmupSteps >= 0 else {
            throw DiveError.invalidArgument(op: "CosineWarmupLR", detail: "step counts must not be negative (maxUpdate \(maxUpdate), warmupSteps \(warmupSteps))")
        }
        guard warmupSteps <= maxUpdate else {
            throw DiveError.invalidArgument(op: "CosineWarmupLR", detail: "a warmup of \(warmupSteps) steps is longer than the run's \(maxUpdate)")
        }
        self.maxUpdate = maxUpdate; self.baseLR = baseLR; self.finalLR = finalLR
        self.warmupSteps = warmupSteps; self.warmupBeginLR = warmupBeginLR
    }
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
    public var factor: Float, stopFactorLR: Float, baseLR: Float
    public init(factor: Float = 1, stopFactorLR: Float = 1e-7, baseLR: Float = 0.1) {
        self.factor = factor; self.stopFactorLR = stopFactorLR; self.baseLR = baseLR
    }
    public func lr(at step: Int) -> Float { max(stopFactorLR, Float(Double(baseLR) * pow(Double(factor), Double(step)))) }
}

/// The book's `SquareRootScheduler`: lr · (t + 1)^-0.5.
public struct SquareRootLR: LRSchedule {
    public var lr: Float
    public init(lr: Float = 0.1) { self.lr = lr }
    public func lr(at step: Int) -> Float { Float(Double(lr) * pow(Double(step + 1), -0.5)) }
}

/// PyTorch's `MultiStepLR`: baseLR · γ^(number of milestones ≤ t).
public struct MultiStepLR: LRSchedule {
    public var baseLR: Float, milestones: [Int], gamma: Float
    public init(baseLR: Float, milestones: [Int], gamma: Float = 0.1) { self.baseLR = baseLR; self.milestones = milestones; self.gamma = gamma }
    public func lr(at step: Int) -> Float {
        Float(Double(baseLR) * pow(Double(gamma), Double(milestones.filter { $0 <= step }.count)))
    }
}
