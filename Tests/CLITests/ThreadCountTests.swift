// A run's numbers do not depend on the thread count. seq2seq and the Transformer (their minibatches
// split across the cores) and the LSTM (its ops split) are trained with DIVE_THREADS 1, 2 and 3:
// every epoch's loss and the final checkpoint, byte for byte, are those of the one-thread run.
// `--trace` says how each run used the cores.
import Foundation
import Testing

@Suite("ThreadCount", .serialized)
struct ThreadCountTests {
    static let runs: [(recipe: String, epochs: Int, cores: String)] = [
        ("seq2seq", 3, "batch split (2 shards on"), ("transformer", 2, "batch split (2 shards on"), ("lstm", 2, "op split")
    ]

    @Test(arguments: runs)
    func sameBitsForAnyThreadCount(recipe: String, epochs: Int, cores: String) throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var checkpoints: [Data] = [], losses: [[String]] = []
        for threads in 1...3 {
            let checkpoint = dir.appendingPathComponent("\(threads).safetensors"), log = dir.appendingPathComponent("\(threads).jsonl")
            let r = try CLI.run(
                [
                    "train", recipe, "--device", "cpu", "--epochs", "\(epochs)", "--seed", "3", "--checkpoint", checkpoint.path, "--log",
                    log.path, "--trace"
                ],
                environment: ["DIVE_THREADS": "\(threads)"])
            #expect(r.exitedNormally && r.status == 0, "DIVE_THREADS=\(threads) dive train \(recipe) failed:\n\(r.output)")
            #expect(r.output.contains("cores: \(cores)"), "DIVE_THREADS=\(threads) \(recipe): no \"cores: \(cores)\" in\n\(r.output)")
            checkpoints.append(try Data(contentsOf: checkpoint))
            // The loss field of each epoch's line, as written ("loss": 0.298595, six digits).
            losses.append(
                try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line in
                    String(line.split(separator: ",").first { $0.contains("\"loss\"") } ?? "")
                })
        }
        #expect(losses[0].count == epochs)
        for threads in 2...3 {
            #expect(
                losses[threads - 1] == losses[0], "\(recipe): losses with \(threads) threads \(losses[threads - 1]), with 1 \(losses[0])")
            // A Bool, not the two files: on failure the test would diff hundreds of kilobytes.
            let sameBytes = checkpoints[threads - 1] == checkpoints[0]
            #expect(sameBytes, "\(recipe): the checkpoint with \(threads) threads differs from one thread's")
        }
    }
}
