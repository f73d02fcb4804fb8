// Dive's CUDA path end to end on a machine without an NVIDIA GPU: StandInCUDA/libcuda.c, built
// here, answers the driver API calls on the OpenCL device (PoCL), so the CUDA runtime's host side
// (discovery, memory, pinned uploads, module loading, kernel parameters, launch shapes, __local
// arrays as dynamic shared memory) runs for real. `dive check --device cuda:0` passes every variant,
// and training through cuda:0 reaches opencl:0's losses with the same transfers and no more launches
// (a CUDA device counts as a GPU, so it runs the GPU-shaped variants: one GEMM launch, not two).
// With graphs on (the default), each step goes out as one graph, and the losses equal those of
// the same steps launched one by one: a replay that kept a stale argument (the learning rate,
// Adam's step, a dropout seed, a temporary's address) would show here.
// What it cannot test is the PTX itself on a GPU: that needs the device bundle on one.
import DiveDistributed
import Foundation
import Testing

enum StandInCUDA {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("StandInCUDA/libcuda.c")
    static let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Kernels").standardized
    static let compiler = ["/usr/bin/cc", "/usr/bin/clang-15", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let openCLPresent = FileManager.default.fileExists(atPath: "/usr/include/CL/cl.h")

    /// The folder holding the built libcuda.so.1 (built once per test process).
    static let library: Result<URL, Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dive-stand-in-cuda-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: compiler!)
        p.arguments = ["-shared", "-fPIC", "-O1", "-o", dir.appendingPathComponent("libcuda.so.1").path, source.path, "-lOpenCL"]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return dir
    }

    /// `dive args` with the stand-in driver on its library path (and `extra` in the environment).
    static func run(ranks: Int? = nil, _ args: [String], environment extra: [String: String] = [:]) throws -> CLI.Result {
        let path = try library.get().path + (ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? "")
        return try CLI.run(
            ranks: ranks, args, environment: ["LD_LIBRARY_PATH": path, "STAND_IN_CUDA_KERNELS": kernels.path].merging(extra) { $1 })
    }
}

@Suite(
    "StandInCUDA", .serialized, .enabled(if: StandInCUDA.compiler != nil && StandInCUDA.openCLPresent, "no C compiler or OpenCL headers"))
struct StandInCUDATests {
    @Test func devicesListsItAndAutoPrefersIt() throws {
        let devices = try StandInCUDA.run(["devices"])
        #expect(devices.output.contains("cuda:0       Stand-in CUDA device on OpenCL"), "\(devices.output)")
        let auto = try StandInCUDA.run(["train", "rnn", "--device", "auto", "--epochs", "1"])
        #expect(auto.status == 0 && auto.output.contains("auto: using cuda:0"), "\(auto.output)")
    }

    @Test func checkPassesEveryVariant() throws {
        let r = try StandInCUDA.run(["check", "--device", "cuda:0"])
        #expect(r.exitedNormally && r.status == 0, "\(r.output)")
        let results = r.output.split(separator: "\n").filter { $0.hasPrefix("cuda:0") }
        #expect(results.count >= 18 && results.allSatisfy { $0.contains("PASS") }, "\(r.output)")
    }

