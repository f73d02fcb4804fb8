// Running the release `dive` from the tests: the binary built beside this test binary, the
// book's data, one thread, and OpenMPI allowed as root.
import DiveReference
import Foundation
import Testing

enum CLI {
    static let dive = executableBesideTests("dive")

    static let dataDirectory =
        ProcessInfo.processInfo.environment["DIVE_DATA"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized.path

    /// `dive args`, or with `ranks` `mpirun -np ranks … dive args` (2-core and root friendly).
    static func process(ranks: Int? = nil, _ args: [String]) throws -> Process {
        let dive = try #require(Self.dive, "dive not found beside \(CommandLine.arguments[0]); run swift build --build-tests")
        let p = Process()
        var env = ProcessInfo.processInfo.environment
        env["DIVE_DATA"] = dataDirectory
        env["DIVE_THREADS"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        if let ranks {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["mpirun", "-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", dive] + args
        } else {
            p.executableURL = URL(fileURLWithPath: dive)
            p.arguments = args
        }
        return p
    }

    struct Result {
        var status: Int32
        var reason: Process.TerminationReason
        var output: String
        var exitedNormally: Bool { reason == .exit }
    }

    /// Runs to the end and returns how it ended and what it printed (standard output and error);
    /// `environment` adds to (or replaces in) the process's environment.
    static func run(ranks: Int? = nil, _ args: [String], environment: [String: String] = [:]) throws -> Result {
        let p = try process(ranks: ranks, args)
        p.environment = (p.environment ?? [:]).merging(environment) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Result(status: p.terminationStatus, reason: p.terminationReason, output: output)
    }

    /// Runs and expects success.
    @discardableResult
    static func succeed(ranks: Int? = nil, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try run(ranks: ranks, args)
        #expect(
            r.exitedNormally && r.status == 0, "dive \(args.joined(separator: " ")) failed:\n\(r.output)", sourceLocation: sourceLocation)
        return r.output
    }

    /// A new folder under the temporary directory, removed when the test process exits.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dive-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        TemporaryFolders.shared.add(url)
        return url
    }
}

/// The folders `CLI.folder()` made, removed at the process's exit (a test may hand one to a later
/// step of itself, so none is removed sooner).
private final class TemporaryFolders: @unchecked Sendable {  // Safe: `lock` guards `urls`.
    static let shared: TemporaryFolders = {
        atexit { TemporaryFolders.shared.removeAll() }
        return TemporaryFolders()
    }()
    private let lock = NSLock()
    private var urls: [URL] = []

    func add(_ url: URL) { lock.withLock { urls.append(url) } }

    func removeAll() {
        for url in lock.withLock({ urls }) { try? FileManager.default.removeItem(at: url) }
    }
}
