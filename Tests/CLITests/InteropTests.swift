// PyTorch weights in and out for the book's LSTM language model: a Dive checkpoint loads into the
// book's PyTorch `RNNModel` with strict=True, and a plain PyTorch state_dict (F32, F16 or BF16,
// saved with safetensors.torch.save_file) loads into Dive with `--recipe`; both sides give the same
// logits (≤ 1e-4) and the same greedy `predict_ch8` text, and `--init-from` fine-tunes from it.
// Runs where python3 has torch and safetensors (CI installs them).
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
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/book_lm.py").path

    struct TorchResult: Decodable { var logits: [Double]; var predict: String }

    /// Runs book_lm.py and reads what it wrote.
    func torch(_ mode: String, _ file: URL, vocab: URL, in dir: URL) throws -> TorchResult {
        let result = dir.appendingPathComponent("\(mode).json")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.script, mode, file.path, vocab.path, result.path, "lstm", "256"]
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "book_lm.py \(mode) failed:\n\(output)")
        return try JSONDecoder().decode(TorchResult.self, from: Data(contentsOf: result))
    }

    /// Dive's logits for book_lm.py's batch: tokens (i·7 mod V) as (2, 5), fed time-major.
    func diveLogits(_ model: any LanguageModel) throws -> [Double] {
        let b = CPUBackend.shared, V = model.vocabSize
        let batchMajor = (0..<10).map { Int32($0 * 7 % V) }                           // (2, 5)
        let timeMajor = (0..<10).map { batchMajor[($0 % 2) * 5 + $0 / 2] }             // (5, 2)
        let (logits, _) = try model.forward(Tensor(timeMajor, shape: [5, 2], on: b), state: model.beginState(batchSize: 2, on: b))
        return try logits.toDoubleArray()
    }

    func expectSame(_ dive: [Double], _ torch: [Double], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let worst = zip(dive, torch).map { abs($0 - $1) }.max() ?? .infinity
        #expect(dive.count == torch.count && worst <= 1e-4, "\(what): logits differ by \(worst)", sourceLocation: sourceLocation)
    }

    func predicted(_ output: String) -> String { output.split(separator: "\n").first.map(String.init) ?? "" }

    @Test func lstmLanguageModelRoundTrips() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = DataDirectory(explicitPath: CLI.dataDirectory)
        // Dive → PyTorch.
        let diveFile = dir.appendingPathComponent("dive.safetensors")
        try CLI.succeed(["train", "lstm", "--epochs", "3", "--checkpoint", diveFile.path])
        let (trained, vocab, _) = try LanguageModelTask.load(checkpoint: diveFile, on: CPUBackend.shared)
        let vocabFile = dir.appendingPathComponent("vocab.json")
        try JSONEncoder().encode((0..<vocab.count).map { vocab.token(at: $0) }).write(to: vocabFile)
        let imported = try torch("import", diveFile, vocab: vocabFile, in: dir)
        expectSame(try diveLogits(trained), imported.logits, "Dive checkpoint in PyTorch")
        #expect(predicted(try CLI.succeed(["predict", diveFile.path, "time traveller", "--length", "20"])) == imported.predict)

        // PyTorch → Dive, in each float type PyTorch users save.
        let recipe = try #require(try RecipeRegistry.recipe(named: "lstm") as? LanguageModelRecipe)
        for mode in ["export", "export-f16", "export-bf16"] {
            let torchFile = dir.appendingPathComponent("\(mode).safetensors")
            let exported = try torch(mode, torchFile, vocab: vocabFile, in: dir)
            let (model, plainVocab, _) = try LanguageModelTask.load(checkpoint: torchFile, on: CPUBackend.shared, recipe: recipe, data: data)
            #expect(plainVocab.count == vocab.count)
            expectSame(try diveLogits(model), exported.logits, "PyTorch \(mode) in Dive")
            let text = predicted(try CLI.succeed(["predict", torchFile.path, "time traveller", "--length", "20", "--recipe", "lstm"]))
            #expect(text == exported.predict, "\(mode): Dive \(text) vs PyTorch \(exported.predict)")
        }
        // Without --recipe a plain state_dict is a clear error; --init-from fine-tunes from it.
        let plain = dir.appendingPathComponent("export.safetensors")
        let r = try CLI.run(["predict", plain.path, "time"])
        #expect(r.exitedNormally && r.status == 1 && r.output.contains("--recipe"))
        let tuned = dir.appendingPathComponent("tuned.safetensors")
        try CLI.succeed(["train", "lstm", "--epochs", "1", "--init-from", plain.path, "--checkpoint", tuned.path])
        let start = try SafeTensorsFile.read(from: plain).tensors["linear.weight"]!.floats!
        let after = try SafeTensorsFile.read(from: tuned).tensors["linear.weight"]!.floats!
        let moved = zip(start, after).map { abs($0 - $1) }.max() ?? 0
        #expect(moved > 0 && moved < 1, "fine-tuning moved linear.weight by \(moved)")
    }
}
