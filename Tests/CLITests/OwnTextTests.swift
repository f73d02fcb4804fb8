// `dive train <language model> --text` end to end (issue 26): a text written here trains in
// characters and in words, reports a held-out perplexity every epoch (progress, JSON log, plot)
// equal to the one recomputed from the checkpoint, keeps the best epoch's checkpoint, and
// `dive predict` continues it with nothing but the checkpoint. Bad data is a one-line error naming
// the file (and line) that writes nothing.
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation
import Testing

@Suite("Own text", .serialized) struct OwnTextTests {
    /// About 7,800 characters (1,600 words, 17 distinct) of a text no book holds, the same every run.
    static func text() -> String {
        let subjects = ["The cat", "A dog", "The old man", "My sister"], verbs = ["sees", "likes", "follows"]
        let objects = ["the river.", "a red ball.", "the moon."]
        var rng = DataRNG(seed: 7)
        return (0..<290).map { i in
            let line = [subjects.randomElement(using: &rng)!, verbs.randomElement(using: &rng)!, objects.randomElement(using: &rng)!]
            return line.joined(separator: " ") + (i % 4 == 3 ? "\n" : " ")
        }.joined()
    }

    /// The output's lines "epoch k/n ... held-out X ...": each epoch's held-out perplexity.
    func heldOut(_ output: String) -> [Double] {
        output.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.compactMap { line in
            let words = line.split(separator: " ")
            return words.firstIndex(of: "held-out").flatMap { Double(words[$0 + 1]) }
        }
    }

