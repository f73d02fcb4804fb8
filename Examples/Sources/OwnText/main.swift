// OwnText: a 2-layer character GRU on a text of your own, through Dive's library. 10% of the text is
// held out; the Trainer runs Adam with warmup, cosine decay and clipping for a step budget; each
// epoch reports held-out perplexity; the model is saved with its description, loaded back with one
// call, checked, and continues a prefix. It runs on the CPU and on every GPU Dive sees, and exits
// non-zero unless the held-out perplexity falls well below the vocabulary size.
//
//     swift run -c release --package-path Examples OwnText [--text FILE] [--device cpu,opencl:0]
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation

let arguments = CommandLine.arguments
func option(_ name: String) -> String? { arguments.firstIndex(of: name).map { arguments[$0 + 1] } }
let path = option("--text") ?? "/usr/share/common-licenses/GPL-3"

var failed = false
do {
    let devices =
        try option("--device").map { try $0.split(separator: ",").map { try Device(parsing: String($0)) } }
        ?? DeviceRegistry.allDevices()
    let chars = tokenize([try String(contentsOfFile: path, encoding: .utf8)], as: .char)[0]
    let vocab = Vocab(chars)
    let tokens = vocab.indices(chars).map { Int32($0) }
    let cut = tokens.count * 9 / 10
    let (train, heldOut) = (Array(tokens[..<cut]), Array(tokens[cut...]))
    print("\(path): \(tokens.count) characters, \(vocab.count) distinct, \(heldOut.count) held out")

    for device in devices {
        let backend = try Backends.backend(for: device)
        let config = LanguageModelConfig(kind: .gru, vocabSize: vocab.count, hidden: 128, layers: 2)
        let task = try LanguageModelTask(config: config, corpus: train, vocab: vocab, batchSize: 32, numSteps: 35, on: backend)
        let hyper = Hyperparameters(epochs: 1, lr: 0.01, batchSize: 32, optimizer: .adam, clip: 1, schedule: .cosine, warmupSteps: 30)
        let trainer = Trainer(task, hyper: hyper)
        trainer.onEpoch = { record in
            record.validation = try Evaluation.perplexity(task.languageModel, tokens: heldOut)
            print(
                String(
                    format: "[%@] epoch %2d  train perplexity %6.2f  held-out %6.2f  %6.0f tokens/s", "\(device)",
                    record.epoch + 1, exp(record.loss), record.validation!, record.tokensPerSecond))
        }
        let history = try trainer.run(steps: 600)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("own-text-\(device).safetensors")
        try ZooModel.languageModel(task.languageModel, vocab: vocab).save(to: url)
        let (model, savedVocab) = try ZooModel.load(from: url, on: backend).languageModel()
        let reloaded = try Evaluation.perplexity(model, tokens: heldOut)
        let text = try LanguageModelPrediction.predict("the ", count: 60, model: model, vocab: savedVocab, on: backend)
        print("[\(device)] reloaded from \(url.lastPathComponent): held-out perplexity \(reloaded)\n  \(text.debugDescription)")
        if reloaded != history.last?.validation || reloaded > Double(vocab.count) / 4 {
            print("[\(device)] FAILED: the reloaded model differs, or did not learn (vocabulary \(vocab.count))")
            failed = true
        }
    }
} catch {
    print("error: \(error)")  // one line, whatever went wrong: a missing file, a device, a bad checkpoint
    failed = true
}
exit(failed ? 1 : 0)
