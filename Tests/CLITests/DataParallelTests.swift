// Data-parallel training end to end: the release `dive` under `mpirun`. Two ranks hold
// bit-identical parameters after every step; one rank under mpirun is the plain run bit for bit;
// two ranks end where one process ends (relative L2 ≤ 1e-3 per tensor: only the order of float
// additions differs); and a rank killed with SIGKILL ends the whole job with the last checkpoint
// intact, which `--resume` continues with another number of ranks. Runs when built with the MPI
// trait (`--traits MPI`), which CI does.
import DiveDistributed
import DiveNN
import Foundation
import Testing

@Suite("DataParallel", .serialized, .enabled(if: Distributed.isAvailable, "built without the MPI trait"))
struct DataParallelTests {
    @discardableResult
    static func run(ranks: Int?, _ args: [String]) throws -> String { try CLI.succeed(ranks: ranks, args) }

    static func folder() throws -> URL { try CLI.folder() }

    static func digests(_ folder: URL, rank: Int) throws -> [String] {
        try String(contentsOf: folder.appendingPathComponent("rank-\(rank).txt"), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Per tensor ‖a − b‖ / ‖b‖ over the model's parameters.
    static func relativeDistances(_ a: URL, _ b: URL) throws -> [String: Double] {
        let x = try SafeTensorsFile.read(from: a), y = try SafeTensorsFile.read(from: b)
        var out: [String: Double] = [:]
        for (name, t) in y.tensors where !name.hasPrefix("optimizer.") {
            let u = try #require(x.tensors[name]?.floats), v = try #require(t.floats)
            let diff = zip(u, v).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }
            out[name] = (diff / max(norm, 1e-30)).squareRoot()
        }
        return out
    }

    /// lstm (SGD, clipping) and seq2seq (Adam, clipping, dropout between GRU layers).
    static let runs: [(recipe: String, epochs: Int)] = [("lstm", 3), ("seq2seq", 5)]

    /// Trains `args` under `ranks` (nil: plain) into `<dir>/<name>.safetensors`, with digests in `<dir>/<name>/`.
    static func train(_ args: [String], ranks: Int?, in dir: URL, as name: String) throws -> (checkpoint: URL, digests: URL) {
        let checkpoint = dir.appendingPathComponent(name + ".safetensors"), digests = dir.appendingPathComponent(name)
        try run(
            ranks: ranks,
            args + (ranks == nil ? [] : ["--distributed"])
                + ["--checkpoint", checkpoint.path, "--parameter-digests", digests.path])
        return (checkpoint, digests)
    }

    @Test(arguments: runs)
    func ranksStayBitIdenticalAndMatchOneProcess(recipe: String, epochs: Int) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = ["train", recipe, "--device", "cpu", "--epochs", "\(epochs)", "--seed", "0"]
        let two = try Self.train(common, ranks: 2, in: dir, as: "two"), plain = try Self.train(common, ranks: nil, in: dir, as: "plain")
        let rank0 = try Self.digests(two.digests, rank: 0), rank1 = try Self.digests(two.digests, rank: 1)
        let steps = try Self.digests(plain.digests, rank: 0).count
        #expect(steps >= epochs && rank0.count == steps, "\(rank0.count) steps on rank 0, \(steps) in the plain run")
        #expect(rank0 == rank1, "ranks diverge first at \(zip(rank0, rank1).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "the end")")
        for (name, d) in try Self.relativeDistances(two.checkpoint, plain.checkpoint) {
            #expect(d <= 1e-3, "\(recipe) \(name): relative L2 \(d) between 2 ranks and one process")
        }
    }

    @Test func oneRankIsThePlainRunBitForBit() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = ["train", "seq2seq", "--device", "cpu", "--epochs", "2", "--seed", "3"]
        let one = try Self.train(common, ranks: 1, in: dir, as: "one"), plain = try Self.train(common, ranks: nil, in: dir, as: "plain")
        let a = try Self.digests(one.digests, rank: 0), b = try Self.digests(plain.digests, rank: 0)
        #expect(!a.isEmpty && a == b)
        let x = try SafeTensorsFile.read(from: one.checkpoint), y = try SafeTensorsFile.read(from: plain.checkpoint)
        for (name, t) in y.tensors { #expect(x.tensors[name]?.data == t.data, "\(name) differs") }
    }

    @Test func aKilledRankEndsTheJobAndTheRunResumesWithOtherRanks() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = dir.appendingPathComponent("run.safetensors")
        let args = [
            "train", "seq2seq", "--device", "cpu", "--epochs", "400", "--checkpoint-every", "1", "--seed", "0",
            "--checkpoint", checkpoint.path
        ]
        let job = try CLI.process(ranks: 2, args + ["--distributed"])
        let pipe = Pipe()
        job.standardOutput = pipe; job.standardError = pipe
        try job.run()
        // Wait for a checkpoint, then SIGKILL one rank (a child of mpirun).
        let start = Date()
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date().timeIntervalSince(start) < 60 { usleep(50_000) }
        usleep(300_000)
        let ranks = try Self.children(of: job.processIdentifier)
        try #require(ranks.count == 2, "mpirun's children: \(ranks)")
        kill(ranks[1], SIGKILL)
        let killed = Date()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        #expect(Date().timeIntervalSince(killed) < 30, "the job took \(Date().timeIntervalSince(killed)) s to end")
        #expect(job.terminationStatus != 0, "mpirun exited 0 after a rank was killed:\n\(output)")
        // The last checkpoint is intact and resumes, with one rank and then with two.
        let info = try SafeTensorsFile.read(from: checkpoint)
        let step = try #require(info.metadata["step"].flatMap { Int($0) })
        let resumedOne = try Self.run(
            ranks: 1,
            [
                "train", "seq2seq", "--device", "cpu", "--epochs", "\(step / 10 + 2)",
                "--checkpoint", checkpoint.path, "--resume", "--distributed"
            ])
        #expect(resumedOne.contains("loss"))
        let after = try #require(try SafeTensorsFile.read(from: checkpoint).metadata["step"].flatMap { Int($0) })
        #expect(after > step, "resuming did not train: step \(step) → \(after)")
        try Self.run(
            ranks: 2,
            [
                "train", "seq2seq", "--device", "cpu", "--epochs", "\(after / 10 + 2)",
                "--checkpoint", checkpoint.path, "--resume", "--distributed"
            ])
        let last = try #require(try SafeTensorsFile.read(from: checkpoint).metadata["step"].flatMap { Int($0) })
        #expect(last > after)
    }

    /// The process ids whose parent is `pid`, ascending (from /proc/<id>/stat's fourth field).
    static func children(of pid: Int32) throws -> [Int32] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }.filter { id in
            guard let stat = try? String(contentsOfFile: "/proc/\(id)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }.sorted()
    }
}
