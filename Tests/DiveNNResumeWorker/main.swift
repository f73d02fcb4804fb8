// Test-only worker for DiveNNTests' resume test: trains a small GRU language model on the CPU
// for `steps` steps, checkpointing after every step; resumes from the checkpoint if present.
// Usage: DiveNNResumeWorker <folder> <steps>. Prints "step N" after each checkpoint.
import Dive
import DiveNN
import Foundation

final class TinyLM: Module {
    let embedding: Embedding, rnn: GRU, dense: Linear
    init(rng: HostRNG) throws {
        embedding = try Embedding(28, 8, on: CPUBackend.shared, rng: rng)
        rnn = try GRU(inputSize: 8, hiddenSize: 16, numLayers: 2, dropout: 0.2, on: CPUBackend.shared, rng: rng)
        dense = try Linear(16, 28, on: CPUBackend.shared, rng: rng)
        super.init()
        register("embedding", embedding); register("rnn", rnn); register("dense", dense)
    }
}

let args = CommandLine.arguments
guard args.count == 3, let total = Int(args[2]) else {
    FileHandle.standardError.write("usage: DiveNNResumeWorker <folder> <steps>\n".data(using: .utf8)!)
    exit(2)
}
let dir = URL(fileURLWithPath: args[1])
let checkpoint = dir.appendingPathComponent("checkpoint.safetensors")
do {
    let b = CPUBackend.shared
    let model = try TinyLM(rng: HostRNG(seed: 1))
    model.useRandomStream(RandomStream(seed: 7))
    let optimizer = try Adam(model.parameters, lr: 0.01)
    var start = 0
    if FileManager.default.fileExists(atPath: checkpoint.path) {
        start = try Checkpoint.load(from: checkpoint, into: model, optimizer: optimizer).step
    }
    // A fixed corpus; each epoch visits its windows in a seeded order, so the data position is the step.
    let corpusRNG = HostRNG(seed: 42)
    let corpus = (0..<400).map { _ in Int32(corpusRNG.next() % 28) }
    let (B, T) = (4, 6), windows = (corpus.count - 1) / T, perEpoch = windows / B
    for step in start..<total {
        let order = HostRNG(seed: 1000 + UInt64(step / perEpoch)).permutation(windows)
        let picks = (0..<B).map { order[(step % perEpoch) * B + $0] * T }
        let x = picks.flatMap { corpus[$0..<($0 + T)] }, y = picks.flatMap { corpus[($0 + 1)..<($0 + T + 1)] }
        let xs = try Tensor(x, shape: [B, T], on: b).permuted([1, 0])  // (T, B)
        let ys = try Tensor(y, shape: [B, T], on: b).permuted([1, 0]).reshaped([T * B])
        optimizer.zeroGrad()
        let (out, _) = try model.rnn(model.embedding(xs))
        let loss = try Loss.crossEntropy(model.dense(out).reshaped([T * B, 28]), targets: ys)
        try loss.backward()
        try optimizer.step(gradScale: GradientClipping.scale(model.parameters, maxNorm: 1))
        try Checkpoint.save(
            to: checkpoint, model: model, optimizer: optimizer,
            info: CheckpointInfo(step: step + 1, extra: ["data.position": String(step + 1)]))
        print("step \(step + 1)")
        fflush(nil)
    }
    try Checkpoint.save(to: dir.appendingPathComponent("final.safetensors"), model: model, info: CheckpointInfo(step: total))
} catch {
    FileHandle.standardError.write("DiveNNResumeWorker: \(error)\n".data(using: .utf8)!)
    exit(1)
}
