// Progress of a training run: on a terminal a bar redrawn in place with the epoch, loss and
// tokens/s; otherwise plain lines, one every tenth of the run (and the last epoch).
import Foundation

/// A training run's progress: on a terminal a bar redrawn in place with the epoch, loss and rate;
/// otherwise a plain line every tenth of the run and at its last epoch.
public final class ProgressDisplay {
    /// Whether it draws a bar in place (a terminal) rather than plain lines.
    public let isTerminal: Bool
    private let write: (String) -> Void
    private var lastDraw = 0.0
    /// The rate's unit: what a recipe counts per second.
    public var unit = "tok/s"

    /// `isTerminal` nil: ask whether standard output is a terminal.
    public init(
        isTerminal: Bool? = nil,
        write: @escaping (String) -> Void = {
            print($0, terminator: ""); fflush(nil)
        }
    ) {
        self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) != 0)
        self.write = write
    }

    /// During an epoch (terminal only; redrawn at most 10 times a second). Trainers that keep the
    /// loss on the device until the epoch ends pass nil.
    public func update(epoch: Int, of total: Int, loss: Double?, tokensPerSecond: Double) {
        guard isTerminal else { return }
        let now = Training.now()
        guard now - lastDraw > 0.1 else { return }
        lastDraw = now
        let lossText = loss.map { String(format: " loss %.4f ", $0) } ?? ""
        write("\r" + bar(epoch: epoch, of: total) + lossText + String(format: " %.0f %@   ", tokensPerSecond, unit as NSString))
    }

    /// After an epoch: redraw the bar, or print a plain line every tenth of the run.
    public func endEpoch(_ record: EpochRecord, of total: Int, metric: String) {
        let text = String(
            format: "epoch %d/%d  loss %.4f  %@  %.0f %@", record.epoch + 1, total, record.loss,
            metric as NSString, record.tokensPerSecond, unit as NSString)
        if isTerminal {
            write("\r" + bar(epoch: record.epoch + 1, of: total) + " " + text + "   " + (record.epoch + 1 == total ? "\n" : ""))
        } else if (record.epoch + 1) % max(total / 10, 1) == 0 || record.epoch + 1 == total || record.epoch == 0 {
            write(text + "\n")
        }
    }

    private func bar(epoch: Int, of total: Int) -> String {
        let width = 24, filled = total > 0 ? min(width, epoch * width / total) : width
        return "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "]"
    }
}
