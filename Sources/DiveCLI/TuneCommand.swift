// `dive tune [--device X] [--json]`: times the tuned families' candidates on each OpenCL or CUDA
// device now, instead of on first use during training, and caches the choices under DIVE_CACHE:
// GEMM tiles per shape class and, on GPUs, the recurrence and row kernels for the book's shapes.
// On the CPU it measures from what work each op family (GEMM, cells, rows, elementwise) splits
// across cores.
// `--json` times every candidate even where a choice is cached and prints one line per choice with
// each candidate's time (the device bundle's tune.json).
import ArgumentParser
import Dive
import Foundation

struct TuneCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract:
            "Tune the GEMM, recurrence and row kernels of OpenCL and CUDA devices, and the CPU's op splits, ahead of time and cache the choices."
    )

    @OptionGroup var deviceOption: DeviceOption
    @Flag(help: "Time every candidate, cached or not, and print each choice with every candidate's time as a JSON line.") var json = false

    @OptionGroup var logging: LoggingOptions

    /// The recurrences of the book's recipes: (cell, steps, batch, hidden) of the language models
    /// (8.6, 9.1–9.4) and the GRU encoder-decoders (9.7, 10.4).
    static let bookRecurrences: [(CellKind, Int, Int, Int)] = [
        (.rnnTanh, 35, 32, 256), (.gru, 35, 32, 256), (.lstm, 35, 32, 256),
        (.gru, 10, 64, 32)
    ]
    /// Row ops: (op, cols, rows) of the Transformer (10.7: width 32, batch 64 × 10 steps) and of
    /// `dive bench kernels`.
    static let rowShapes: [(String, Int, Int)] = [
        ("layernorm", 32, 640), ("layernorm", 256, 4096), ("softmax", 1024, 4096), ("crossEntropy", 28, 1120), ("crossEntropy", 201, 640)
    ]

    func run() throws {
        try reportingErrors {
            let all = try deviceOption.all()
            if all.contains(.cpu) { try tuneCPU() }
            for d in all where d != .cpu {
                guard let backend = try Backends.backend(for: d) as? KernelBackend else { continue }
                FileHandle.standardError.write(Data("tuning \(backend.displayName)...\n".utf8))
                let start = Date(), before = backend.tunedChoices.count
                let chosen = try backend.tuneGemm(retime: json)
                var recurrences: [String] = []
                for (cell, steps, batch, hidden) in Self.bookRecurrences {
                    if let c = try backend.tuneRecurrence(cell, steps: steps, batch: batch, hidden: hidden) {
                        recurrences.append("\(c.shape): \(c.chosen)")
                    }
                }
                for (op, cols, rows) in Self.rowShapes {
                    if let c = try backend.tuneRows(op, cols: cols, rows: rows) { recurrences.append("\(op) \(c.shape): \(c.chosen)") }
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = .sortedKeys
                    for c in backend.tunedChoices.dropFirst(before) {
                        let line = String(decoding: try encoder.encode(c), as: UTF8.self)
                        print("{\"device\": \"\(d)\", " + line.dropFirst())
                    }
                } else {
                    let classes = chosen.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                    print(
                        "\(d)  gemm \(classes)" + (recurrences.isEmpty ? "" : "  " + recurrences.joined(separator: ", "))
                            + "  (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
                }
            }
        }
    }

    /// The CPU's split thresholds: one line, or with `--json` one line per family with every problem's times.
    func tuneCPU() throws {
        let cpu = CPUBackend.shared
        FileHandle.standardError.write(Data("tuning \(cpu.displayName)...\n".utf8))
        let start = Date()
        let tuning = try cpu.tuneSplitThresholds()
        let t = tuning.thresholds
        func text(_ n: Int) -> String { n == .max ? "never" : "from \(n)" }
        guard json else {
            print(
                tuning.threads == 1
                    ? "cpu  one worker thread: no op splits (DIVE_THREADS=1)"
                    : "cpu  split on \(tuning.threads) threads: gemm \(text(t.gemm)) multiply-adds, cells \(text(t.cells)) rows × gate units, rows \(text(t.rows)) flops, elementwise \(text(t.elementwise)) flops"
                        + "  (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
            return
        }
        for (family, threshold) in [("gemm", t.gemm), ("cells", t.cells), ("rows", t.rows), ("elementwise", t.elementwise)] {
            let problems = tuning.timings.filter { $0.family == family }.map {
                "{\"problem\": \"\($0.problem)\", \"work\": \($0.work), \"one_thread_s\": \(String(format: "%.3g", $0.oneThread)), \"split_s\": \(String(format: "%.3g", $0.split))}"
            }
            print(
                "{\"device\": \"cpu\", \"family\": \"\(family)\", \"threads\": \(tuning.threads), \"threshold\": \(threshold == .max ? "null" : "\(threshold)"), \"problems\": [\(problems.joined(separator: ", "))]}"
            )
        }
    }
}
