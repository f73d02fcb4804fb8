// CharLM: a character LSTM language model on a few sentences, trained through Dive's library API
// (no CLI, no recipe): vocabulary, model, Adam with gradient clipping, the training loop, then a
// greedy continuation. Prints the loss as it falls and exits non-zero if it did not learn.
//
//     swift run -c release --package-path Examples CharLM [--device cpu|opencl:0]
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation

let text = String(repeating: "the time traveller smiled. the time machine waited. ", count: 40)
let vocab = Vocab(text.map { String($0) })
let corpus = vocab.indices(text.map { String($0) }).map { Int32($0) }

let arguments = CommandLine.arguments
let device = try Device(parsing: arguments.firstIndex(of: "--device").map { arguments[$0 + 1] } ?? "cpu")
let backend = try Backends.backend(for: device)
let model = try LanguageModelConfig(kind: .lstm, vocabSize: vocab.count, hidden: 64)
    .makeModel(on: backend, rng: HostRNG(seed: 0))
let optimizer = try Adam(model.parameters, lr: 0.01)

let batch = 16, steps = 20
var first = 0.0, last = 0.0
for step in 0..<200 {
    // Rows of `steps` tokens at pseudo-random offsets, time-major (T, B), and their next tokens.
    var x = [Int32](repeating: 0, count: steps * batch), y = x
    for b in 0..<batch {
        let start = (step * 7919 + b * 104_729) % (corpus.count - steps - 1)
        for t in 0..<steps { x[t * batch + b] = corpus[start + t]; y[t * batch + b] = corpus[start + t + 1] }
    }
    optimizer.zeroGrad()
    let state = try model.beginState(batchSize: batch, on: backend)
    let (logits, _) = try model.forward(Tensor(x, shape: [steps, batch], on: backend), state: state)   // (T·B, V)
    let loss = try Loss.crossEntropy(logits, targets: Tensor(y, shape: [steps * batch], on: backend))
    try loss.backward()
    let scale = try GradientClipping.scale(model.parameters, maxNorm: 1)
    try optimizer.step(gradScale: scale)
    if step % 40 == 0 || step == 199 {
        last = try loss.item()
        if step == 0 { first = last }
        print(String(format: "step %3d  loss %.3f", step, last))
    }
}
let continuation = try LanguageModelPrediction.predict("the time ", count: 30, model: model, vocab: vocab, on: backend)
print("the time … → \(continuation)")
guard last < first / 3 else {
    print("the loss did not fall enough (\(first) → \(last))")
    exit(1)
}
