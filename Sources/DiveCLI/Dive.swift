// The `dive` command line: lists devices, benchmarks kernels. Errors print one line and exit non-zero.
import ArgumentParser
import Dive
import DiveBench
import Foundation

@main
struct DiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dive",
        abstract: "Train the sequence models of Dive into Deep Learning on GPUs (CUDA, OpenCL) or the CPU.",
        subcommands: [
            DevicesCommand.self, ListCommand.self, TrainCommand.self, PredictCommand.self,
            TranslateCommand.self, PredictNLICommand.self, BenchCommand.self, TuneCommand.self, CheckCommand.self
        ])

    static func main() {
        do {
            var command = try parseAsRoot()
            CLILogging.bootstrap(level: (command as? LoggingCommand)?.logging.level ?? CLILogging.defaultLevel)
            try command.run()
        } catch {
            exit(withError: error)
        }
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

/// A switch option: `--graphs on|off`.
enum OnOff: String, ExpressibleByArgument, CaseIterable { case on, off }
