// The gpt recipe's model against a float64 reference written out here (embeddings, pre-LN
// blocks of causal multi-head attention and the ReLU FFN, the tied output layer) on every device;
// causality; sampling (temperature 0 and top-k 1 take the likeliest token, and draws follow the
// softmax); and a short training run whose loss falls and whose checkpoint samples the same text.
import Dive
import DiveData
import DiveNN
import Foundation
import Testing

@testable import DiveZoo

@Suite("GPT") struct GPTTests {
    /// The forward pass in float64 from the model's parameters, one window at a time.
    static func reference(_ model: GPT, tokens: [Int]) throws -> [[Double]] {
        let c = model.config, C = c.width, T = tokens.count, d = C / c.heads
        var p: [String: [Double]] = [:]
        for (name, t) in model.namedParameters() { p[name] = try t.toDoubleArray() }
        func layerNorm(_ x: [[Double]], _ name: String) -> [[Double]] {
            x.map { row in
                let mean = row.reduce(0, +) / Double(C)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
                return (0..<C).map { (row[$0] - mean) / (variance + 1e-5).squareRoot() * p[name + ".weight"]![$0] + p[name + ".bias"]![$0] }
            }
        }
        // y = x Wᵀ (+ b), W (out, in).
        func linear(_ x: [[Double]], _ name: String, out: Int, bias: Bool) -> [[Double]] {
            let w: [Double] = p[name + ".weight"]!, b: [Double] = bias ? p[name + ".bias"]! : [Double](repeating: 0, count: out)
            let inputs = w.count / out
            return x.map { (row: [Double]) -> [Double] in
                (0..<out).map { (o: Int) -> Double in
                    var sum = b[o]
                    for i in 0..<inputs { sum += row[i] * w[o * inputs + i] }
                    return sum
                }
            }
        }
        var x = (0..<T).map { t in (0..<C).map { p["wte"]![tokens[t] * C + $0] + p["wpe"]![t * C + $0] } }
        for i in 0..<c.layers {
            let b = "blocks.\(i)."
            let h = layerNorm(x, b + "ln1")
            let q = linear(h, b + "attention.W_q", out: C, bias: false), k = linear(h, b + "attention.W_k", out: C, bias: false)
            let v = linear(h, b + "attention.W_v", out: C, bias: false)
            var heads = [[Double]](repeating: [Double](repeating: 0, count: C), count: T)
            for head in 0..<c.heads {
                let cols = (head * d)..<(head * d + d)
                for t in 0..<T {
                    let scores = (0...t).map { s in cols.reduce(0) { $0 + q[t][$1] * k[s][$1] } / Double(d).squareRoot() }
                    let top = scores.max()!, e = scores.map { Foundation.exp($0 - top) }, sum = e.reduce(0, +)
                    for col in cols { heads[t][col] = (0...t).reduce(0) { $0 + e[$1] / sum * v[$1][col] } }
                }
            }
            let attended = linear(heads, b + "attention.W_o", out: C, bias: false)
            x = (0..<T).map { t in (0..<C).map { x[t][$0] + attended[t][$0] } }
            let hidden = linear(layerNorm(x, b + "ln2"), b + "ffn.dense1", out: 4 * C, bias: true).map { $0.map { Swift.max(0, $0) } }
            let ffn = linear(hidden, b + "ffn.dense2", out: C, bias: true)
            x = (0..<T).map { t in (0..<C).map { x[t][$0] + ffn[t][$0] } }
        }
        let final = layerNorm(x, "ln_f")
        return final.map { row in (0..<c.vocabSize).map { v in (0..<C).reduce(0) { $0 + row[$1] * p["wte"]![v * C + $1] } } }
    }

    static let config = GPTConfig(vocabSize: 11, blockSize: 9, layers: 2, heads: 2, width: 8, dropout: 0)

    @Test(arguments: DeviceRegistry.allDevices())
    func forwardMatchesTheReference(device: Device) throws {
        let backend = try Backends.backend(for: device)
        let model = try GPT(Self.config, on: backend, rng: HostRNG(seed: 3))
        let windows = [[1, 4, 0, 10, 7, 7, 2], [3, 3, 9, 1, 0, 5, 6]]
        let logits = try model(Tensor(windows.flatMap { $0.map(Int32.init) }, shape: [2, 7], on: backend)).toDoubleArray()
        let expected = try windows.flatMap { try Self.reference(model, tokens: $0) }.flatMap { $0 }
        #expect(logits.count == expected.count)
        let worst = zip(logits, expected).map { abs($0 - $1) / (1e-4 + 1e-3 * abs($1)) }.max() ?? .infinity
        #expect(worst <= 1, "logits off by \(worst)× the tolerance on \(device)")
    }

