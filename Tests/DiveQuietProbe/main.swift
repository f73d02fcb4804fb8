// Test-only: what a library program does on every device (program builds, tuning, the Trainer
// with a checkpoint and a resume, ZooModel save and load, prediction), without bootstrapping
// swift-log. Its whole output must be its own last line, "quiet": swift-log's default handler
// prints info and above to standard output, so any routine library log above debug shows up.
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation

do {
    let folder = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory())
    let chars = tokenize([String(repeating: "a quiet library prints nothing. ", count: 20)], as: .char)[0]
    let vocab = Vocab(chars)
    let corpus = vocab.indices(chars).map { Int32($0) }
    for device in DeviceRegistry.allDevices() {
        let backend = try Backends.backend(for: device)
        let config = LanguageModelConfig(kind: .lstm, vocabSize: vocab.count, hidden: 16)
        var options = RunOptions()
        options.device = device
        options.checkpoint = folder.appendingPathComponent("probe-\(device).safetensors")
        for resume in [false, true] {
            let task = try LanguageModelTask(config: config, corpus: corpus, vocab: vocab, batchSize: 4, numSteps: 8, on: backend)
            options.resume = resume
            _ = try Trainer(
                task, hyper: Hyperparameters(epochs: resume ? 2 : 1, lr: 0.01, batchSize: 4, optimizer: .adam),
                options: options
            ).run()
        }
        let (model, loadedVocab) = try ZooModel.load(from: options.checkpoint!, on: backend).languageModel()
        _ = try LanguageModelPrediction.predict("a ", count: 5, model: model, vocab: loadedVocab, on: backend)
    }
    print("quiet")
} catch {
    FileHandle.standardError.write(Data("DiveQuietProbe: \(error)\n".utf8))
    exit(1)
}
