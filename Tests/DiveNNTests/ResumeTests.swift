// A training run killed with SIGKILL at a random step and resumed from its last checkpoint ends
// with the same parameters, bit for bit on `cpu`, as the run left alone (DiveNNResumeWorker).
import Dive
import DiveNN
import DiveReference
import Foundation
import Testing

@Suite("DiveNNResume", .serialized) struct ResumeTests {
    @Test func killedAndResumedRunMatchesUninterruptedRun() throws {
        let worker = try #require(
            executableBesideTests("DiveNNResumeWorker"),
            "DiveNNResumeWorker not found beside \(CommandLine.arguments[0]); run swift build --build-tests")
        let steps = 24
        let straight = try temporaryDirectory(), resumed = try temporaryDirectory()
        let full = try run(worker, [straight.path, String(steps)])
        #expect(full.status == 0, "uninterrupted run failed: \(full.output)")

        // Kill at a random step in 2 … steps-2, then resume (twice more if it was killed again).
        let killAt = Int.random(in: 2...(steps - 2))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: worker)
        p.arguments = [resumed.path, String(steps)]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        var seen = ""
        while p.isRunning && !seen.contains("step \(killAt)\n") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the worker finished before it could be killed at step \(killAt)")
        print("resume test: killed at step \(killAt) (worker had printed \(seen.split(separator: "\n").last ?? "nothing"))")
        let rest = try run(worker, [resumed.path, String(steps)])
        #expect(rest.status == 0, "resumed run failed: \(rest.output)")
        #expect(!rest.output.contains("step 1\n") || killAt < 1, "the resumed run started over instead of resuming")

        let a = try SafeTensorsFile.read(from: straight.appendingPathComponent("final.safetensors"))
        let b = try SafeTensorsFile.read(from: resumed.appendingPathComponent("final.safetensors"))
        #expect(a.tensors.keys.sorted() == b.tensors.keys.sorted())
        for (name, t) in a.tensors { #expect(t.data == b.tensors[name]?.data, "\(name) differs after resuming from step \(killAt)") }
    }
}
