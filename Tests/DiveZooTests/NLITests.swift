// The nli recipe (15.5): the model's forward against a float64 host reference, the book's
// parameter names, training on a generated rule-based task to ≥ 90% test accuracy with
// prediction from the written checkpoint (the `dive predict-nli` path), cpu and opencl losses
// within 1e-3 (a small model over two epochs; the book-sized one over three steps, with its
// gradients), resume, the official sample files, GloVe rows, and the errors for missing data and
// bad checkpoints.
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation
import Testing

@Suite(.serialized) struct NLITests {
    /// A small model for the generated task; the book's sizes are the recipe's defaults. It sits on
    /// a plateau at 2/3 accuracy for some epochs and leaves it at an epoch that float rounding moves
    /// (epoch 9 with this machine's OpenBLAS, 12 with another GEMM's summation order), so the
    /// learning test gives it 20.
    let small = NLIRecipe(embedSize: 32, hidden: 64, numSteps: 6)

    func options(_ data: URL, device: Device = .cpu, epochs: Int, lr: Float? = 0.003, batch: Int = 32) -> RunOptions {
        var o = shortRun(device, epochs: epochs)
        o.dataDirectory = DataDirectory(url: data, allowsDownload: false)
        if let lr { o.override(\.lr, lr) }
        o.override(\.batchSize, batch)
        return o
    }