    /// Position t's logits do not depend on later tokens; the output layer is the token embedding.
    @Test func attentionIsCausalAndTheEmbeddingIsTied() throws {
        let backend = CPUBackend.shared
        let model = try GPT(Self.config, on: backend, rng: HostRNG(seed: 5))
        let a = try model(Tensor([Int32(1), 2, 3, 4, 5], shape: [1, 5], on: backend)).toDoubleArray()
        let b = try model(Tensor([Int32(1), 2, 3, 9, 0], shape: [1, 5], on: backend)).toDoubleArray()
        let V = Self.config.vocabSize
        #expect(a[0..<(3 * V)] == b[0..<(3 * V)])
        #expect(a[(3 * V)...] != b[(3 * V)...])
        #expect(model.parameters.filter { $0 === model.tokenEmbedding }.count == 1)
        #expect(model.namedParameters().map(\.name).filter { $0.contains("wte") || $0.contains("lm_head") } == ["wte"])
    }

    @Test func samplingFollowsTheSoftmax() {
        let logits: [Double] = [0.5, 2, -1, 2, 1]
        let rng = HostRNG(seed: 7)
        #expect(GPTGeneration.sample(logits, temperature: 0, topK: nil, rng: rng) == 1)
        #expect(GPTGeneration.sample(logits, temperature: 1, topK: 1, rng: rng) == 1)
        var counts = [Int](repeating: 0, count: 5)
        let draws = 20000
        for _ in 0..<draws { counts[GPTGeneration.sample(logits, temperature: 2, topK: 3, rng: rng)] += 1 }
        // Top 3: indices 1, 3 (2.0) and 4 (1.0), weights e^(x/2).
        let w = [1, 3, 4].map { Foundation.exp(logits[$0] / 2) }, total = w.reduce(0, +)
        #expect(counts[0] == 0 && counts[2] == 0)
        for (i, index) in [1, 3, 4].enumerated() {
            #expect(abs(Double(counts[index]) / Double(draws) - w[i] / total) < 0.015, "\(counts)")
        }
    }

    /// 300 iterations on a short repetitive text: the loss falls well below log V, the held-out
    /// loss is reported every epoch and agrees with `Evaluation.meanLoss`, and a saved and reloaded
    /// model samples the same text.
    @Test func trainsSavesAndSamples() throws {
        let text = String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 60)
        let vocab = Vocab(tokenize([text], as: .char))
        let all = vocab.indices(tokenize([text], as: .char)[0]).map(Int32.init)
        let held = all.count / 10
        let config = GPTConfig(vocabSize: vocab.count, blockSize: 16, layers: 1, heads: 2, width: 16, dropout: 0)
        let task = try GPTTask(
            config: config, corpus: TokenStream(all[..<(all.count - held)]), heldOut: TokenStream(all[(all.count - held)...]), vocab: vocab,
            tokens: .char, batchSize: 8, batchesPerEpoch: 100, on: CPUBackend.shared, seed: 1)
        let hyper = Hyperparameters(
            epochs: 3, lr: 3e-3, batchSize: 8, optimizer: .adamw, clip: 1, schedule: .cosine, warmupSteps: 10, adamBeta2: 0.99,
            weightDecay: 0.1, finalLR: 3e-4)
        let history = try Trainer(task, hyper: hyper, options: RunOptions()).run()
        #expect(history.count == 3 && history.last!.loss < 0.5 * Foundation.log(Double(vocab.count)))
        let heldOut = Foundation.log(try #require(history.last?.validation))
        #expect(abs(heldOut - (try Evaluation.meanLoss(task.gpt, tokens: task.heldOut))) < 1e-6)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try ZooModel.gpt(task.gpt, vocab: vocab, tokens: .char).save(to: url)
        guard case let .gpt(loaded, loadedVocab, tokens) = try ZooModel.load(from: url, on: CPUBackend.shared) else {
            Issue.record("not loaded as a gpt")
            return
        }
        let before = try GPTGeneration.generate(
            "the qu", count: 30, model: task.gpt, vocab: vocab, tokens: .char, temperature: 0.5, seed: 4)
        let after = try GPTGeneration.generate(
            "the qu", count: 30, model: loaded, vocab: loadedVocab, tokens: tokens, temperature: 0.5, seed: 4)
        #expect(before == after && before.hasPrefix("the quick"), "\(before)")
    }
}
