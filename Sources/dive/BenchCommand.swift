// `dive bench kernels`: times the kernels on each device against OpenBLAS and memory-copy rooflines.
import ArgumentParser
import Dive
import DiveBench
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark kernels on devices.",
                                                    subcommands: [KernelsBench.self, ModelsBench.self])
}

struct KernelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time GEMM, softmax, layernorm and attention on each device (median and spread of repeated runs).")

    @Option(help: "Device to benchmark (cpu, opencl, opencl:N, opencl:P.D, auto); default: every device.")
    var device: String?

    @Flag(help: "Print one JSON object per line.")
    var json = false

    @Flag(help: "Only the smallest shapes (a quick check).")
    var quick = false

    func run() throws {
        try reportingErrors {
            let devices = try resolveDevices(device)
            var results: [BenchResult] = []
            try KernelBenchmarks.run(devices: devices, quick: quick) { result in
                results.append(result)
                print(json ? result.jsonLine : result.textLine)
                fflush(stdout)
            }
            if !json { print(KernelBenchmarks.summary(results)) }
        }
    }
}