    @Test func forwardMatchesAFloat64Reference() throws {
        let config = NLIConfig(vocabSize: 9, embedSize: 3, hidden: 4, numSteps: 4)
        let premises: [[Int32]] = [[2, 5, 1, 1], [7, 3, 8, 0]], hypotheses: [[Int32]] = [[4, 6, 1], [2, 2, 5]]
        for device in [Device.cpu] + openCLDevices {
            let backend = try Backends.backend(for: device)
            let model = try DecomposableAttention(config, on: backend, rng: HostRNG(seed: 5))
            model.eval()
            let logits = try model(
                premises: Tensor(premises.flatMap { $0 }, shape: [2, 4], on: backend),
                hypotheses: Tensor(hypotheses.flatMap { $0 }, shape: [2, 3], on: backend)
            ).toArray()
            var params: [String: [Double]] = [:]
            for (name, p) in model.namedParameters() { params[name] = try p.toArray().map(Double.init) }
            for b in 0..<2 {
                let expected = NLIReference.logits(
                    params, config: config, premise: premises[b].map(Int.init),
                    hypothesis: hypotheses[b].map(Int.init))
                for k in 0..<3 {
                    let got = Double(logits[b * 3 + k])
                    #expect(
                        abs(got - expected[k]) <= 1e-4 * max(1, abs(expected[k])), "\(device) row \(b) class \(k): \(got) vs \(expected[k])"
                    )
                }
            }
        }
    }

    @Test func parameterNamesFollowTheBook() throws {
        let model = try DecomposableAttention(
            NLIConfig(vocabSize: 11, embedSize: 5, hidden: 7, numSteps: 3),
            on: CPUBackend.shared, rng: HostRNG(seed: 0))
        let names = model.namedParameters().map { "\($0.name) \($0.tensor.shape)" }
        #expect(
            names == [
                "embedding.weight [11, 5]",
                "attend.f.1.weight [7, 5]", "attend.f.1.bias [7]", "attend.f.4.weight [7, 7]", "attend.f.4.bias [7]",
                "compare.g.1.weight [7, 10]", "compare.g.1.bias [7]", "compare.g.4.weight [7, 7]", "compare.g.4.bias [7]",
                "aggregate.h.1.weight [7, 14]", "aggregate.h.1.bias [7]", "aggregate.h.5.weight [7, 7]", "aggregate.h.5.bias [7]",
                "aggregate.linear.weight [3, 7]", "aggregate.linear.bias [3]"
            ])
        #expect(NLIRecipe().defaults(.zh) == Hyperparameters(epochs: 4, lr: 0.001, batchSize: 256, optimizer: .adam, clip: nil))
        #expect(NLIRecipe().embedSize == 100 && NLIRecipe().hidden == 200 && NLIRecipe().numSteps == 50)
    }

    @Test func learnsTheGeneratedTaskAndPredictsFromItsCheckpoint() throws {
        let data = try NLITestData.makeDataDirectory(train: 900, test: 300, unlabelled: 25)
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = temporaryFile("nli.safetensors")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        var o = options(data, epochs: 20)
        o.checkpoint = checkpoint
        let report = try small.run(o)
        print(report.lines.joined(separator: "\n"))
        #expect(report.metrics["train_examples"] == 900 && report.metrics["test_examples"] == 300)  // the `-` rows are dropped
        let testAccuracy = try #require(report.metrics["test_acc"])
        #expect(testAccuracy >= 0.9, "test accuracy \(testAccuracy)")
        #expect(report.lines.contains { $0.hasPrefix("loss ") && $0.contains("train acc") && $0.contains("test acc") })
        #expect(report.lines.contains { $0.hasPrefix("predict_snli(['he', 'is', 'good', '.'], ['he', 'is', 'bad', '.']) = ") })

        // The path `dive predict-nli` takes: the checkpoint alone gives the same test accuracy...
        let predictor = try NLIPredictor(checkpoint: checkpoint, on: CPUBackend.shared)
        let folder = data.appendingPathComponent("snli_1.0")
        let test = SNLIDataset(try SNLI.read(directory: folder, split: .test), numSteps: 6, vocab: predictor.vocab)
        #expect(try Evaluation.accuracy(predictor.model, test, batchSize: 32) == testAccuracy)
        // ...and answers fresh pairs, unpadded, by the rule.
        let fresh = NLITestData.pairs(60, seed: 777)
        let correct = try fresh.filter { label, p, h in try predictor.predict(premise: p.text, hypothesis: h.text) == label }.count
        #expect(correct >= 54, "\(correct) of 60 fresh pairs")
        #expect(try predictor.predict(premise: "the dog is happy .", hypothesis: "a dog is happy .") == .entailment)
    }

    @Test func cpuAndOpenCLLossesAgree() throws {
        guard let device = openCLDevices.first else { return }
        let data = try NLITestData.makeDataDirectory(train: 256, test: 64)
        defer { try? FileManager.default.removeItem(at: data) }
        let cpu = try small.train(options(data, epochs: 2, batch: 64)).run
        let cl = try small.train(options(data, device: device, epochs: 2, batch: 64)).run
        expectSameLosses(cpu.history, cl.history, on: device)
        for (a, b) in zip(cpu.history, cl.history) {
            #expect(a.trainAccuracy == b.trainAccuracy && a.testAccuracy == b.testAccuracy)
        }
        #expect(cpu.history.count == 2 && cl.history.count == 2)
    }

    /// At the book's sizes (embed 100, hidden 200, 50 steps, dropout on): the first three Adam
    /// steps' losses and the first step's gradients agree across devices. (Over tens of steps near a
    /// plateau the runs can still drift apart, as float32 runs on two devices do.)
    @Test func bookSizedStepsAgreeAcrossDevices() throws {
        guard let device = openCLDevices.first else { return }
        let data = try NLITestData.makeDataDirectory(train: 96, test: 32)
        defer { try? FileManager.default.removeItem(at: data) }
        let (train, _) = try NLIRecipe().datasets(folder: data.appendingPathComponent("snli_1.0"))
        var losses: [[Double]] = [], grads: [[String: [Float]]] = []
        for d in [Device.cpu, device] {
            let model = try DecomposableAttention(
                NLIConfig(vocabSize: train.vocab.count), on: Backends.backend(for: d), rng: HostRNG(seed: 0))
            model.useRandomStream(RandomStream(seed: 0))
            let optimizer = try Adam(model.parameters, lr: 0.003)
            var stepLosses: [Double] = [], first: [String: [Float]] = [:]
            for step in 0..<3 {
                optimizer.zeroGrad()
                let (logits, labels) = try NLITask.forward(model, train.batch(Array((step * 32)..<((step + 1) * 32))))
                let total = try logits.crossEntropy(targets: labels).sum()  // (1)
                try total.backward()
                stepLosses.append(try total.item())
                if step == 0 { for (name, p) in model.namedParameters() { first[name] = try p.grad!.toArray() } }
                try optimizer.step()
            }
            losses.append(stepLosses)
            grads.append(first)
        }
        for (a, b) in zip(losses[0], losses[1]) { #expect(abs(a - b) < 1e-3 * max(1, abs(a)), "cpu \(a), \(device) \(b)") }
        for (name, g) in grads[0] {
            let scale = Double(g.map { abs($0) }.max() ?? 0), diff = Double(zip(g, grads[1][name]!).map { abs($0 - $1) }.max() ?? 0)
            #expect(diff <= 1e-4 * max(scale, 1e-3), "\(name): max |g| \(scale), cpu vs \(device) differ by \(diff)")
        }
    }

    @Test func resumeContinuesToTheSameNumbers() throws {
        let data = try NLITestData.makeDataDirectory(train: 192, test: 48)
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = temporaryFile("nli-resume.safetensors")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let straight = try small.train(options(data, epochs: 3)).run
        var first = options(data, epochs: 1)
        first.checkpoint = checkpoint
        _ = try small.train(first)
        var second = options(data, epochs: 3)
        second.checkpoint = checkpoint
        second.resume = true
        let resumed = try small.train(second).run
        #expect(resumed.history.map(\.epoch) == [1, 2])
        #expect(resumed.history.map(\.loss) == Array(straight.history.dropFirst().map(\.loss)))
        // A checkpoint of other sizes is refused rather than half-loaded.
        let other = NLIRecipe(embedSize: 8, hidden: 32, numSteps: 6)
        #expect(throws: ZooError.self) { try other.train(second) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: testDataDirectory.url.appendingPathComponent("snli_1.0_sample").path)))
    func readsTheOfficialSampleFiles() throws {
        let sample = DataDirectory(url: testDataDirectory.url.appendingPathComponent("snli_1.0_sample"), allowsDownload: false)
        let folder = try NLIRecipe.snliFolder(sample)
        #expect(folder.standardizedFileURL == sample.url.standardizedFileURL)
        let (train, test) = try NLIRecipe().datasets(folder: folder)
        // Train comes from snli_1.0_train.jsonl (the sample has no train .txt), test from the .txt.
        #expect(train.count == 10 && test.count == 10)
        #expect(train.vocab.idxToToken.prefix(2) == ["<unk>", "<pad>"] && test.vocab == train.vocab)
        #expect(train.premises.count == 10 * 50)
        let first = try SNLI.read(directory: folder, split: .train)
        #expect(first.premises[0] == "A person on a horse jumps over a broken down airplane .")
        // The shared data directory itself holds only samples: the recipe says what it looked for.
        let error = try #require(throws: ZooError.self) { try NLIRecipe.snliFolder(testDataDirectory) }
        #expect(error.description.contains(testDataDirectory.url.appendingPathComponent("snli_1.0/snli_1.0_train.txt").path))
        #expect(error.description.contains("snli_1.0_test.txt"))
    }

    @Test func gloveRowsForTheVocabulary() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("dive-nli-glove-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let folder = data.appendingPathComponent("glove.6B.100d")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let vector = { (seed: Int) in (0..<100).map { Double(($0 * 7 + seed * 13) % 23) / 8 - 1.25 } }
        let words = ["he": 1, "is": 2, "good": 3, "bad": 4]
        try words.map { word, seed in ([word] + vector(seed).map { String($0) }).joined(separator: " ") }.joined(separator: "\n")
            .write(to: folder.appendingPathComponent("vec.txt"), atomically: true, encoding: .utf8)
        let vocab = Vocab(["He", "he", "is", "good", ".", "zebra"], reservedTokens: ["<pad>"])
        let (table, note) = try NLIRecipe().initialEmbedding(vocab: vocab, data: DataDirectory(url: data, allowsDownload: false))
        let rows = try #require(table)
        #expect(rows.count == vocab.count * 100)
        #expect(note.contains("3 of \(vocab.count) tokens found"))
        for (i, token) in vocab.idxToToken.enumerated() {
            let row = rows[(i * 100)..<((i + 1) * 100)].map(Double.init)
            let expected = words[token].map(vector) ?? [Double](repeating: 0, count: 100)  // <unk>, <pad>, He, ., zebra: zeros
            #expect(zip(row, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "row of \(token)")
        }
        // Without the file (downloads off) the recipe says it starts from N(0, 1); other widths skip GloVe.
        let empty = DataDirectory(url: folder, allowsDownload: false)
        let missing = try NLIRecipe().initialEmbedding(vocab: vocab, data: empty)
        #expect(missing.table == nil && missing.note.contains("glove.6B.100d/vec.txt"))
        #expect(try small.initialEmbedding(vocab: vocab, data: DataDirectory(url: data, allowsDownload: false)).table == nil)
    }

    @Test func missingDataAndBadCheckpointsAreClearErrors() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("dive-nli-none-\(UUID().uuidString)")
        let error = try #require(throws: ZooError.self) { try small.run(options(data, epochs: 1)) }
        #expect(error.description.contains(data.appendingPathComponent("snli_1.0/snli_1.0_train.txt").path))
        #expect(error.description.contains("snli_1.0_test.txt"))

        let missing = temporaryFile("none.safetensors")
        #expect(
            throws: ZooError.badCheckpoint(
                path: missing.path,
                detail: "no such file; write one with `dive train nli --checkpoint \(missing.path)`")
        ) {
            try NLIPredictor(checkpoint: missing, on: CPUBackend.shared)
        }
        // Another recipe's checkpoint.
        let foreign = temporaryFile("lm.safetensors")
        defer { try? FileManager.default.removeItem(at: foreign) }
        let linear = try Linear(2, 2, on: CPUBackend.shared, rng: HostRNG(seed: 0))
        try Checkpoint.save(to: foreign, model: linear, info: CheckpointInfo(step: 0, extra: ["kind": "lm"]))
        let kindError = try #require(throws: ZooError.self) { try NLIPredictor(checkpoint: foreign, on: CPUBackend.shared) }
        #expect(kindError.description.contains("not an nli checkpoint (kind 'lm')"))
        // An nli checkpoint whose config does not match its tensors: refused with the tensor named.
        let config = NLIConfig(vocabSize: 4, embedSize: 3, hidden: 5, numSteps: 2)
        let model = try DecomposableAttention(config, on: CPUBackend.shared, rng: HostRNG(seed: 0))
        let vocab = Vocab(["a", "b"], reservedTokens: ["<pad>"])
        var wrong = config
        wrong.hidden = 6
        let tampered = temporaryFile("tampered.safetensors")
        defer { try? FileManager.default.removeItem(at: tampered) }
        let configJSON = String(decoding: try JSONEncoder().encode(wrong), as: UTF8.self)
        let vocabJSON = String(decoding: try JSONEncoder().encode(vocab), as: UTF8.self)
        try Checkpoint.save(
            to: tampered, model: model,
            info: CheckpointInfo(
                step: 0,
                extra: [
                    "kind": "nli", "config": configJSON, "vocab": vocabJSON
                ]))
        let shapeError = try #require(throws: CheckpointError.self) { try NLIPredictor(checkpoint: tampered, on: CPUBackend.shared) }
        #expect(shapeError.description.contains("attend.f.1.weight"))
        // A pair without tokens.
        let predictor = try NLIPredictor(model: model, vocab: vocab)
        #expect(throws: ZooError.self) { try predictor.predict(premise: "  ", hypothesis: "a b") }
    }
}

