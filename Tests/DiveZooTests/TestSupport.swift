// Helpers for the zoo tests: the data directory (DIVE_DATA or ../shared/data), run options for
// short trainings, and the OpenCL devices present.
import Dive
import DiveData
import DiveZoo
import Foundation

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

/// The OpenCL devices present (empty on a machine without an OpenCL driver).
let openCLDevices: [Device] = DeviceRegistry.allDevices().filter { $0 != .cpu }

/// A fresh temporary file URL.
func temporaryFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("dive-zoo-\(UUID().uuidString)-\(name)")
}
