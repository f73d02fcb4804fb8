// The zoo's typed errors: unknown recipes, non-finite losses, bad checkpoints and inputs.
import Foundation

/// The zoo's typed errors: an unknown recipe name, a non-finite loss, an interrupted run, a
/// checkpoint that cannot be used, and an invalid option.
public enum ZooError: Error, CustomStringConvertible, Equatable {
    case unknownRecipe(name: String, available: [String])
    /// The loss became NaN or infinite; names the step and the last checkpoint written.
    case nonFiniteLoss(steps: ClosedRange<Int>, epoch: Int, value: Double, lastCheckpoint: String?)
    /// Training stopped by Ctrl-C after writing a checkpoint.
    case interrupted(step: Int, checkpoint: String?, signal: Int32 = SIGINT)
    case badCheckpoint(path: String, detail: String)
    case invalidOption(String)

    /// The message the CLI prints: what went wrong and how to go on (`dive list`, `--resume`, `--checkpoint`).
    public var description: String {
        switch self {
        case let .unknownRecipe(name, available):
            return "no recipe '\(name)'; available: \(available.joined(separator: ", ")) (see `dive list`)"
        case let .nonFiniteLoss(steps, epoch, value, last):
            let when = steps.count == 1 ? "at step \(steps.lowerBound)" : "within steps \(steps.lowerBound)–\(steps.upperBound)"
            return "the loss became \(value) \(when) (epoch \(epoch + 1)); training stopped. "
                + (last.map { "Last good checkpoint: \($0) (resume with --resume and a smaller --lr or a --clip)" }
                    ?? "No checkpoint was written yet: pass --checkpoint PATH to keep one")
        case let .interrupted(step, checkpoint, _):
            return "interrupted at step \(step); "
                + (checkpoint.map { "checkpoint written to \($0); continue with --resume" }
                    ?? "no checkpoint path, nothing saved")
        case let .badCheckpoint(path, detail):
            return "checkpoint \(path): \(detail)"
        case let .invalidOption(detail):
            return detail
        }
    }
}
