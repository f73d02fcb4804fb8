// While a big text is tokenised (`dive train <lm> --text`): on a terminal, one line on standard
// error redrawn in place at most ten times a second, with the pass, the bytes read of the total
// and the rate; nothing when standard error is not a terminal.
import DiveData
import Foundation

/// The progress line of a text's two passes, on standard error when it is a terminal.
final class TokenisingProgress {
    private let label: String
    private var lastDraw = -1.0, drewPass = 0, finishedPass = 0

    init(path: String) { label = "tokenising \(path)" }

    /// A handler for `TextTokenizer` and `TextCorpusCache`, or nil when standard error is not a terminal.
    static func handler(path: String, show: Bool) -> ((TextProgress) -> Void)? {
        guard show, isatty(STDERR_FILENO) != 0 else { return nil }
        let line = TokenisingProgress(path: path)
        return { line.update($0) }
    }

    func update(_ p: TextProgress) {
        let done = p.bytesRead >= p.totalBytes
        guard finishedPass != p.pass, done || p.seconds - lastDraw >= 0.1 || p.pass != drewPass else { return }
        lastDraw = p.seconds; drewPass = p.pass
        if done { finishedPass = p.pass }
        let mb = 1e6, percent = p.totalBytes > 0 ? 100 * Double(p.bytesRead) / Double(p.totalBytes) : 100
        let text = String(
            format: "\r%@: %@ %3.0f%% (%.0f of %.0f MB, %.0f MB/s)   ", label as NSString,
            (p.pass == 1 ? "counting" : "writing ids") as NSString, percent, Double(p.bytesRead) / mb, Double(p.totalBytes) / mb,
            Double(p.bytesRead) / mb / max(p.seconds, 1e-3))
        FileHandle.standardError.write(Data((text + (done ? "\n" : "")).utf8))
    }
}
