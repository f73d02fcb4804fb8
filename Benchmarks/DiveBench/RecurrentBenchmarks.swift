// Training-step benchmarks of the book's concise GRU and LSTM language models (9.1, 9.2): batch
// 32, 35 steps, hidden 256, vocabulary 28, one-hot input (as the recipes feed it: a row gather of
// W_ihᵀ); forward, loss, backward, clipping, SGD.
import Dive
import DiveNN
import Foundation

public enum RecurrentBenchmarks {
    /// One GRU and one LSTM forward and training step per device, reported as tokens per second (`extra`).
    public static func run(devices: [Device], batch: Int = 32, steps: Int = 35, hidden: Int = 256,
                           vocab: Int = 28, minSeconds: Double = 1) throws -> [BenchResult] {
        var results: [BenchResult] = []
        for device in devices {
            let b = try Backends.backend(for: device)
            for cell in [CellKind.gru, .lstm] {
                let rng = HostRNG(seed: 1)
                let rnn = try RecurrentLayer(cell, inputSize: vocab, hiddenSize: hidden, on: b, rng: rng)
                let dense = try Linear(hidden, vocab, on: b, rng: rng)
                let params = rnn.parameters + dense.parameters
                let sgd = SGD(params, lr: 1)
                let data = HostRNG(seed: 2)
                let x = try Tensor((0..<(steps * batch)).map { _ in Int32(data.next() % UInt64(vocab)) }, shape: [steps, batch], on: b)
                let y = try Tensor((0..<(steps * batch)).map { _ in Int32(data.next() % UInt64(vocab)) }, shape: [steps * batch], on: b)
                func step() throws {
                    sgd.zeroGrad()
                    let (out, _) = try rnn(oneHot: x)
                    let loss = try Loss.crossEntropy(dense(out.reshaped([steps * batch, hidden])), targets: y)
                    try loss.backward()
                    try sgd.step(gradScale: GradientClipping.scale(params, maxNorm: 1))
                }
                // The forward alone (gather and recurrence), to tell its share of the step.
                func forward() throws { _ = try rnn(oneHot: x) }
                for (phase, body) in [("forward", forward), ("train_step", step)] {
                    let samples = try Timing.measure(warmup: 2, minRuns: 5, maxRuns: 30, minSeconds: minSeconds,
                                                     sync: { try b.synchronize() }, body)
                    var r = BenchResult(op: "\(phase)_\(cell == .gru ? "gru" : "lstm")", device: device.description,
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
