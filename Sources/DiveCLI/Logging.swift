// Where the library's logs go in the CLI: one line each on standard error, from the level that
// `--log-level` or DIVE_LOG_LEVEL sets (default: warning; `trace` adds every OpenCL launch).
import ArgumentParser
import Foundation
import Logging

enum CLILogging {
    /// The level without `--log-level`: DIVE_LOG_LEVEL, else warning.
    static var defaultLevel: Logger.Level {
        ProcessInfo.processInfo.environment["DIVE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
    }

    /// Sends every logger to standard error from `level`. Called once, after the command line is
    /// parsed and before the command runs, so no logger exists yet.
    static func bootstrap(level: Logger.Level) { LoggingSystem.bootstrap { CLILogHandler(label: $0, logLevel: level) } }
}

/// A command whose diagnostics `--log-level` sets.
protocol LoggingCommand {
    var logging: LoggingOptions { get }
}

struct CLILogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        FileHandle.standardError.write(Data("\(label) \(event.level): \(event.message)\n".utf8))
    }
}

/// `--log-level` for the commands that compute.
struct LoggingOptions: ParsableArguments {
    @Option(
        name: .customLong("log-level"),
        help:
            "Diagnostics on standard error from this level: trace, debug, info, notice, warning, error, critical (default: $DIVE_LOG_LEVEL, else warning)."
    )
    var logLevel: String?

    /// The level in force: `--log-level`, else the default.
    var level: Logger.Level { logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? CLILogging.defaultLevel }

    func validate() throws {
        guard let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil else { return }
        throw ValidationError(
            "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not '\(logLevel)'")
    }
}
