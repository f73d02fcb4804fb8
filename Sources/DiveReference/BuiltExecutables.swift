// Where the tests find an executable SwiftPM built beside them (`dive`, DiveNNResumeWorker): the
// test binary's folder or one of its parents, as the bundle layout differs between platforms.
import Foundation

/// The path of the executable `name` beside the running test binary (its folder or up to three
/// folders above), or nil when it was not built.
public func executableBesideTests(_ name: String) -> String? {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}
