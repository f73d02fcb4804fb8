// Helpers for the zoo tests: the data directory (DIVE_DATA or ../shared/data), run options for
// short trainings, and the OpenCL devices present.
import Dive
import DiveData
import DiveZoo
import Foundation
import Testing

/// `$DIVE_DATA`, else `../shared/data` next to the package.
let testDataDirectory: DataDirectory = {
    if let env = ProcessInfo.processInfo.environment["DIVE_DATA"], !env.isEmpty {
        return DataDirectory(url: URL(fileURLWithPath: env), allowsDownload: false)
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return DataDirectory(url: root.deletingLastPathComponent().appendingPathComponent("shared/data"), allowsDownload: false)
}()

/// Options for a short run on `device` without files or progress output.
func shortRun(_ device: Device = .cpu, epochs: Int, seed: UInt64 = 0) -> RunOptions {
    var o = RunOptions()
    o.device = device
    o.override(\.epochs, epochs)
    o.seed = seed
    o.dataDirectory = testDataDirectory
    return o
}

/// Expects the same training on the CPU and on `device` to log the same loss every epoch (within 1e-3).
func expectSameLosses(
    _ cpu: [EpochRecord], _ other: [EpochRecord], on device: Device, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for (a, b) in zip(cpu, other) {
        #expect(
            abs(a.loss - b.loss) < 1e-3, "\(what)epoch \(a.epoch + 1): cpu \(a.loss), \(device) \(b.loss)",
            sourceLocation: sourceLocation)
    }
}

/// The OpenCL devices present (empty on a machine without an OpenCL driver).
let openCLDevices: [Device] = DeviceRegistry.allDevices().filter { $0 != .cpu }

/// Runs `body` with short-run options on the CPU that checkpoint to a fresh temporary file
/// (`name`), and removes the file afterwards.
func withCheckpointedRun(epochs: Int, _ name: String, _ body: (RunOptions, URL) throws -> Void) throws {
    var o = shortRun(epochs: epochs)
    let url = temporaryFile(name)
    defer { try? FileManager.default.removeItem(at: url) }
    o.checkpoint = url
    try body(o, url)
}

/// A fresh temporary file URL.
func temporaryFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("dive-zoo-\(UUID().uuidString)-\(name)")
}
