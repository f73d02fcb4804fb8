// The kernels' files, shared by both GPU runtimes: the OpenCL C of Kernels/*.cl (embedded at build
// time, or read from the folder DIVE_KERNELS names while developing), the folder where compiled
// programs and tuned choices are kept, and the hash that keys what is kept there.
import Foundation

enum KernelFiles {
    /// The source of program `name`: Kernels/common.cl (the helpers every program shares), then
    /// Kernels/`name`.cl.
    static func source(named name: String) throws -> String {
        try file("common") + "\n" + file(name)
    }

    private static func file(_ name: String) throws -> String {
        if let dir = ProcessInfo.processInfo.environment["DIVE_KERNELS"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("\(name).cl")
            return try String(contentsOf: url, encoding: .utf8)
        }
        guard let text = EmbeddedKernels.sources[name] else {
            throw DiveError.invalidArgument(op: "kernels", detail: "no kernel file '\(name).cl' was embedded at build time")
        }
        return text
    }

    /// The cache's kernels folder: `CacheFolder.folder("kernels")`.
    static let cacheDirectory: URL? = CacheFolder.folder("kernels")

    /// 64-bit FNV-1a over the parts, separated by NUL.
    static func fnv1a(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0) &* 0x100_0000_01b3
        }
        return hash
    }
}
