// `dive check [--device X] [--json]`: run first on a new GPU or driver. Every kernel variant of the
// device against the CPU backend in float64 on awkward shapes, one line per op and variant with the
// worst error; exits non-zero if anything fails.
import ArgumentParser
import Dive
import DiveBench
import Foundation

struct CheckCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check every kernel variant of a device against the CPU's float64 results.")

    @OptionGroup var deviceOption: DeviceOption
    @Flag(help: "Print one JSON object per line.") var json = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        var failed = 0, total = 0
        try reportingErrors {
            for d in try deviceOption.all() {
                try DeviceCheck.run(
                    device: d,
                    progress: { op in
                        FileHandle.standardError.write(Data("checking \(op) on \(d)...\n".utf8))
                    },
                    emit: { result in
                        total += 1
                        if !result.passed { failed += 1 }
                        print(json ? result.jsonLine : result.textLine)
                        fflush(nil)
                    })
            }
        }
        if !json { print(failed == 0 ? "all \(total) checks passed" : "\(failed) of \(total) checks FAILED") }
        if failed > 0 { throw ExitCode(1) }
    }
}
