// The release binary needs nothing beyond x86-64's baseline: under qemu-user emulating a Nehalem
// (SSE4.2, no AVX), `dive train rnn --epochs 2` runs the baseline kernels, and its losses match
// the native run's within 1e-4. Runs where qemu-x86_64 is installed (CI installs qemu-user).
import Foundation
import Testing

let qemu: String? = ["/usr/bin/qemu-x86_64", "/usr/local/bin/qemu-x86_64"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite("BaselineCPU", .enabled(if: qemu != nil, "qemu-x86_64 is not installed (apt-get install qemu-user)"))
struct BaselineCPUTests {
    /// The per-epoch losses of `dive train rnn --epochs 2`, natively or under `qemu-x86_64 -cpu Nehalem`.
    func losses(emulated: Bool, in dir: URL) throws -> [Double] {
        let log = dir.appendingPathComponent(emulated ? "nehalem.jsonl" : "native.jsonl")
        let args = ["train", "rnn", "--device", "cpu", "--epochs", "2", "--log", log.path]
        let p = try CLI.process(args)
        if emulated {
            p.arguments = ["-cpu", "Nehalem", p.executableURL!.path] + args
            p.executableURL = URL(fileURLWithPath: qemu!)
        }
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationReason == .exit && p.terminationStatus == 0, "\(emulated ? "Nehalem" : "native") run failed:\n\(output)")
        return try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            let record = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            return try #require(record?["loss"] as? Double)
        }
    }

    @Test func nehalemRunsTheBaselineAndMatchesNative() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let native = try losses(emulated: false, in: dir), nehalem = try losses(emulated: true, in: dir)
        #expect(native.count == 2 && nehalem.count == 2)
        for (a, b) in zip(native, nehalem) { #expect(abs(a - b) <= 1e-4, "native loss \(a), Nehalem \(b)") }
        // The emulated CPU has no AVX: `dive devices` says it runs the baseline kernels.
        let p = try CLI.process(["devices"])
        p.arguments = ["-cpu", "Nehalem", p.executableURL!.path, "devices"]
        p.executableURL = URL(fileURLWithPath: qemu!)
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = FileHandle.nullDevice
        try p.run()
        let devices = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(devices.contains("vector kernels baseline"), "dive devices under Nehalem: \(devices)")
    }
}
