// The library as a program's own loop uses it: batches in the models' layout (a wrong layout is an
// error), zoo models that save with their description and load with one call on any device, the
// evaluation helpers against independent figures, the Trainer for a step budget with callbacks on
// a program's own model and data, and one character tokenisation for training and prediction.
import Dive
import DiveData
import DiveNN
import DiveReference
import DiveZoo
import Foundation
import Testing

@Suite(.serialized) struct LibraryLoopTests {
    static let text = String(repeating: "the time machine is a story. ", count: 30)

    static func corpus() -> (tokens: [Int32], vocab: Vocab) {
        let chars = tokenize([text], as: .char)[0]
        let vocab = Vocab(chars)
        return (vocab.indices(chars).map { Int32($0) }, vocab)
    }

    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("dive-library-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
    }

    @Test func batchesArriveTimeMajorAndABatchMajorTensorIsRefused() throws {
        // Rows b = 0, 1, 2 of 4 steps, x[b][t] = 10·b + t.
        let x = (0..<3).flatMap { b in (0..<4).map { Int32(10 * b + $0) } }
        let batch = try LanguageModelBatch(TokenBatch(x: x, y: x.map { $0 + 1 }, batchSize: 3, numSteps: 4), on: CPUBackend.shared)
        #expect(batch.inputs.shape == [4, 3] && batch.targets.shape == [12])
        let inputs = try batch.inputs.toInt32Array(), targets = try batch.targets.toInt32Array()
        for t in 0..<4 {
            for b in 0..<3 {
                #expect(inputs[t * 3 + b] == Int32(10 * b + t))
                #expect(targets[t * 3 + b] == Int32(10 * b + t + 1))
            }
        }
        let model = try LanguageModelConfig(kind: .gru, vocabSize: 40, hidden: 8).makeModel(on: CPUBackend.shared, rng: HostRNG(seed: 0))
        let state = try model.beginState(batchSize: 3, on: CPUBackend.shared)
        let batchMajor = try Tensor(x, shape: [3, 4], on: CPUBackend.shared)
        #expect(throws: DiveError.self) { _ = try model.forward(batchMajor, state: state) }
        let (logits, _) = try model.forward(batch, state: state)
        #expect(logits.shape == [12, 40])
    }

    /// A language model trained a few steps, saved by ZooModel, loads with one call on every
    /// device and continues a prefix exactly as the model it was saved from.
    @Test func aSavedLanguageModelLoadsWithOneCallAndGeneratesTheSameText() throws {
        let (tokens, vocab) = Self.corpus()
        let model = try LanguageModelConfig(kind: .gru, vocabSize: vocab.count, hidden: 32, layers: 2)
            .makeModel(on: CPUBackend.shared, rng: HostRNG(seed: 1))
        let task = try LanguageModelTask(
            config: model.config, corpus: tokens, vocab: vocab, batchSize: 4, numSteps: 10,
            on: CPUBackend.shared, seed: 1)
        #expect(task.batchesPerEpoch == 0 && task.nextBatch() == nil)  // before training: nothing, not a crash
        _ = try Trainer(task, hyper: Hyperparameters(epochs: 1, lr: 0.01, batchSize: 4, optimizer: .adam)).run(steps: 20)
        let url = Self.temporary("lm.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try ZooModel.languageModel(task.languageModel, vocab: vocab).save(to: url)
        let expected = try LanguageModelPrediction.predict(
            "the ", count: 20, model: task.languageModel, vocab: vocab, on: CPUBackend.shared)
        for device in DeviceRegistry.allDevices() {
            let backend = try Backends.backend(for: device)
            let (loaded, loadedVocab) = try ZooModel.load(from: url, on: backend).languageModel()
            #expect(loaded.config == task.config && loadedVocab == vocab)
            let text = try LanguageModelPrediction.predict("the ", count: 20, model: loaded, vocab: loadedVocab, on: backend)
            #expect(text == expected, "\(device): \(text) vs \(expected)")
        }
        // A file of weights only is refused in the library's words.
        try Checkpoint.save(to: url, model: task.languageModel, info: CheckpointInfo(step: 0))
        do {
            _ = try ZooModel.load(from: url, on: CPUBackend.shared)
            Issue.record("a weights-only file loaded")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("ZooModel.save") && !text.contains("--"), "\(text)")
        }
    }

