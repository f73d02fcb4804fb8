// `--tensorboard DIR` end to end: the event file `dive train` writes is read back by TensorBoard's
// own reader (the tensorboard Python package's EventAccumulator, TensorBoard/read_events.py),
// and every scalar is the JSON log's figure of the same name and epoch (to float32 and the log's
// six digits), with the learning rate per step besides; a program's held-out figure goes in too;
// under mpirun rank 0 alone writes; a bad folder is a one-line error before any work. The
// tensorboard package is required (CI installs it): without it these tests fail and say so.
import Dive
import DiveData
import DiveDistributed
import DiveNN
import DiveZoo
import Foundation
import Testing

@Suite("TensorBoard", .serialized) struct TensorBoardTests {
    static let reader = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("TensorBoard/read_events.py")

    /// What read_events.py prints: the file version, the event files, and per tag (step, value).
    struct Events: Decodable {
        var file_version: Double
        var files: [String]
        var scalars: [String: [[Double]]]
    }

    /// The event files in `folder` as TensorBoard reads them.
    func readEvents(_ folder: URL) throws -> Events {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.reader.path, folder.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(
            p.terminationStatus != 2,
            "TensorBoard's reader is missing: pip install tensorboard (python3 -m pip install tensorboard; CI's .ci/run does)\n\(stderr)")
        try #require(p.terminationStatus == 0, "read_events.py failed:\n\(stderr)")
        return try JSONDecoder().decode(Events.self, from: stdout)
    }

