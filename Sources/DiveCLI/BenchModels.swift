// `dive bench models`: training throughput of each recipe on each device, in tokens per second as
// the book counts them (Y tokens for language models, valid target tokens for seq2seq), taken
// from whole epochs of the real trainer after warm-up epochs; median and spread over epochs,
// beside PyTorch 2.13 CPU running the book's code on this machine kind (Benchmarks/Peers).
import ArgumentParser
import Dive
import DiveData
import DiveDistributed
import DiveZoo
import Foundation

struct ModelsBench: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Tokens per second of each recipe's training on each device.")

    /// PyTorch 2.13 CPU, 2 threads, the book's code (Benchmarks/Peers, run side by side).
    static let pytorchCPU: [String: Double] = [
        "rnn": 131_000, "gru": 54_000, "lstm": 70_000, "deep-lstm": 23_500, "seq2seq": 24_200,
        "bahdanau": 13_200, "transformer": 10_600, "transformer-256": 672
    ]
    static let defaultRecipes = [
        "rnn-scratch", "rnn", "gru-scratch", "gru", "lstm-scratch", "lstm", "deep-lstm", "bi-lstm", "seq2seq",
        "bahdanau", "transformer", "transformer-256", "gpt"
    ]

    @OptionGroup var deviceOption: DeviceOption
    @Option(help: "On CUDA devices, queue each training step as one CUDA graph (on) or launch by launch (off).") var graphs = OnOff.on
    @Option(help: "Comma-separated recipes (default: every trainable recipe).") var recipes: String?
    @Option(help: "Warm-up epochs (not timed).") var warmup = 2
    @Option(help: "Timed epochs.") var epochs = 6
    @Option(name: .customLong("data-dir"), help: "Data directory (default: $DIVE_DATA, else ~/.cache/dive).") var dataDir: String?
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(help: "Add what a minibatch of the last epoch cost the device (launches per op family, transfers, waits).") var trace = false
    @Flag(
        help:
            "Under `mpirun -np N`: global tokens/s of data-parallel training, the all-reduce's milliseconds and bytes per step, and the scaling efficiency against one process with N times the threads (timed first, by rank 0, while the other ranks sleep)."
    ) var distributed = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let comm: Communicator = distributed ? try reportingZooErrors { try Distributed.world() } : SingleProcess()
        try reportingZooErrors(across: comm) {
            let devices = comm.size > 1 ? [try deviceOption.one(rankOf: comm, otherwise: "auto")] : try deviceOption.all()
            let names = recipes.map { $0.split(separator: ",").map(String.init) } ?? Self.defaultRecipes
            for name in names {
                let recipe = try RecipeRegistry.recipe(named: name)
                for d in devices {
                    // One process with every rank's threads, timed while the other ranks sleep.
                    var baseline: Double?
                    if distributed {
                        if comm.isRoot { baseline = try oneProcessBaseline(name, device: d, threads: comm.size * CPUBackend.threadCount) }
                        try comm.barrier()
                    }
                    var o = RunOptions()
                    o.communicator = comm
                    o.device = d
                    o.stepGraphs = graphs == .on
                    o.override(\.epochs, warmup + epochs)
                    o.dataDirectory = DataDirectory(explicitPath: dataDir)
                    let history: [EpochRecord]
                    if let lm = recipe as? LanguageModelRecipe {
                        history = try lm.train(o).history
                    } else if let t = recipe as? any TranslationRecipe {
                        history = try t.train(o).history
                    } else if let g = recipe as? GPTRecipe {
                        history = try g.train(o).history
                    } else {
                        throw ZooError.invalidOption("\(name) is not a training recipe")
                    }
                    let timed = history.dropFirst(warmup)
                    let rates = timed.map(\.tokensPerSecond).sorted()
                    let median = rates[rates.count / 2]
                    let spread = (rates[rates.count * 3 / 4] - rates[rates.count / 4]) / 2 / median
                    var fields: [(String, String)] = [
                        ("recipe", "\"\(name)\""), ("device", "\"\(d)\""),
                        ("tokens_per_s", String(format: "%.0f", median)),
                        ("spread", String(format: "%.3f", spread)), ("epochs", "\(rates.count)")
                    ]
                    if let cores = timed.last?.cores { fields.append(("cores", "\"\(cores)\"")) }
                    if distributed {
                        let reduce = timed.compactMap(\.allReduce)
                        let calls = max(reduce.reduce(0) { $0 + $1.calls }, 1)
                        fields += [
                            ("ranks", "\(comm.size)"), ("threads_per_rank", "\(CPUBackend.threadCount)"),
                            ("allreduce_ms_per_step", String(format: "%.3f", reduce.reduce(0) { $0 + $1.seconds } * 1000 / Double(calls))),
                            ("allreduce_bytes_per_step", "\(reduce.reduce(0) { $0 + $1.bytes } / calls)")
                        ]
                        if let baseline {
                            fields += [
                                ("one_process_tokens_per_s", String(format: "%.0f", baseline)),
                                ("scaling_efficiency", String(format: "%.2f", median / baseline))
                            ]
                        }
                    }
                    if !distributed, d == .cpu, let torch = Self.pytorchCPU[name] {
                        fields += [
                            ("pytorch_cpu_tokens_per_s", String(format: "%.0f", torch)),
                            ("vs_pytorch", String(format: "%.2f", median / torch))
                        ]
                    }
                    if trace, let last = timed.last, let t = last.trace, last.minibatches > 0 {
                        let n = Double(last.minibatches)
                        let families = t.launches.keys.sorted().map { "\"\($0)\": " + String(format: "%.1f", Double(t.launches[$0]!) / n) }
                        fields += [
                            ("minibatches_per_epoch", "\(last.minibatches)"),
                            ("launches_per_minibatch", String(format: "%.1f", Double(t.totalLaunches) / n)),
                            ("launches_by_family", "{" + families.joined(separator: ", ") + "}"),
                            (
                                "work_groups_per_launch",
                                "{"
                                    + t.workGroupsPerLaunch.sorted { $0.key < $1.key }
                                    .map { "\"\($0.key)\": " + String(format: "%.1f", $0.value) }.joined(separator: ", ") + "}"
                            ),
                            ("uploads_per_minibatch", String(format: "%.1f", Double(t.uploads.count) / n)),
                            ("blocking_reads_per_epoch", "\(t.downloads.blocking)"),
                            ("waits_per_epoch", "\(t.waits)"), ("graphs_per_minibatch", String(format: "%.1f", Double(t.graphs) / n)),
                            ("graph_nodes_per_minibatch", String(format: "%.1f", Double(t.graphNodes) / n)),
                            ("graph_builds_per_epoch", "\(t.graphBuilds)"),
                            ("graph_nodes_updated_per_minibatch", String(format: "%.1f", Double(t.graphNodeUpdates) / n))
                        ]
                    }
                    let line =
                        json
                        ? "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
                        : String(
                            format: "%-15@ %-10@ %9.0f tokens/s ±%4.1f%%", name as NSString, d.description as NSString, median, spread * 100
                        )
                            + (fields.first { $0.0 == "vs_pytorch" }.map { "   PyTorch CPU \(Int(Self.pytorchCPU[name] ?? 0)), ×\($0.1)" }
                                ?? "")
                            + (fields.first { $0.0 == "launches_per_minibatch" }.map { "   \($0.1) launches/minibatch" } ?? "")
                            + (timed.last?.cores.map { "   \($0)" } ?? "")
                            + (distributed
                                ? "   "
                                    + fields.filter { !["recipe", "device", "tokens_per_s", "spread", "epochs", "cores"].contains($0.0) }
                                    .map { "\($0.0) \($0.1)" }.joined(separator: ", ") : "")
                    guard comm.isRoot else { continue }
                    print(line)
                    fflush(nil)
                }
            }
        }
    }
}

extension ModelsBench {
    /// The median tokens/s of `recipe` in a child `dive bench models` of one process with `threads`
    /// threads and this run's warm-up and timed epochs.
    func oneProcessBaseline(_ recipe: String, device: Device, threads: Int) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var args = [
            "bench", "models", "--recipes", recipe, "--device", device.description, "--warmup", "\(warmup)",
            "--epochs", "\(epochs)", "--json"
        ]
        if let dataDir { args += ["--data-dir", dataDir] }
        p.arguments = args
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        env["DIVE_THREADS"] = "\(threads)"
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0,
            let line = output.split(separator: "\n").first(where: { $0.contains("tokens_per_s") }),
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let rate = object["tokens_per_s"] as? Double
        else {
            throw ZooError.invalidOption("the one-process baseline of \(recipe) failed: \(output)")
        }
        return rate
    }
}
