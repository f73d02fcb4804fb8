// `dive bench kernels` and `dive bench recurrent`: kernels against the OpenBLAS and memory-copy rooflines
// measured in the same run, and recurrent training steps in tokens per second.
import ArgumentParser
import Dive
import DiveBench
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark kernels on devices.",
        subcommands: [KernelsBench.self, RecurrentBench.self, ModelsBench.self])
}

/// The options every `dive bench` subcommand takes: which devices, and how to print the results.
struct BenchOptions: ParsableArguments {
    @OptionGroup var deviceOption: DeviceOption

    @Flag(help: "Print one JSON object per line.")
    var json = false

    func devices() throws -> [Device] { try deviceOption.all() }
    func line(_ result: BenchResult) -> String { json ? result.jsonLine : result.textLine }
}

struct KernelsBench: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time GEMM, softmax, layernorm and attention on each device (median and spread of repeated runs).")

    @OptionGroup var output: BenchOptions

    @Flag(help: "Only the smallest shapes (a quick check).")
    var quick = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingErrors {
            var results: [BenchResult] = []
            try KernelBenchmarks.run(devices: try output.devices(), quick: quick) { result in
                results.append(result)
                print(output.line(result))
                fflush(nil)
            }
            if !output.json { print(KernelBenchmarks.summary(results)) }
        }
    }
}

struct RecurrentBench: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "recurrent",
        abstract: "Time one GRU and one LSTM language-model training step (batch 32, 35 steps, hidden 256, vocabulary 28) per device.")

    @OptionGroup var output: BenchOptions

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingErrors {
            for result in try RecurrentBenchmarks.run(devices: try output.devices()) {
                print(output.line(result))
            }
        }
    }
}
