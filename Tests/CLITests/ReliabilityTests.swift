// What a hostile user tried (issue 17), end to end through `dive`: bad flags are one-line errors
// before any work; outputs that are not regular files are refused and symlinks written through;
// hostile checkpoints are errors, not traps or out-of-memory kills; a full disk is named and the
// last checkpoint kept; Ctrl-C, SIGTERM and kill -9 at random moments resume to the bit-identical
// end of the uninterrupted run; a second signal exits cleanly.
import DiveNN
import Foundation
import Testing

@Suite("Reliability", .serialized) struct ReliabilityTests {
    /// A one-line "error: …" and status 1, by exit rather than a signal.
    func expectRefused(_ args: [String], mentions: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(args)
        #expect(
            r.exitedNormally && r.status == 1, "dive \(args.joined(separator: " ")): \(r.reason) \(r.status)\n\(r.output)",
            sourceLocation: sourceLocation)
        let errors = r.output.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(
            errors.count == 1 && errors[0].contains(mentions), "dive \(args.joined(separator: " ")):\n\(r.output)",
            sourceLocation: sourceLocation)
    }

    @Test func badFlagsAreOneLineErrorsBeforeAnyWork() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = dir.appendingPathComponent("x.safetensors").path
        for (flags, mention) in [
            (["--epochs", "0"], "--epochs"), (["--lr=-1"], "--lr"), (["--clip", "nan"], "--clip"),
            (["--checkpoint-every", "0"], "--checkpoint-every"), (["--batch-size", "0"], "--batch-size"),
            (["--beam", "0"], "--beam"), (["--length-penalty", "nan"], "--length-penalty"),
            (["--adam-eps", "0"], "--adam-eps")
        ] {
            try expectRefused(["train", "seq2seq", "--checkpoint", ckpt] + flags, mentions: mention)
        }
        #expect(!FileManager.default.fileExists(atPath: ckpt), "a refused run wrote a checkpoint")
        try expectRefused(["train", "rnn", "--resume", "--checkpoint", ckpt], mentions: "no checkpoint")
        try expectRefused(["predict", ckpt, "time", "--length=-5"], mentions: "--length")
        try expectRefused(["predict", ckpt, "time", "--length", "10000000"], mentions: "--length")
        try expectRefused(["translate", ckpt, "go .", "--beam", "100000000"], mentions: "--beam")
        // Found by Fuzz/sweep: epochs × batches overflowed and trapped.
        try expectRefused(["train", "rnn", "--epochs=9223372036854775807"], mentions: "--epochs")
        try expectRefused(["train", "rnn", "--epochs", "4611686018427387904"], mentions: "--epochs")
    }

    @Test func onlyRegularFilesAreReplacedAndSymlinksAreWrittenThrough() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("folder.safetensors"), fifo = dir.appendingPathComponent("fifo.safetensors")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        #expect(mkfifo(fifo.path, 0o644) == 0)
        for path in ["/dev/null", "/dev/full", folder.path, fifo.path] {
            try expectRefused(["train", "rnn", "--epochs", "1", "--checkpoint", path], mentions: path)
        }
        var info = stat()
        #expect(lstat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "/dev/null is no longer a device")
        #expect(lstat(fifo.path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        // Missing folders are created; a symlink stays a symlink and its target is updated.
        let target = dir.appendingPathComponent("runs/deep/real.safetensors"), link = dir.appendingPathComponent("link.safetensors")
        try CLI.succeed(["train", "rnn", "--epochs", "1", "--checkpoint", target.path])
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        try CLI.succeed(["train", "rnn", "--epochs", "2", "--checkpoint", link.path])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
        #expect(try SafeTensorsFile.read(from: target).metadata["step"] == "16", "the symlink's target was not updated")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path) == ["real.safetensors"])
    }

    /// Found by Fuzz/sweep: figures (--plot, --attention) replaced devices and FIFOs and did not
    /// create missing folders, nor did --log; a data file that is a FIFO blocked the run for good.
    @Test func everyOutputPathIsCheckedAndDataFilesMustBeRegular() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("fifo.svg"), ckpt = dir.appendingPathComponent("b.safetensors").path
        #expect(mkfifo(fifo.path, 0o644) == 0)
        try CLI.succeed(["train", "bahdanau", "--epochs", "1", "--checkpoint", ckpt])
        for path in ["/dev/null", "/dev/full", fifo.path, dir.path] {
            try expectRefused(["translate", ckpt, "go .", "--attention", path], mentions: path)
            try expectRefused(
                ["train", "rnn", "--epochs", "1", "--checkpoint", dir.appendingPathComponent("r.safetensors").path, "--plot", path],
                mentions: path)
        }
        var info = stat()
        #expect(lstat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "/dev/null is no longer a device")
        #expect(lstat(fifo.path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO, "the FIFO was replaced")
        // Missing folders are created for every output.
        let deep = dir.appendingPathComponent("a/b")
        try CLI.succeed([
            "train", "rnn", "--epochs", "1", "--checkpoint", deep.appendingPathComponent("c/r.safetensors").path,
            "--log", deep.appendingPathComponent("l/log.jsonl").path, "--plot", deep.appendingPathComponent("p/plot.svg").path
        ])
        try CLI.succeed(["translate", ckpt, "go .", "--attention", deep.appendingPathComponent("t/att.svg").path])
        for file in ["c/r.safetensors", "l/log.jsonl", "p/plot.svg", "t/att.svg"] {
            #expect(FileManager.default.fileExists(atPath: deep.appendingPathComponent(file).path), "\(file) was not written")
        }
        // A data file that is a FIFO is refused at once instead of blocking the run.
        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        #expect(mkfifo(data.appendingPathComponent("timemachine.txt").path, 0o644) == 0)
        try expectRefused(["train", "rnn", "--epochs", "1", "--checkpoint", ckpt, "--data-dir", data.path], mentions: "FIFO")
    }

    @Test func hostileCheckpointsAreErrorsNotCrashes() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.safetensors")
        try CLI.succeed(["train", "rnn", "--epochs", "1", "--checkpoint", good.path])
        let file = try SafeTensorsFile.read(from: good)
        func variant(_ name: String, _ change: (inout SafeTensorsFile) -> Void) throws -> String {
            var f = file
            change(&f)
            let url = dir.appendingPathComponent(name + ".safetensors")
            try f.write(to: url)
            return url.path
        }
        let hugeModel = try variant("huge") {
            $0.metadata["extra.config"] = #"{"bidirectional":false,"hidden":32,"kind":"rnn","layers":1000000,"vocabSize":28}"#
        }
        try expectRefused(["predict", hugeModel, "time"], mentions: "layers 1000000")
        let nanWeights = try variant("nan") { f in
            var t = f.tensors["linear.bias"]!
            var v = t.floats!; v[3] = .nan
            t = SafeTensor(v, shape: t.shape); f.tensors["linear.bias"] = t
        }
        try expectRefused(["predict", nanWeights, "time"], mentions: "nan")
        let future = try variant("future") { $0.metadata["format"] = "dive-checkpoint-9" }
        try expectRefused(["predict", future, "time"], mentions: "unknown format")
        let negative = try variant("negative") { $0.metadata["extra.position"] = #"{"batchIndex":-3,"epoch":-1,"rng":{"state":1}}"# }
        try expectRefused(["train", "rnn", "--epochs", "3", "--resume", "--checkpoint", negative], mentions: "position")
        // A shape whose element count overflows 64 bits.
        let header = #"{"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        bytes.append(Data(header.utf8))
        let overflow = dir.appendingPathComponent("overflow.safetensors")
        try bytes.write(to: overflow)
        try expectRefused(["predict", overflow.path, "time"], mentions: "too large")
        // Another model's checkpoint: the differing field is named and the file is left as it was.
        let before = try Data(contentsOf: good)
        try expectRefused(
            ["train", "gru", "--epochs", "3", "--resume", "--checkpoint", good.path], mentions: "kind gru here, rnn in the file")
        #expect(try Data(contentsOf: good) == before)
        // A finished run asked to continue to the same epoch.
        try expectRefused(["train", "rnn", "--epochs", "1", "--resume", "--checkpoint", good.path], mentions: "already trained 1 epochs")
    }

    static let canMountTmpfs: Bool = {
        guard getuid() == 0 else { return false }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dive-probe-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sh", "-c", "mount -t tmpfs -o size=64k tmpfs \(dir.path) && umount \(dir.path)"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test(.enabled(if: canMountTmpfs, "needs root and tmpfs mounts"))
    func aFullDiskIsNamedAndTheLastCheckpointKept() throws {
        let dir = try CLI.folder()
        defer { _ = try? CLI.shell("umount \(dir.path)"); try? FileManager.default.removeItem(at: dir) }
        try CLI.shell("mount -t tmpfs -o size=500k tmpfs \(dir.path)")
        let ckpt = dir.appendingPathComponent("rnn.safetensors")
        try CLI.succeed(["train", "rnn", "--epochs", "1", "--checkpoint", ckpt.path])  // ~84 kB
        let before = try Data(contentsOf: ckpt)
        try CLI.shell("head -c 10000000 /dev/zero > \(dir.path)/filler 2> /dev/null; true")  // fills the disk
        let r = try CLI.run(["train", "lstm", "--epochs", "1", "--checkpoint", ckpt.path])  // ~320 kB: does not fit
        #expect(
            r.exitedNormally && r.status == 1 && r.output.contains("No space left on device") && r.output.contains(ckpt.path), "\(r.output)"
        )
        #expect(try Data(contentsOf: ckpt) == before, "the previous checkpoint changed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["filler", "rnn.safetensors"])
        // The metrics log on the full disk: named, and no trap.
        let log = try CLI.run([
            "train", "rnn", "--epochs", "2", "--checkpoint", dir.appendingPathComponent("../x.safetensors").standardized.path,
            "--log", dir.appendingPathComponent("log.jsonl").path
        ])
        #expect(
            log.exitedNormally && log.status == 1 && log.output.contains("log.jsonl") && log.output.contains("No space left on device"),
            "\(log.output)")
    }

    /// Interrupts a run `times` times at random moments (SIGINT, SIGTERM or SIGKILL in turn),
    /// resuming after each, and returns the final checkpoint and log.
    func interruptedRun(_ args: [String], in dir: URL, times: Int) throws -> (checkpoint: URL, log: String) {
        let ckpt = dir.appendingPathComponent("interrupted.safetensors"), log = dir.appendingPathComponent("interrupted.jsonl")
        let signals = [SIGINT, SIGTERM, SIGKILL]
        var resume: [String] = [], finished = false
        for i in 0..<times {
            let p = try CLI.process(args + ["--checkpoint", ckpt.path, "--log", log.path] + resume)
            p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 250_000...700_000))
            kill(p.processIdentifier, signals[i % signals.count])
            p.waitUntilExit()
            let sig = signals[i % signals.count]
            // SIGINT and SIGTERM: a checkpoint, then exit 128 + the signal (130, 143).
            #expect(
                sig == SIGKILL || (p.terminationReason == .exit && [0, 128 + sig].contains(p.terminationStatus)),
                "interruption \(i) by signal \(sig): \(p.terminationReason) \(p.terminationStatus)")
            finished = p.terminationReason == .exit && p.terminationStatus == 0  // it ended before the signal
            #expect(!finished, "interruption \(i) came after the run had ended; lengthen the run")
            if FileManager.default.fileExists(atPath: ckpt.path) { resume = ["--resume"] }
        }
        if !finished { try CLI.succeed(args + ["--checkpoint", ckpt.path, "--log", log.path] + resume) }
        return (ckpt, try String(contentsOf: log, encoding: .utf8))
    }

    /// The log's lines without their timings.
    func figures(_ log: String) -> [String] {
        log.split(separator: "\n").map {
            $0.split(separator: ",").filter { !$0.contains("tokens_per_s") && !$0.contains("seconds") }.joined(separator: ",")
        }
    }

    @Test(arguments: [
        ["train", "lstm", "--epochs", "24", "--checkpoint-every", "1"],
        ["train", "seq2seq", "--epochs", "80", "--checkpoint-every", "1"]
    ])
    func interruptionsResumeBitIdentically(_ args: [String]) throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let straight = dir.appendingPathComponent("straight.safetensors"), straightLog = dir.appendingPathComponent("straight.jsonl")
        try CLI.succeed(args + ["--checkpoint", straight.path, "--log", straightLog.path])
        let (ckpt, log) = try interruptedRun(args, in: dir, times: 5)
        let a = try SafeTensorsFile.read(from: straight), b = try SafeTensorsFile.read(from: ckpt)
        for (name, t) in a.tensors where !name.hasPrefix("carried.") {
            #expect(b.tensors[name]?.data == t.data, "\(args[1]): \(name) differs")
        }
        #expect(figures(log) == figures(try String(contentsOf: straightLog, encoding: .utf8)), "\(args[1]): the logs differ")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix(".dive-tmp") })
    }

    @Test func longGenerationStreamsAndStopsOnCtrlC() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = dir.appendingPathComponent("rnn.safetensors")
        try CLI.succeed(["train", "rnn", "--epochs", "1", "--checkpoint", ckpt.path])
        let p = try CLI.process(["predict", ckpt.path, "time traveller", "--length", "100000"])
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        var seen = Data()
        while seen.count < 200 { let chunk = pipe.fileHandleForReading.availableData; if chunk.isEmpty { break }; seen += chunk }
        #expect(seen.count >= 200, "nothing streamed before the end")
        kill(p.processIdentifier, SIGINT)
        seen += pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 130, "\(p.terminationReason) \(p.terminationStatus)")
        #expect(seen.count < 100_000, "Ctrl-C did not stop the generation (\(seen.count) bytes)")
    }

    @Test func aSecondSignalExitsAtOnceWithoutACrash() throws {
        for _ in 0..<3 {
            let p = try CLI.process([
                "train", "lstm", "--epochs", "50", "--checkpoint", try CLI.folder().appendingPathComponent("x.safetensors").path
            ])
            p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(600_000)
            kill(p.processIdentifier, SIGINT)
            kill(p.processIdentifier, SIGINT)
            p.waitUntilExit()
            #expect(p.terminationReason == .exit && p.terminationStatus == 130, "\(p.terminationReason) \(p.terminationStatus)")
        }
    }
}

extension CLI {
    /// Runs a shell command as the test's user (mount, fill a disk).
    static func shell(_ command: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sh", "-c", command]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(command) failed")
    }
}