    /// The JSON log's lines as objects.
    func logLines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
        }
    }

    /// Every scalar of the JSON log (all its numbers but "epoch" and "seconds") is in `events` under
    /// its name at step "epoch", and nothing else is but `besides`; returns the log's epochs.
    @discardableResult
    func expectSameFigures(
        _ events: Events, _ log: URL, besides: Set<String> = ["step/lr"], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [Int] {
        let lines = try logLines(log)
        var expected: [String: [(step: Int, value: Double)]] = [:]
        for line in lines {
            let epoch = try #require(line["epoch"] as? Int)
            for (key, value) in line where key != "epoch" && key != "seconds" && key != "recipe" {
                expected[key, default: []].append((epoch, try #require(value as? Double, "\(key): \(value)")))
            }
        }
        #expect(
            Set(events.scalars.keys) == Set(expected.keys).union(besides),
            "tags \(events.scalars.keys.sorted()), the log's \(expected.keys.sorted())", sourceLocation: sourceLocation)
        for (tag, series) in expected {
            let got = events.scalars[tag] ?? []
            #expect(got.map { Int($0[0]) } == series.map(\.step), "\(tag): steps \(got.map { $0[0] })", sourceLocation: sourceLocation)
            for (g, e) in zip(got, series) {
                // Float32 (2^-24) and the log's %.6g (half a unit in the 6th digit: ≤ 5e-6 relative).
                #expect(
                    abs(g[1] - e.value) <= 6e-6 * abs(e.value), "\(tag) at epoch \(e.step): TensorBoard \(g[1]), the log \(e.value)",
                    sourceLocation: sourceLocation)
            }
        }
        return lines.compactMap { $0["epoch"] as? Int }
    }

    /// `step/lr`: one value per optimiser step, 1…`steps`, the last the log's last epoch's lr.
    func expectStepLearningRates(_ events: Events, steps: Int, lastLR: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let series = events.scalars["step/lr"] ?? []
        #expect(series.map { Int($0[0]) } == Array(1...steps), "step/lr at \(series.map { $0[0] })", sourceLocation: sourceLocation)
        #expect(
            abs((series.last?[1] ?? .nan) - lastLR) <= 6e-6 * lastLR, "last step/lr \(series.last ?? [])", sourceLocation: sourceLocation)
    }

    @Test func trainingWritesTheLogsFiguresForTensorBoard() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent("runs/tb"), log = dir.appendingPathComponent("log.jsonl")
        let checkpoint = dir.appendingPathComponent("rnn.safetensors")
        try CLI.succeed([
            "train", "rnn", "--epochs", "3", "--checkpoint", checkpoint.path, "--log", log.path, "--tensorboard", events.path
        ])
        let read = try readEvents(events)
        #expect(read.files.count == 1 && read.files[0].hasPrefix("events.out.tfevents."), "\(read.files)")
        #expect(read.file_version == 2, "file_version \(read.file_version)")
        let epochs = try expectSameFigures(read, log)
        #expect(epochs == [1, 2, 3])
        #expect(Set(read.scalars.keys) == ["loss", "perplexity", "tokens_per_s", "lr", "grad_norm", "step/lr"])
        let norms = try logLines(log).map { try #require($0["grad_norm"] as? Double) }
        #expect(norms.count == 3 && norms.allSatisfy { $0.isFinite && $0 > 0 }, "gradient norms \(norms)")
        let steps = try #require(Int(try SafeTensorsFile.read(from: checkpoint).metadata["step"] ?? ""))
        let lastLR = try #require(try logLines(log).last?["lr"] as? Double)
        expectStepLearningRates(read, steps: steps, lastLR: lastLR)
        // A second run into the same folder adds its own file and leaves the first as it was.
        let first = try Data(contentsOf: events.appendingPathComponent(read.files[0]))
        try CLI.succeed(["train", "seq-model", "--epochs", "2", "--tensorboard", events.path])
        let files = try FileManager.default.contentsOfDirectory(atPath: events.path).sorted()
        #expect(files.count == 2 && files.allSatisfy { $0.hasPrefix("events.out.tfevents.") }, "\(files)")
        #expect(try Data(contentsOf: events.appendingPathComponent(read.files[0])) == first)
    }

    /// The 8.1 recipe trains outside the Trainer, and writes its epochs (no steps) as well.
    @Test func theSequenceRecipeWritesItsEpochsToo() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent("tb"), log = dir.appendingPathComponent("log.jsonl")
        try CLI.succeed(["train", "seq-model", "--epochs", "2", "--log", log.path, "--tensorboard", events.path])
        let read = try readEvents(events)
        #expect(Set(read.scalars.keys) == ["loss", "tokens_per_s", "lr"])
        #expect(try expectSameFigures(read, log, besides: []) == [1, 2])
    }

    /// A program's own loop (a GRU language model on its own text through the library): the
    /// held-out figure it sets in `onEpoch` is `validation` in both logs.
    @Test func aProgramsHeldOutFigureIsWrittenAsValidation() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let chars = tokenize([String(repeating: "the time traveller ", count: 8)], as: .char)[0]
        let vocab = Vocab(chars)
        let tokens = vocab.indices(chars).map { Int32($0) }
        let config = LanguageModelConfig(kind: .gru, vocabSize: vocab.count, hidden: 16)
        let task = try LanguageModelTask(config: config, corpus: tokens, vocab: vocab, batchSize: 2, numSteps: 10, on: CPUBackend.shared)
        var options = RunOptions()
        options.metricsLog = dir.appendingPathComponent("log.jsonl")
        options.tensorboard = dir.appendingPathComponent("tb")
        let trainer = Trainer(
            task, hyper: Hyperparameters(epochs: 1, lr: 0.5, batchSize: 2, optimizer: .sgd, schedule: .cosine), options: options)
        trainer.onEpoch = { record in record.validation = 1 / Double(record.epoch + 3) }
        let history = try trainer.run(steps: 20)  // several epochs of about 7 steps, the rate decaying every step
        #expect(history.count >= 2)
        let read = try readEvents(dir.appendingPathComponent("tb"))
        #expect(Set(read.scalars.keys) == ["loss", "perplexity", "tokens_per_s", "lr", "validation", "grad_norm", "step/lr"])
        try expectSameFigures(read, dir.appendingPathComponent("log.jsonl"))
        expectStepLearningRates(read, steps: 20, lastLR: history[history.count - 1].lr)
        let lrs = (read.scalars["step/lr"] ?? []).map { $0[1] }
        #expect(zip(lrs, lrs.dropFirst()).allSatisfy { $0 > $1 }, "the cosine schedule's rates \(lrs)")
    }

    @Test(.enabled(if: Distributed.isAvailable, "built without the MPI trait"))
    func onlyRankZeroWrites() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent("tb"), log = dir.appendingPathComponent("log.jsonl")
        try CLI.succeed(
            ranks: 2,
            [
                "train", "rnn", "--epochs", "2", "--distributed", "--checkpoint", dir.appendingPathComponent("r.safetensors").path,
                "--log", log.path, "--tensorboard", events.path
            ])
        let read = try readEvents(events)
        #expect(read.files.count == 1, "\(read.files)")
        try expectSameFigures(read, log)
    }

    /// A file, a folder under a file, a device or (when not root) a read-only folder: one error
    /// line naming the path, status 1, and nothing written.
    @Test func aBadFolderIsAOneLineErrorBeforeAnyWork() throws {
        let dir = try CLI.folder()
        defer {
            chmod(dir.appendingPathComponent("readonly").path, 0o755)
            try? FileManager.default.removeItem(at: dir)
        }
        let file = dir.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        let readOnly = dir.appendingPathComponent("readonly")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
        chmod(readOnly.path, 0o555)
        var bad = [file.path, file.appendingPathComponent("tb").path, "/dev/null"]
        if getuid() != 0 { bad.append(readOnly.path) }  // root writes in any folder
        let checkpoint = dir.appendingPathComponent("out/r.safetensors"), log = dir.appendingPathComponent("out/log.jsonl")
        for path in bad {
            let r = try CLI.run(["train", "rnn", "--epochs", "1", "--checkpoint", checkpoint.path, "--log", log.path, "--tensorboard", path]
            )
            #expect(r.exitedNormally && r.status == 1, "--tensorboard \(path): \(r.reason) \(r.status)\n\(r.output)")
            let errors = r.output.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            #expect(errors.count == 1 && errors[0].contains("--tensorboard \(path)"), "--tensorboard \(path):\n\(r.output)")
            #expect(!r.output.contains("epoch"), "--tensorboard \(path) started training:\n\(r.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path), "a refused run wrote its outputs")
        #expect(try Data(contentsOf: file) == Data("x".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly.path).isEmpty)
        var info = stat()
        #expect(lstat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "/dev/null is no longer a device")
    }
}
