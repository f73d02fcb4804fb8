// The benchmarked work itself, once: each factory builds its inputs on a backend and returns the
// body to time. `dive bench` times them with its rooflines (KernelBenchmarks, RecurrentBenchmarks);
// `swift package benchmark` times the same bodies with package-benchmark (Benchmarks/DiveBenchmarks).
import Dive
import DiveNN

public struct Workload {
    public let name: String
    /// One run of the work (queued; `sync` waits for it).
    public let body: () throws -> Void
    public let sync: () throws -> Void
}

public enum Workloads {
    /// C (m, n) = A (m, k) · B (k, n).
    public static func gemm(_ b: Backend, m: Int, n: Int, k: Int) throws -> Workload {
        let a = try Tensor(KernelBenchmarks.random(m * k, seed: 1), shape: [m, k], on: b)
        let x = try Tensor(KernelBenchmarks.random(k * n, seed: 2), shape: [k, n], on: b)
        let c = try Tensor.empty([m, n], on: b)
        let shape = GemmShape(m: m, n: n, k: k)
        return Workload(
            name: "gemm \(m)x\(n)x\(k)", body: { try b.gemm(a, x, into: c, shape: shape, alpha: 1, beta: 0) },
            sync: b.synchronize)
    }

    /// Softmax of every row of a (rows, cols) matrix.
    public static func softmax(_ b: Backend, rows: Int, cols: Int) throws -> Workload {
        let x = try Tensor(KernelBenchmarks.random(rows * cols, seed: 3), shape: [rows, cols], on: b)
        let y = try Tensor.empty([rows, cols], on: b)
        return Workload(
            name: "softmax \(rows)x\(cols)", body: { try b.maskedSoftmax(x, validLens: nil, into: y, rows: rows, cols: cols) },
            sync: b.synchronize)
    }

    /// Layer norm of every row of a (rows, cols) matrix.
    public static func layerNorm(_ b: Backend, rows: Int, cols: Int) throws -> Workload {
        let x = try Tensor(KernelBenchmarks.random(rows * cols, seed: 4), shape: [rows, cols], on: b)
        let gamma = try Tensor.ones([cols], on: b), beta = try Tensor.zeros([cols], on: b)
        let y = try Tensor.empty([rows, cols], on: b), mean = try Tensor.empty([rows], on: b), rstd = try Tensor.empty([rows], on: b)
        return Workload(
            name: "layernorm \(rows)x\(cols)",
            body: {
                try b.layerNorm(x, gamma: gamma, beta: beta, eps: 1e-5, into: y, mean: mean, rstd: rstd, rows: rows, cols: cols)
            }, sync: b.synchronize)
    }

    /// The book's concise GRU or LSTM language model (9.1, 9.2): one-hot input (a row gather of
    /// W_ihᵀ), the recurrence, the dense layer, cross-entropy, backward, clipping and SGD; with
    /// `forwardOnly` the gather and the recurrence alone.
    public static func languageModelStep(
        _ cell: CellKind, _ b: Backend, batch: Int = 32, steps: Int = 35, hidden: Int = 256,
        vocab: Int = 28, forwardOnly: Bool = false
    ) throws -> Workload {
        let rng = HostRNG(seed: 1)
        let rnn = try RecurrentLayer(cell, inputSize: vocab, hiddenSize: hidden, on: b, rng: rng)
        let dense = try Linear(hidden, vocab, on: b, rng: rng)
        let params = rnn.parameters + dense.parameters
        let sgd = SGD(params, lr: 1)
        let data = HostRNG(seed: 2)
        let x = try Tensor((0..<(steps * batch)).map { _ in Int32(data.next() % UInt64(vocab)) }, shape: [steps, batch], on: b)
        let y = try Tensor((0..<(steps * batch)).map { _ in Int32(data.next() % UInt64(vocab)) }, shape: [steps * batch], on: b)
        let name = "\(forwardOnly ? "forward" : "train_step") \(cell == .gru ? "gru" : "lstm") b\(batch) t\(steps) h\(hidden)"
        if forwardOnly { return Workload(name: name, body: { _ = try rnn(oneHot: x) }, sync: b.synchronize) }
        return Workload(
            name: name,
            body: {
                sgd.zeroGrad()
                let (out, _) = try rnn(oneHot: x)
                let loss = try Loss.crossEntropy(dense(out.reshaped([steps * batch, hidden])), targets: y)
                try loss.backward()
                try sgd.step(gradScale: GradientClipping.scale(params, maxNorm: 1))
            }, sync: b.synchronize)
    }
}
