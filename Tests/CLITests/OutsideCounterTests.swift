// `--trace` against an outside counter: CountOpenCL/count_opencl.c, preloaded in front of
// libOpenCL, counts every kernel launch and blocking read the process makes and where each
// blocking read falls. A training epoch's one host read is its loss, so the launches between two
// such reads are one whole epoch as the device saw it, its end included. For the LSTM and the
// Transformer on opencl:0 (PoCL), epochs 3 and 4 each cost what `--trace` reports for the last
// epoch, within the launch budgets (LSTM ≤ 40 per minibatch, Transformer ≤ 150), with one
// blocking read per epoch.
import Foundation
import Testing

enum CountOpenCL {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("CountOpenCL/count_opencl.c")

    /// The preloadable counter (built once per test process, in a folder removed when it exits).
    static let library: Result<URL, Error> = Result {
        let out = try CLI.folder().appendingPathComponent("count_opencl.so")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(StandInCUDA.compiler))
        p.arguments = ["-shared", "-fPIC", "-O1", "-o", out.path, source.path, "-ldl"]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return out
    }
}

@Suite(
    "OutsideCounter", .serialized, .enabled(if: StandInCUDA.compiler != nil && StandInCUDA.openCLPresent, "no C compiler or OpenCL headers")
)
struct OutsideCounterTests {
    @Test(arguments: [("lstm", 40.0), ("transformer", 150.0)])
    func traceCountsWhatTheDeviceSaw(recipe: String, budget: Double) throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let counts = dir.appendingPathComponent("counts.json")
        let r = try CLI.run(
            [
                "train", recipe, "--device", "opencl:0", "--epochs", "4", "--trace",
                "--checkpoint", dir.appendingPathComponent("run.safetensors").path
            ],
            environment: ["LD_PRELOAD": try CountOpenCL.library.get().path, "COUNT_OPENCL_OUT": counts.path])
        try #require(r.exitedNormally && r.status == 0, "\(r.output)")
        let output = r.output
        // --trace: "trace (opencl:0, epoch 4, N minibatches):", "launches per minibatch: X (...)", "blocking reads per epoch: R"
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let header = try #require(lines.first { $0.hasPrefix("trace (") }, "\(output)")
        let minibatches = try #require(header.components(separatedBy: ", ").last?.split(separator: " ").first.flatMap { Double($0) })
        let launchLine = try #require(lines.first { $0.hasPrefix("launches per minibatch:") }, "\(output)")
        let traced = try #require(Double(launchLine.split(separator: " ")[3]), "\(launchLine)")
        let tracedReads = try #require(
            lines.first { $0.hasPrefix("blocking reads per epoch:") }?.split(separator: " ").last.flatMap { Int($0) })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: counts)) as? [String: Any])
        let marks = try #require(json["launches_before_read"] as? [Int])
        try #require(marks.count >= 4, "blocking reads: \(marks)")
        // Reads 1–4 end epochs 1–4 (each epoch reads its loss once; the checkpoint's reads come after).
        for epoch in [3, 4] {
            let seen = Double(marks[epoch - 1] - marks[epoch - 2]) / minibatches
            #expect(
                abs(seen - traced) < 0.05 + 1e-9 && seen <= budget,
                "\(recipe) epoch \(epoch): the counter saw \(seen) launches per minibatch, --trace says \(traced) (budget \(budget))")
        }
        #expect(
            marks[3] > marks[2] && marks[2] > marks[1] && tracedReads == 1,
            "\(recipe): one blocking read per epoch (--trace: \(tracedReads)); launches before each read \(marks.prefix(6))")
    }
}
