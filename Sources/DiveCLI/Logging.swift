// Where the library's logs go in the CLI: one line each on standard error, from the level that
// `--log-level` or DIVE_LOG_LEVEL sets (default: warning; `trace` adds every OpenCL launch).
import ArgumentParser
import Foundation
import Logging

enum CLILogging {
    /// The level in force; every handler reads it, so `--log-level` also governs loggers made earlier.
    nonisolated(unsafe) static var level: Logger.Level =
        ProcessInfo.processInfo.environment["DIVE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning

    static func bootstrap() { LoggingSystem.bootstrap { CLILogHandler(label: $0) } }
}

struct CLILogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level {
        get { CLILogging.level }
        set { CLILogging.level = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        FileHandle.standardError.write(Data("\(label) \(level): \(message)\n".utf8))
    }
}

/// `--log-level` for the commands that compute.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"),
            help: "Diagnostics on standard error from this level: trace, debug, info, notice, warning, error, critical (default: $DIVE_LOG_LEVEL, else warning).")
    var logLevel: String?

    func validate() throws {
        guard let logLevel else { return }
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not '\(logLevel)'")
        }
        CLILogging.level = level
    }
}
