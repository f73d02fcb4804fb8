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
let chars = tokenize([text], as: .char)[0]  // one token per Unicode scalar, as predict splits a prefix
let vocab = Vocab(chars)
let corpus = vocab.indices(chars).map { Int32($0) }

let arguments = CommandLine.arguments
let device = try Device(parsing: arguments.firstIndex(of: "--device").map { arguments[$0 + 1] } ?? "cpu")
let backend = try Backends.backend(for: device)
let model = try LanguageModelConfig(kind: .lstm, vocabSize: vocab.count, hidden: 64)
    .makeModel(on: backend, rng: HostRNG(seed: 0))
let optimizer = try Adam(model.parameters, lr: 0.01)

let batch = 16, steps = 20
var first = 0.0, last = 0.0
for step in 0..<200 {
    // Rows of `steps` tokens at pseudo-random offsets and their next tokens, batch-major as a loader
    // cuts them; LanguageModelBatch puts them in the model's time-major layout.
    var x: [Int32] = [], y: [Int32] = []
    for b in 0..<batch {
        let start = (step * 7919 + b * 104_729) % (corpus.count - steps - 1)
        x += corpus[start..<(start + steps)]; y += corpus[(start + 1)..<(start + steps + 1)]
    }
    let data = try LanguageModelBatch(TokenBatch(x: x, y: y, batchSize: batch, numSteps: steps), on: backend)
    optimizer.zeroGrad()
    let (loss, _) = try model.loss(data, state: model.beginState(batchSize: batch, on: backend))  // mean over T·B
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
