// PyTorch weights in and out for the book's LSTM language model and Transformer: a Dive checkpoint
// loads into the book's PyTorch modules with strict=True, and a plain PyTorch state_dict (F32, F16
// or BF16, saved with safetensors.torch.save_file) loads into Dive with `--recipe`; both sides give
// the same logits (≤ 1e-4) and the same greedy text (`predict_ch8`, `predict_seq2seq`), and
// `--init-from` fine-tunes from it. Runs where python3 has torch and safetensors (CI installs them).
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation
import Testing

/// Whether python3 can import torch and safetensors.
let pythonHasTorch: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import torch, safetensors"]
    p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite("Interop", .serialized, .enabled(if: pythonHasTorch, "python3 lacks torch or safetensors"))
struct InteropTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop")

    /// Runs a script of Interop/ (the argument RESULT becomes its result file) and decodes the JSON it wrote.
    func python<R: Decodable>(_ script: String, _ args: [String], resultIn dir: URL, _ type: R.Type) throws -> R {
        let result = dir.appendingPathComponent("\(args[0]).json")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.folder.appendingPathComponent(script).path] + args.map { $0 == "RESULT" ? result.path : $0 }
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "\(script) \(args[0]) failed:\n\(output)")
        return try JSONDecoder().decode(R.self, from: Data(contentsOf: result))
    }

    struct TorchResult: Decodable { var logits: [Double]; var predict: String }

    /// Runs book_lm.py (the LSTM RNNModel, hidden 256).
    func torch(_ mode: String, _ file: URL, vocab: URL, in dir: URL) throws -> TorchResult {
        try python("book_lm.py", [mode, file.path, vocab.path, "RESULT", "lstm", "256"], resultIn: dir, TorchResult.self)
    }

    /// Dive's logits for book_lm.py's batch: tokens (i·7 mod V) as (2, 5), fed time-major.
    func diveLogits(_ model: any LanguageModel) throws -> [Double] {
        let b = CPUBackend.shared, V = model.vocabSize
        let batchMajor = (0..<10).map { Int32($0 * 7 % V) }  // (2, 5)
        let timeMajor = (0..<10).map { batchMajor[($0 % 2) * 5 + $0 / 2] }  // (5, 2)
        let (logits, _) = try model.forward(Tensor(timeMajor, shape: [5, 2], on: b), state: model.beginState(batchSize: 2, on: b))
        return try logits.toDoubleArray()
    }

    func expectSame(_ dive: [Double], _ torch: [Double], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let worst = zip(dive, torch).map { abs($0 - $1) }.max() ?? .infinity
        #expect(dive.count == torch.count && worst <= 1e-4, "\(what): logits differ by \(worst)", sourceLocation: sourceLocation)
    }

    /// Without --recipe, `command` (predict, translate) rejects the plain state_dict `export.safetensors`
    /// in `dir` with a clear error; `train <recipe> --init-from` fine-tunes from it: one epoch moves
    /// `weight`, but not far.
    func expectPlainStateDictNeedsRecipe(
        _ command: String, _ input: String, recipe: String, weight: String, in dir: URL,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let plain = dir.appendingPathComponent("export.safetensors")
        let r = try CLI.run([command, plain.path, input])
        #expect(r.exitedNormally && r.status == 1 && r.output.contains("--recipe"), sourceLocation: sourceLocation)
        let tuned = dir.appendingPathComponent("tuned.safetensors")
        try CLI.succeed(["train", recipe, "--epochs", "1", "--init-from", plain.path, "--checkpoint", tuned.path])
        let start = try SafeTensorsFile.read(from: plain).tensors[weight]!.floats!
        let after = try SafeTensorsFile.read(from: tuned).tensors[weight]!.floats!
        let moved = zip(start, after).map { abs($0 - $1) }.max() ?? 0
        #expect(moved > 0 && moved < 1, "fine-tuning moved \(weight) by \(moved)", sourceLocation: sourceLocation)
    }

    /// The book's data, for reading plain state_dicts with a recipe.
    static let data = DataDirectory(explicitPath: CLI.dataDirectory)

    /// `dive train recipe --epochs epochs` into `dir/dive.safetensors`; returns that checkpoint.
    func trainedCheckpoint(_ recipe: String, epochs: Int, in dir: URL) throws -> URL {
        let file = dir.appendingPathComponent("dive.safetensors")
        try CLI.succeed(["train", recipe, "--epochs", "\(epochs)", "--checkpoint", file.path])
        return file
    }

    func predicted(_ output: String) -> String { output.split(separator: "\n").first.map(String.init) ?? "" }

    func writeTokens(_ vocab: Vocab, to url: URL) throws {
        try JSONEncoder().encode((0..<vocab.count).map { vocab.token(at: $0) }).write(to: url)
    }

    @Test func lstmLanguageModelRoundTrips() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Dive → PyTorch.
        let diveFile = try trainedCheckpoint("lstm", epochs: 3, in: dir)
        let (trained, vocab, _, _) = try LanguageModelTask.load(checkpoint: diveFile, on: CPUBackend.shared)
        let vocabFile = dir.appendingPathComponent("vocab.json")
        try writeTokens(vocab, to: vocabFile)
        let imported = try torch("import", diveFile, vocab: vocabFile, in: dir)
        expectSame(try diveLogits(trained), imported.logits, "Dive checkpoint in PyTorch")
        #expect(predicted(try CLI.succeed(["predict", diveFile.path, "time traveller", "--length", "20"])) == imported.predict)

        // PyTorch → Dive, in each float type PyTorch users save.
        let recipe = try #require(try RecipeRegistry.recipe(named: "lstm") as? LanguageModelRecipe)
        for mode in ["export", "export-f16", "export-bf16"] {
            let torchFile = dir.appendingPathComponent("\(mode).safetensors")
            let exported = try torch(mode, torchFile, vocab: vocabFile, in: dir)
            let (model, plainVocab, _, _) = try LanguageModelTask.load(
                checkpoint: torchFile, on: CPUBackend.shared, recipe: recipe, data: Self.data)
            #expect(plainVocab.count == vocab.count)
            expectSame(try diveLogits(model), exported.logits, "PyTorch \(mode) in Dive")
            let text = predicted(try CLI.succeed(["predict", torchFile.path, "time traveller", "--length", "20", "--recipe", "lstm"]))
            #expect(text == exported.predict, "\(mode): Dive \(text) vs PyTorch \(exported.predict)")
        }
        try expectPlainStateDictNeedsRecipe("predict", "time", recipe: "lstm", weight: "linear.weight", in: dir)
    }

    struct TranslationResult: Decodable { var logits: [Double]; var translations: [String] }

    static let sentences = ["go .", "i lost .", "he's calm .", "i'm home ."]

    /// Dive's logits for book_transformer.py's batch: source (i·7 mod V_src) and decoder input
    /// (i·5 mod V_tgt) as (2, steps), source valid lengths 4 and steps.
    func diveLogits(_ model: any EncoderDecoder) throws -> [Double] {
        let b = CPUBackend.shared, T = model.numSteps, c = model.modelConfig
        let src = (0..<(2 * T)).map { Int32($0 * 7 % c.srcVocabSize) }, dec = (0..<(2 * T)).map { Int32($0 * 5 % c.tgtVocabSize) }
        return try model.logits(
            source: Tensor(src, shape: [2, T], on: b), sourceValidLens: Tensor([4, Int32(T)], shape: [2], on: b),
            decoderInput: Tensor(dec, shape: [2, T], on: b)
        ).toDoubleArray()
    }

    /// `dive translate` of the book's four sentences (greedy).
    func diveTranslations(_ file: URL, _ extra: [String] = []) throws -> [String] {
        try Self.sentences.map { sentence in
            // Standard output's line; "log P = …" goes to standard error, in the same pipe here.
            let lines = try CLI.succeed(["translate", file.path, sentence] + extra).split(separator: "\n")
            return lines.first { !$0.hasPrefix("log P") }.map(String.init) ?? ""
        }
    }

    @Test func transformerRoundTrips() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Dive → PyTorch, after enough training that the translations are words.
        let diveFile = try trainedCheckpoint("transformer", epochs: 30, in: dir)
        let (trained, src, tgt) = try TranslationTask.load(checkpoint: diveFile, on: CPUBackend.shared)
        guard case let .transformer(c) = trained.modelConfig else { Issue.record("not a Transformer"); return }
        let srcFile = dir.appendingPathComponent("src.json"), tgtFile = dir.appendingPathComponent("tgt.json")
        try writeTokens(src, to: srcFile); try writeTokens(tgt, to: tgtFile)
        func run(_ mode: String, _ file: URL) throws -> TranslationResult {
            try python(
                "book_transformer.py",
                [
                    mode, file.path, srcFile.path, tgtFile.path, "RESULT",
                    "\(c.numHiddens)", "\(c.ffnHiddens)", "\(c.numHeads)", "\(c.numLayers)", "\(c.numSteps)"
                ],
                resultIn: dir, TranslationResult.self)
        }
        let imported = try run("import", diveFile)
        expectSame(try diveLogits(trained), imported.logits, "Dive checkpoint in PyTorch")
        #expect(try diveTranslations(diveFile) == imported.translations)
        #expect(imported.translations.contains { !$0.isEmpty }, "a trained Transformer translates something: \(imported.translations)")

        // PyTorch → Dive, in each float type PyTorch users save.
        let recipe = try #require(try RecipeRegistry.recipe(named: "transformer") as? any TranslationRecipe)
        for mode in ["export", "export-f16", "export-bf16"] {
            let torchFile = dir.appendingPathComponent("\(mode).safetensors")
            let exported = try run(mode, torchFile)
            let (model, plainSrc, plainTgt) = try TranslationTask.load(
                checkpoint: torchFile, on: CPUBackend.shared, recipe: recipe, data: Self.data)
            #expect(plainSrc.count == src.count && plainTgt.count == tgt.count)
            expectSame(try diveLogits(model), exported.logits, "PyTorch \(mode) in Dive")
            let texts = try diveTranslations(torchFile, ["--recipe", "transformer"])
            #expect(texts == exported.translations, "\(mode): Dive \(texts) vs PyTorch \(exported.translations)")
        }
        try expectPlainStateDictNeedsRecipe("translate", "go .", recipe: "transformer", weight: "decoder.dense.weight", in: dir)
    }

    /// The GRU models' plain state_dicts (what PyTorch's `state_dict()` of the book's
    /// `EncoderDecoder` holds: the weights, no metadata) read with `--recipe` translate as the
    /// checkpoint they came from.
    @Test(arguments: ["seq2seq", "bahdanau"])
    func recurrentTranslatorsReadPlainWeights(_ name: String) throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let diveFile = try trainedCheckpoint(name, epochs: 20, in: dir), plain = dir.appendingPathComponent("plain.safetensors")
        let full = try SafeTensorsFile.read(from: diveFile)
        try SafeTensorsFile(tensors: full.tensors.filter { $0.key.hasPrefix("encoder.") || $0.key.hasPrefix("decoder.") }).write(to: plain)
        #expect(try diveTranslations(plain, ["--recipe", name]) == diveTranslations(diveFile))
        let r = try CLI.run(["translate", plain.path, "go .", "--recipe", name == "seq2seq" ? "bahdanau" : "seq2seq"])
        #expect(r.exitedNormally && r.status == 1, "another recipe's layout is a one-line error: \(r.output)")
    }
}
