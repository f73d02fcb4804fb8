// Training-step benchmarks of the book's concise GRU and LSTM language models (9.1, 9.2): batch
// 32, 35 steps, hidden 256, vocabulary 28, one-hot input (as the recipes feed it: a row gather of
// W_ihᵀ); forward, loss, backward, clipping, SGD.
import Dive
import DiveNN
import Foundation

public enum RecurrentBenchmarks {
    /// One GRU and one LSTM forward and training step per device, reported as tokens per second (`extra`).
    public static func run(
        devices: [Device], batch: Int = 32, steps: Int = 35, hidden: Int = 256,
        vocab: Int = 28, minSeconds: Double = 1
    ) throws -> [BenchResult] {
        var results: [BenchResult] = []
        for device in devices {
            let b = try Backends.backend(for: device)
            for cell in [CellKind.gru, .lstm] {
                // The forward alone (gather and recurrence) tells its share of the step.
                for (phase, forwardOnly) in [("forward", true), ("train_step", false)] {
                    let w = try Workloads.languageModelStep(
                        cell, b, batch: batch, steps: steps, hidden: hidden, vocab: vocab,
                        forwardOnly: forwardOnly)
                    let samples = try Timing.measure(
                        warmup: 2, minRuns: 5, maxRuns: 30, minSeconds: minSeconds,
                        sync: w.sync, w.body)
                    var r = BenchResult(
                        op: "\(phase)_\(cell == .gru ? "gru" : "lstm")", device: device.description,
                        shape: "b\(batch) t\(steps) h\(hidden) v\(vocab)", samplesMs: samples, flops: nil, bytes: nil)
                    let tokens = Double(batch * steps) / (r.medianMs / 1000)
                    r.extra["tokens_per_s"] = String(format: "%.1f", tokens)
                    results.append(r)
                }
            }
        }
        return results
    }
}