    /// The per-epoch losses and the trace of `dive train recipe --device device`.
    func train(_ recipe: String, on device: String, epochs: Int, graphs: Bool = true, in dir: URL) throws -> (
        losses: [Double], trace: [String]
    ) {
        let log = dir.appendingPathComponent("\(recipe)-\(device)-\(graphs).jsonl")
        let r = try StandInCUDA.run([
            "train", recipe, "--device", device, "--epochs", "\(epochs)", "--trace", "--log", log.path,
            "--graphs", graphs ? "on" : "off"
        ])
        try #require(r.exitedNormally && r.status == 0, "\(recipe) on \(device):\n\(r.output)")
        let losses = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            let record = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            return try #require(record?["loss"] as? Double)
        }
        let trace = r.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { ["launches per minibatch", "uploads per", "blocking reads", "graphs per"].contains(where: $0.hasPrefix) }
        return (losses, trace)
    }

    @Test(arguments: [("lstm", 2), ("transformer", 2)])
    func trainingMatchesOpenCL(recipe: String, epochs: Int) throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cuda = try train(recipe, on: "cuda:0", epochs: epochs, in: dir),
            opencl = try train(recipe, on: "opencl:0", epochs: epochs, in: dir)
        #expect(cuda.losses.count == epochs && opencl.losses.count == epochs)
        for (a, b) in zip(cuda.losses, opencl.losses) {
            #expect(abs(a - b) <= 1e-3 * max(1, abs(b)), "\(recipe): cuda:0 \(a), opencl:0 \(b)")
        }
        try #require(cuda.trace.count == 4 && opencl.trace.count == 3, "cuda:0 \(cuda.trace)\nopencl:0 \(opencl.trace)")
        #expect(
            cuda.trace.filter { !$0.hasPrefix("graphs") }.dropFirst() == opencl.trace.dropFirst(),
            "transfers differ: cuda:0 \(cuda.trace)\nopencl:0 \(opencl.trace)")
        func launches(_ line: String) -> Double? { line.split(separator: " ").dropFirst(3).first.flatMap { Double($0) } }
        let c = try #require(launches(cuda.trace[0])), o = try #require(launches(opencl.trace[0]))
        #expect(c <= o && c <= (recipe == "lstm" ? 40 : 150), "launches per minibatch: cuda:0 \(c), opencl:0 \(o)")
    }

    @Test(arguments: ["lstm", "transformer"])
    func graphsReplayExactlyWhatLaunchesRun(recipe: String) throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let on = try train(recipe, on: "cuda:0", epochs: 3, graphs: true, in: dir),
            off = try train(recipe, on: "cuda:0", epochs: 3, graphs: false, in: dir)
        #expect(on.losses.count == 3 && on.losses == off.losses, "\(recipe): graphs on \(on.losses), off \(off.losses)")
        #expect(on.trace.contains { $0.hasPrefix("graphs per minibatch: 1 ") }, "\(on.trace)")
        // The last epoch's steps reuse their graphs: none built, none with a node updated (the
        // Transformer's dropout offsets and Adam's step come from the step table).
        let graphs = try #require(on.trace.first { $0.hasPrefix("graphs per") })
        let updated = try #require(graphs.components(separatedBy: " built, ").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(graphs.contains("; 0 built,") && updated == 0, "\(graphs)")
        #expect(!off.trace.contains { $0.hasPrefix("graphs per") } && on.trace[0] == off.trace[0], "on \(on.trace)\noff \(off.trace)")
    }

    /// The GPU-shaped candidates spread over an H100-sized device (132 SMs): the LSTM's split
    /// recurrence and the Transformer's layernorm (one work-group per row) and softmax each run at
    /// least one work-group per SM in every launch, as `--trace` counts them. The Transformer's
    /// softmax rows are short (10 keys), so they run inside the fused attention kernel (a softmax
    /// launch of its own only from Tk·D ≥ 2048); any softmax launch must spread as widely.
    @Test func gpuShapedLaunchesCoverTheDevice() throws {
        func groups(_ recipe: String, _ variants: String) throws -> [String: Double] {
            let r = try StandInCUDA.run(
                ["train", recipe, "--device", "cuda:0", "--epochs", "1", "--trace"],
                environment: ["STAND_IN_CUDA_SMS": "132", "DIVE_VARIANTS": variants])
            try #require(r.exitedNormally && r.status == 0, "\(recipe):\n\(r.output)")
            let line = try #require(
                r.output.split(separator: "\n").first { $0.contains("work-groups per launch (the device has 132 compute units)") },
                "\(r.output)")
            return Dictionary(
                uniqueKeysWithValues: line.components(separatedBy: "units): ").last!.components(separatedBy: ", ").compactMap {
                    let p = $0.split(separator: " ")
                    return p.count == 2 ? Double(p[1]).map { (String(p[0]), $0) } : nil
                })
        }
        let lstm = try groups("lstm", "recurrent=split")
        #expect((lstm["recurrent"] ?? 0) >= 132, "lstm: \(lstm)")
        let transformer = try groups("transformer", "rows=perGroup")
        #expect(
            (transformer["layernorm"] ?? 0) >= 132 && (transformer["attention"] ?? 0) >= 132
                && (transformer["softmax"] ?? 132) >= 132, "transformer: \(transformer)")
    }

    /// `mpirun -np 2 … --distributed --device cuda` on a node with two GPUs (a two-device stand-in):
    /// rank r takes cuda:r and says so, and the two ranks end where one process ends.
    @Test(.enabled(if: Distributed.isAvailable, "built without the MPI trait"))
    func eachRankTakesItsOwnGPU() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let two = dir.appendingPathComponent("two.safetensors"), one = dir.appendingPathComponent("one.safetensors")
        let common = ["train", "lstm", "--device", "cuda", "--epochs", "2", "--seed", "0"], devices = ["STAND_IN_CUDA_DEVICES": "2"]
        let ranks = try StandInCUDA.run(ranks: 2, common + ["--distributed", "--checkpoint", two.path], environment: devices)
        try #require(ranks.exitedNormally && ranks.status == 0, "\(ranks.output)")
        #expect(
            ranks.output.contains("rank 0: using cuda:0 (Stand-in CUDA device on OpenCL)")
                && ranks.output.contains("rank 1: using cuda:1 (Stand-in CUDA device 1 on OpenCL)"), "\(ranks.output)")
        let plain = try StandInCUDA.run(common + ["--checkpoint", one.path], environment: devices)
        try #require(plain.exitedNormally && plain.status == 0, "\(plain.output)")
        for (name, d) in try DataParallelTests.relativeDistances(two, one) {
            #expect(d <= 1e-3, "lstm \(name): relative L2 \(d) between 2 ranks on cuda:0, cuda:1 and one process")
        }
    }

    /// Every book recipe that trains replays its steps' graphs in the last epoch with no node
    /// updated: per-step values (dropout offsets, Adam's step size, a scheduled learning rate) come
    /// from the step table, addresses repeat.
    @Test func everyRecipeReplaysWithNoNodeUpdated() throws {
        let recipes = [
            "rnn-scratch", "rnn", "gru-scratch", "gru", "lstm-scratch", "lstm", "deep-lstm", "bi-lstm", "seq2seq", "bahdanau", "transformer"
        ]
        let r = try StandInCUDA.run([
            "bench", "models", "--device", "cuda:0", "--recipes", recipes.joined(separator: ","),
            "--warmup", "1", "--epochs", "1", "--trace", "--json"
        ])
        try #require(r.exitedNormally && r.status == 0, "\(r.output)")
        let rows = r.output.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.count == recipes.count, "\(r.output)")
        for row in rows {
            let name = row["recipe"] as? String ?? "?"
            #expect((row["graphs_per_minibatch"] as? Double ?? 0) >= 1, "\(name): \(row)")
            #expect(
                row["graph_nodes_updated_per_minibatch"] as? Double == 0,
                "\(name): \(row["graph_nodes_updated_per_minibatch"] ?? "none") nodes updated")
        }
    }

    /// `dive tune --json` (the bundle's tune.json) times every candidate of every tuned family on a
    /// GPU and prints each choice with every candidate's time: GEMM tiles, recurrences, row ops.
    @Test func tuneListsEveryCandidatesTime() throws {
        let r = try StandInCUDA.run(["tune", "--device", "cuda:0", "--json"])
        try #require(r.exitedNormally && r.status == 0, "\(r.output)")
        let rows = r.output.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(
            Set(rows.compactMap { $0["family"] as? String }) == ["gemm", "recurrent", "layernorm", "softmax", "crossEntropy"], "\(r.output)"
        )
        for row in rows {
            let seconds = row["seconds"] as? [String: Double] ?? [:], chosen = row["chosen"] as? String ?? ""
            #expect(seconds.count >= 2 && seconds.values.allSatisfy { $0 > 0 } && seconds[chosen] == seconds.values.min(), "\(row)")
        }
    }

    /// The persistent recurrence (seq2seq's GRUs fit on the stand-in) trains to the same losses with
    /// its cooperative launches as nodes of the step graphs, launched outside them where the
    /// driver refuses cooperative nodes, and with graphs off.
    @Test func persistentRecurrencesTrainInAndOutOfGraphs() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        func losses(_ name: String, graphs: Bool, refuse: Bool) throws -> [Double] {
            let log = dir.appendingPathComponent("\(name).jsonl")
            let r = try StandInCUDA.run(
                [
                    "train", "seq2seq", "--device", "cuda:0", "--epochs", "2", "--log", log.path, "--trace",
                    "--graphs", graphs ? "on" : "off"
                ],
                environment: ["DIVE_VARIANTS": "recurrent=persistent", "STAND_IN_CUDA_NO_COOPERATIVE_NODES": refuse ? "1" : "0"])
            try #require(r.exitedNormally && r.status == 0, "\(name):\n\(r.output)")
            #expect(!graphs || r.output.contains("graphs per minibatch: 1 "), "\(name): \(r.output)")
            return try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
                try #require((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["loss"] as? Double)
            }
        }
        let nodes = try losses("nodes", graphs: true, refuse: false), outside = try losses("outside", graphs: true, refuse: true)
        let off = try losses("off", graphs: false, refuse: false)
        #expect(nodes.count == 2 && nodes == off && outside == off, "cooperative nodes \(nodes), outside \(outside), graphs off \(off)")
    }
}