/// The decomposable-attention forward pass in float64 with plain loops (eval mode: no dropout),
/// written from the book's definition, independent of the op layer.
enum NLIReference {
    typealias Vector = [Double]

    static func linear(_ x: Vector, _ p: [String: [Double]], _ name: String) -> Vector {
        let w = p[name + ".weight"]!, b = p[name + ".bias"]!
        var y = b  // (out)
        for o in 0..<b.count {
            for i in 0..<x.count { y[o] += w[o * x.count + i] * x[i] }
        }
        return y
    }

    static func relu(_ x: Vector) -> Vector { x.map { Swift.max($0, 0) } }

    static func mlp(_ x: Vector, _ p: [String: [Double]], _ prefix: String, second: Int) -> Vector {
        relu(linear(relu(linear(x, p, prefix + ".1")), p, prefix + ".\(second)"))
    }

    static func softmax(_ x: Vector) -> Vector {
        let m = x.max()!, e = x.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func weighted(_ weights: Vector, _ rows: [Vector]) -> Vector {
        var out = Vector(repeating: 0, count: rows[0].count)
        for (w, row) in zip(weights, rows) { for d in 0..<row.count { out[d] += w * row[d] } }
        return out
    }

    static func sum(_ rows: [Vector]) -> Vector {
        var out = Vector(repeating: 0, count: rows[0].count)
        for row in rows { for d in 0..<row.count { out[d] += row[d] } }
        return out
    }

    static func logits(_ p: [String: [Double]], config: NLIConfig, premise: [Int], hypothesis: [Int]) -> Vector {
        let E = config.embedSize, table = p["embedding.weight"]!
        let a = premise.map { Array(table[($0 * E)..<(($0 + 1) * E)]) }
        let b = hypothesis.map { Array(table[($0 * E)..<(($0 + 1) * E)]) }
        let fA = a.map { mlp($0, p, "attend.f", second: 4) }, fB = b.map { mlp($0, p, "attend.f", second: 4) }
        let e = fA.map { x in fB.map { y in zip(x, y).reduce(0.0) { $0 + $1.0 * $1.1 } } }  // (m, n)
        let beta = e.map { weighted(softmax($0), b) }  // (m, E)
        let alpha = (0..<b.count).map { j in weighted(softmax(e.map { $0[j] }), a) }  // (n, E)
        let vA: [Vector] = zip(a, beta).map { x, y in mlp(x + y, p, "compare.g", second: 4) }
        let vB: [Vector] = zip(b, alpha).map { x, y in mlp(x + y, p, "compare.g", second: 4) }
        let joined: Vector = sum(vA) + sum(vB)
        return linear(mlp(joined, p, "aggregate.h", second: 5), p, "aggregate.linear")
    }
}
