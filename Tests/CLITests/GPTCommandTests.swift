// `dive train gpt` and `dive predict` on its checkpoint end to end: a text written here trains
// with the held-out loss printed and logged every epoch, the checkpoint samples a continuation
// (the same text for the same seed, the likeliest tokens at temperature 0), and sampling options
// on a recurrent model's checkpoint are a one-line error.
import Foundation
import Testing

@Suite("GPT command", .serialized) struct GPTCommandTests {
    @Test func trainsOnATextAndSamplesFromItsCheckpoint() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("story.txt")
        try Data(OwnTextTests.text().utf8).write(to: text)
        let ckpt = dir.appendingPathComponent("gpt.safetensors"), log = dir.appendingPathComponent("log.jsonl")
        let output = try CLI.succeed([
            "train", "gpt", "--text", text.path, "--epochs", "2", "--batch-size", "4", "--checkpoint", ckpt.path, "--log", log.path
        ])
        #expect(output.contains("weight decay 0.1") && output.contains("held-out loss"), "\(output)")
        let records = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(records.count == 2)
        for r in records {
            let v = try #require(r["validation"] as? Double)
            #expect(v.isFinite && v > 1 && v < 30, "held-out perplexity \(v)")
        }
        let first = try CLI.succeed(["predict", ckpt.path, "The cat ", "--length", "40", "--seed", "3"])
        let again = try CLI.succeed(["predict", ckpt.path, "The cat ", "--length", "40", "--seed", "3"])
        #expect(first == again && first.hasPrefix("The cat ") && first.count > 40, "\(first)")
        let greedy = try CLI.succeed(["predict", ckpt.path, "The cat ", "--length", "40", "--temperature", "0", "--seed", "1"])
        let greedy2 = try CLI.succeed(["predict", ckpt.path, "The cat ", "--length", "40", "--top-k", "1", "--seed", "2"])
        #expect(greedy == greedy2, "temperature 0: \(greedy)\ntop-k 1: \(greedy2)")

        let lstm = dir.appendingPathComponent("lstm.safetensors")
        _ = try CLI.succeed(["train", "lstm", "--text", text.path, "--epochs", "1", "--checkpoint", lstm.path])
        let refused = try CLI.run(["predict", lstm.path, "The cat ", "--temperature", "0.5"])
        #expect(refused.status != 0 && refused.output.contains("--temperature and --top-k are for gpt"), "\(refused.output)")
        #expect(refused.output.split(separator: "\n").count == 1, "\(refused.output)")
    }
}
