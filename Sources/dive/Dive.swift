// The `dive` command line: lists devices, benchmarks kernels. Errors print one line and exit non-zero.
import ArgumentParser
import Dive
import DiveBench
import Foundation

@main
struct DiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dive",
        abstract: "Train the sequence models of Dive into Deep Learning on OpenCL devices or the CPU.",
        subcommands: [DevicesCommand.self, ListCommand.self, TrainCommand.self, PredictCommand.self,
                      TranslateCommand.self, PredictNLICommand.self, BenchCommand.self, TuneCommand.self, CheckCommand.self])

    static func main() {
        CLILogging.bootstrap()
        main(nil)
    }
}

/// Runs `body`, printing a DiveError as one line on standard error and exiting with status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as DiveError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

/// Resolves a `--device` option, saying what `auto` picked.
func resolveDevices(_ text: String?) throws -> [Device] {
    guard let text else { return DeviceRegistry.allDevices() }
    let device = try Device(parsing: text)
    let backend = try Backends.backend(for: device)
    if device == .auto {
        FileHandle.standardError.write(Data("auto: using \(backend.displayName)\n".utf8))
    }
    return [backend.device]
}

/// A switch option: `--graphs on|off`.
enum OnOff: String, ExpressibleByArgument, CaseIterable { case on, off }