    @Test func translationAndNLIModelsRoundTrip() throws {
        let src = Vocab(["<pad>", "<bos>", "<eos>", "go", "run"]), tgt = Vocab(["<pad>", "<bos>", "<eos>", "va", "cours"])
        let config = TranslationModelConfig.transformer(
            TransformerConfig(
                srcVocabSize: src.count, tgtVocabSize: tgt.count, numHiddens: 8,
                ffnHiddens: 16, numHeads: 2, numLayers: 1, dropout: 0, numSteps: 5))
        let translator = try config.build(on: CPUBackend.shared, rng: HostRNG(seed: 2))
        let nli = try DecomposableAttention(
            NLIConfig(vocabSize: src.count, embedSize: 4, hidden: 6, numSteps: 5), on: CPUBackend.shared,
            rng: HostRNG(seed: 3))
        let url = Self.temporary("zoo.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try ZooModel.translation(translator, source: src, target: tgt).save(to: url)
        let (m, s, t) = try ZooModel.load(from: url, on: CPUBackend.shared).translation()
        #expect(m.modelConfig == config && s == src && t == tgt)
        #expect(throws: ZooError.self) { _ = try ZooModel.load(from: url, on: CPUBackend.shared).languageModel() }
        let before = try Translator(model: translator, srcVocab: src, tgtVocab: tgt).greedy("go run")
        #expect(try Translator(model: m, srcVocab: s, tgtVocab: t).greedy("go run") == before)

        try ZooModel.nli(nli, vocab: src).save(to: url)
        let (n, v) = try ZooModel.load(from: url, on: CPUBackend.shared).nli()
        #expect(n.config == nli.config && v == src)
        for (a, b) in zip(nli.namedParameters(), n.namedParameters()) { #expect(try a.tensor.toArray() == b.tensor.toArray(), "\(a.name)") }
    }

    /// Zero logits predict every token with probability 1/V: the perplexity is V exactly, whatever
    /// the text, batch and window; a trained model does better on its text.
    @Test func perplexityOfUniformPredictionsIsTheVocabularySize() throws {
        let (tokens, vocab) = Self.corpus()
        let model = try RNNLanguageModel(cell: .gru, vocabSize: vocab.count, hidden: 16, on: CPUBackend.shared, rng: HostRNG(seed: 4))
        try model.linear.weight.assign([Float](repeating: 0, count: model.linear.weight.count))
        try model.linear.bias!.assign([Float](repeating: 0, count: model.linear.bias!.count))
        for (batch, steps) in [(1, 35), (7, 5), (32, 35)] {
            let p = try Evaluation.perplexity(model, tokens: tokens, batchSize: batch, numSteps: steps)
            #expect(abs(p - Double(vocab.count)) < 1e-3 * Double(vocab.count), "batch \(batch), steps \(steps): \(p)")
        }
        #expect(throws: ZooError.self) { _ = try Evaluation.perplexity(model, tokens: Array(tokens.prefix(5)), batchSize: 8) }
    }

    /// y = 3x − 1 fitted by a program's own Linear through the Trainer: a budget of 7 steps over
    /// 3 minibatches an epoch is 3 epochs of 3, 3 and 1 steps, with a callback after each step and
    /// epoch, and the fit gets close.
    @Test func trainerRunsAProgramsModelForAStepBudget() throws {
        struct Points: MinibatchDataset {
            let xs: [Float]
            var count: Int { xs.count }
            func batch(_ indices: [Int]) -> TokenBatch {  // a RowBatch of one "token" per row, reused for (x, y)
                TokenBatch(x: indices.map { Int32($0) }, y: indices.map { Int32($0) }, batchSize: indices.count, numSteps: 1)
            }
        }
        let xs: [Float] = (0..<10).map { Float($0) / 10 }
        let linear = try Linear(1, 1, on: CPUBackend.shared, rng: HostRNG(seed: 5))
        let task = try CustomTask(model: linear, data: Points(xs: xs), batchSize: 4) { batch in
            let x = try Tensor(batch.x.map { xs[Int($0)] }, shape: [batch.batchSize, 1], on: CPUBackend.shared)
            let y = try Tensor(batch.x.map { 3 * xs[Int($0)] - 1 }, shape: [batch.batchSize, 1], on: CPUBackend.shared)
            let d = try linear(x) - y
            return try (d * d).mean()
        }
        // Asked before any training: no batches and the first epoch's start, not a crash.
        #expect(task.batchesPerEpoch == 0 && task.nextBatch() == nil && task.position.epoch == 0 && task.position.batchIndex == 0)
        let trainer = Trainer(task, hyper: Hyperparameters(epochs: 1, lr: 0.5, batchSize: 4, optimizer: .sgd, clip: nil))
        var steps: [Int] = [], epochs: [Int] = []
        trainer.onStep = { step, _, loss in
            steps.append(step)
            #expect(loss?.count == 1)
        }
        trainer.onEpoch = { record in
            epochs.append(record.minibatches); record.validation = 42
        }
        var history = try trainer.run(steps: 7)
        #expect(steps == Array(1...7) && epochs == [3, 3, 1] && history.map(\.validation) == [42, 42, 42])
        trainer.onStep = nil; trainer.onEpoch = nil
        history = try trainer.run(steps: 300)
        let w = try linear.weight.toArray()[0], b = try linear.bias!.toArray()[0]
        #expect(abs(w - 3) < 0.05 && abs(b + 1) < 0.05, "w \(w), b \(b) after \(history.count) epochs")
    }

    /// A prefix is split as the corpus is (Unicode scalars): a decomposed "é" (e + U+0301) is two
    /// known tokens, not one unknown Character.
    @Test func predictionSplitsAPrefixAsTrainingDoes() throws {
        let chars = tokenize(["cafe\u{301} au lait, cafe\u{301} noir"], as: .char)[0]
        let vocab = Vocab(chars)
        #expect(vocab["\u{301}"] != vocab["<unk>"])
        let model = try LanguageModelConfig(kind: .rnn, vocabSize: vocab.count, hidden: 8).makeModel(
            on: CPUBackend.shared, rng: HostRNG(seed: 6))
        let text = try LanguageModelPrediction.predict("cafe\u{301}", count: 3, model: model, vocab: vocab, on: CPUBackend.shared)
        #expect(text.unicodeScalars.starts(with: "cafe\u{301}".unicodeScalars), "\(text.unicodeScalars.map { $0.value })")
    }
}

/// A library program prints nothing of the library's: program builds (a fresh cache), tuning,
/// checkpoints and resumes log at debug, below swift-log's default level.
@Suite struct QuietLibraryTests {
    @Test func noLogLineAppearsByDefault() throws {
        let probe = try #require(executableBesideTests("DiveQuietProbe"), "DiveQuietProbe not found; run swift build --build-tests")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dive-quiet-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: probe)
        p.arguments = [folder.path]
        var env = ProcessInfo.processInfo.environment
        env["DIVE_CACHE"] = folder.appendingPathComponent("cache").path  // every program is built anew
        env.removeValue(forKey: "DIVE_LOG_LEVEL")
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && output == "quiet\n", "\(output)")
    }
}