    /// The JSON log's `validation` per epoch.
    func logged(_ log: URL) throws -> [Double] {
        try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["validation"] as? Double, "no validation in \(line)")
        }
    }

    @Test func charactersTrainReportHeldOutPerplexityKeepTheBestAndPredict() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("story.txt")
        try Data(Self.text().utf8).write(to: text)
        let ckpt = dir.appendingPathComponent("runs/lstm.safetensors"), log = dir.appendingPathComponent("log.jsonl")
        let plot = dir.appendingPathComponent("curve.svg")
        let output = try CLI.succeed([
            "train", "lstm", "--text", text.path, "--epochs", "3", "--checkpoint", ckpt.path, "--log", log.path, "--plot", plot.path,
            "--keep", "best"
        ])
        #expect(output.contains("\(text.path): \(Self.text().unicodeScalars.count) characters"), "\(output)")
        // --valid-fraction 0.1 by default with --text: every epoch's held-out perplexity, printed and logged.
        let printed = heldOut(output), values = try logged(log)
        #expect(printed.count == 3 && values.count == 3, "\(output)")
        for (p, v) in zip(printed, values) {
            #expect(v.isFinite && v > 1 && v < 100, "held-out perplexity \(v)")
            #expect(abs(p - v) <= 0.006, "printed \(p), logged \(v)")
        }
        #expect(try String(contentsOf: plot, encoding: .utf8).contains("held-out"))

        // The checkpoint says what it holds, and its held-out perplexity is the last epoch's.
        let file = try SafeTensorsFile.read(from: ckpt)
        #expect(file.metadata["extra.tokens"] == "char")
        let (model, vocab) = try ZooModel.load(from: ckpt, on: CPUBackend.shared).languageModel()
        let corpus = try TextCorpus(reading: text)
        #expect(vocab == corpus.vocab)
        let held = Int((Double(corpus.corpus.count) * 0.1).rounded())
        let tokens = Array(corpus.corpus.suffix(held))
        let recomputed = try Evaluation.perplexity(model, tokens: tokens, batchSize: min(32, (held - 1) / 35), numSteps: 35)
        #expect(abs(recomputed - values[2]) <= 1e-4 * values[2], "recomputed \(recomputed), logged \(values[2])")

        // --keep best: the best epoch's checkpoint beside the last one, with its figure.
        let best = dir.appendingPathComponent("runs/lstm.best.safetensors")
        let bestValue = try #require(Double(try SafeTensorsFile.read(from: best).metadata["extra.validation"] ?? ""))
        #expect(abs(bestValue - values.min()!) <= 1e-5 * bestValue, "best \(bestValue), logged \(values)")

        // dive predict needs nothing but the checkpoint: 20 characters after the prefix, case kept.
        for checkpoint in [ckpt, best] {
            let continued = try CLI.succeed(["predict", checkpoint.path, "The cat ", "--length", "20"])
            #expect(continued.hasPrefix("The cat ") && continued.dropLast().unicodeScalars.count == 28, "\(continued.debugDescription)")
        }

        // A checkpoint from before the tokenisation was stored holds characters.
        var old = file
        old.metadata["extra.tokens"] = nil
        let oldURL = dir.appendingPathComponent("old.safetensors")
        try old.write(to: oldURL)
        #expect(try ZooModel.load(from: oldURL, on: CPUBackend.shared).tokenKind == .char)
        #expect(try CLI.succeed(["predict", oldURL.path, "the ", "--length", "5"]).dropLast().unicodeScalars.count == 9)
        old.metadata["extra.tokens"] = "syllable"
        try old.write(to: oldURL)
        let refused = try CLI.run(["predict", oldURL.path, "the "])
        #expect(refused.status == 1 && refused.output.contains("metadata 'tokens' is 'syllable'"), "\(refused.output)")
    }

    @Test func wordsTrainAndPredictInWords() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A folder of .txt files is one corpus.
        let lines = Self.text().split(separator: "\n"), folder = dir.appendingPathComponent("texts")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (k, half) in [lines[..<36], lines[36...]].enumerated() {
            try Data(half.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("part\(k).txt"))
        }
        let corpus = try TextCorpus(reading: folder, tokens: .word)
        let ckpt = dir.appendingPathComponent("gru.safetensors"), log = dir.appendingPathComponent("log.jsonl")
        let output = try CLI.succeed([
            "train", "gru", "--text", folder.path, "--tokens", "word", "--epochs", "2",
            "--checkpoint", ckpt.path, "--log", log.path
        ])
        let held = Int((Double(corpus.corpus.count) / 10).rounded())
        #expect(
            output.contains("\(corpus.corpus.count) words, a vocabulary of \(corpus.vocab.count) (min-freq 2), \(held) held out"),
            "\(output)")
        #expect(try logged(log).allSatisfy { $0.isFinite && $0 > 1 })
        #expect(try SafeTensorsFile.read(from: ckpt).metadata["extra.tokens"] == "word")
        let continued = try CLI.succeed(["predict", ckpt.path, "My  sister", "--length", "6"])
        let tokens = continued.split(separator: " ").map { $0.trimmingCharacters(in: .newlines) }
        #expect(tokens.count == 8 && tokens.prefix(2) == ["My", "sister"], "\(continued.debugDescription)")
        #expect(tokens.allSatisfy { !$0.isEmpty && !$0.contains(" ") })
    }

    @Test func resumingOnAnotherTextOrTokenisationIsRefused() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let story = dir.appendingPathComponent("story.txt"), other = dir.appendingPathComponent("other.txt")
        try Data(Self.text().utf8).write(to: story)
        try Data((Self.text() + String(repeating: "M", count: 5000)).utf8).write(to: other)  // the same characters, in another order
        let ckpt = dir.appendingPathComponent("gru.safetensors").path
        try CLI.succeed(["train", "gru", "--text", story.path, "--epochs", "1", "--checkpoint", ckpt])
        for (flags, mention) in [
            (["--text", other.path], "another vocabulary"), (["--text", story.path, "--tokens", "word"], "another model")
        ] {
            let r = try CLI.run(["train", "gru", "--epochs", "2", "--resume", "--checkpoint", ckpt] + flags)
            #expect(r.status == 1 && r.output.contains(mention), "\(r.output)")
        }
        try CLI.succeed(["train", "gru", "--text", story.path, "--epochs", "2", "--resume", "--checkpoint", ckpt])
    }

    /// `--steps`: the run stops after that many optimiser steps, in its first epoch here; a
    /// recipe that does not train through the trainer refuses it.
    @Test func stepsStopTheRunAfterThatManyOptimiserSteps() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("story.txt"), ckpt = dir.appendingPathComponent("lstm.safetensors")
        try Data(Self.text().utf8).write(to: text)
        let log = dir.appendingPathComponent("log.jsonl")
        let output = try CLI.succeed([
            "train", "lstm", "--text", text.path, "--epochs", "5", "--steps", "3", "--checkpoint", ckpt.path, "--log", log.path
        ])
        #expect(output.contains("5 epochs (at most 3 steps)"), "\(output)")
        #expect(try logged(log).count == 1)
        #expect(try SafeTensorsFile.read(from: ckpt).metadata["step"] == "3")
        for (flags, message) in [(["numerics"], "--steps is for the recipes"), (["lstm", "--steps", "0"], "--steps must be at least 1")] {
            let r = try CLI.run(["train"] + flags + (flags.count == 1 ? ["--steps", "3"] : []))
            #expect(r.status == 1 && r.output.contains(message), "\(r.output)")
        }
    }

    @Test func theBooksDataHoldsOutItsEndWhenAsked() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = try CLI.succeed([
            "train", "rnn", "--epochs", "1", "--valid-fraction", "0.1", "--checkpoint", dir.appendingPathComponent("rnn.safetensors").path
        ])
        #expect(heldOut(output).count == 1 && heldOut(output)[0] > 1, "\(output)")
    }

    /// A bad text or flag: (file name or nil, its bytes, extra flags, what the one line says).
    static let badData: [(String?, [UInt8], [String], String)] = [
        ("empty.txt", [], [], "empty.txt: the file is empty"),
        (nil, [], [], "nothing: the folder has no .txt files"),
        ("binary.txt", [0x7f, 0x45, 0x4c, 0x46, 0x0a, 0x02, 0x00, 0x01, 0xff], [], "binary.txt:2: a NUL byte"),
        ("latin1.txt", Array("one\ntwo\ncaf".utf8) + [0xe9] + Array("\nfour\n".utf8), [], "latin1.txt:3: invalid UTF-8"),
        ("short.txt", Array(String(text().prefix(600)).utf8), [], "short.txt: 540 characters left for training (60 held out)"),
        ("same.txt", Array(String(repeating: "a", count: 5000).utf8), [], "same.txt: its vocabulary has one symbol"),
        ("story.txt", Array(text().utf8), ["--valid-fraction", "0.002"], "too few for one window of 35 steps"),
        ("story.txt", Array(text().utf8), ["--valid-fraction", "1"], "--valid-fraction must be in [0, 1)"),
        ("story.txt", Array(text().utf8), ["--valid-fraction", "0", "--keep", "best"], "--keep best needs held-out data"),
        ("story.txt", Array(text().utf8), ["--tokens", "bytes"], "--tokens must be char or word")
    ]

    @Test(arguments: 0..<badData.count)
    func badDataIsOneLineNamingTheFileAndWritesNothing(_ index: Int) throws {
        let (name, bytes, flags, message) = Self.badData[index]
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent(name ?? "nothing")
        if name == nil {
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try Data("not a .txt".utf8).write(to: input.appendingPathComponent("notes.md"))
        } else {
            try Data(bytes).write(to: input)
        }
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(
            [
                "train", "lstm", "--text", input.path, "--epochs", "1", "--checkpoint", out.appendingPathComponent("lstm.safetensors").path,
                "--log", out.appendingPathComponent("log.jsonl").path, "--plot", out.appendingPathComponent("curve.svg").path,
                "--tensorboard", out.appendingPathComponent("tb").path
            ] + flags)
        let lines = r.output.split(separator: "\n")
        #expect(r.exitedNormally && r.status == 1, "\(r.reason) \(r.status): \(r.output)")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && lines[0].contains(message), "\(r.output)")
        if name != nil && !message.hasPrefix("--") { #expect(lines.first?.contains(input.path) == true, "\(r.output)") }
        #expect(!FileManager.default.fileExists(atPath: out.path), "a refused run wrote \(out.path)")
    }

    @Test func textFlagsAreForLanguageModelsOnly() throws {
        // --valid-fraction and --keep best are for translation and nli too (OwnPairsTests).
        for flags in [["--text", "/etc/hostname"], ["--tokens", "word"], ["--min-freq", "2"]] {
            let r = try CLI.run(["train", "seq2seq", "--epochs", "1"] + flags)
            #expect(r.status == 1 && r.output.split(separator: "\n").count == 1, "\(r.output)")
            #expect(r.output.hasPrefix("error: \(flags[0])") && r.output.contains("is for the language models"), "\(r.output)")
        }
        let r = try CLI.run(["train", "lstm", "--tokens", "word"])
        #expect(r.status == 1 && r.output == "error: --tokens needs --text (the book's data is characters)\n", "\(r.output)")
    }
}
