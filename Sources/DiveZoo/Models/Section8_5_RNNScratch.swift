// 8.5 RNN from scratch: the book's `RNNModelScratch` with `rnn`, built from tensors and its own
// parameters W_xh, W_hh, b_h, W_hq, b_q; H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), Y_t = H_t W_hq + b_q.
import Dive
import DiveNN

/// 8.5: the book's `RNNModelScratch`, an RNN on its own W_xh, W_hh, b_h, W_hq, b_q with
/// H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h) and outputs H_t W_hq + b_q.
public final class RNNScratch: Module, LanguageModel {
    /// The vocabulary size V (one-hot input and logits) and the hidden width H.
    public let vocabSize: Int, hidden: Int
    let wXH: Tensor, wHH: Tensor, bH: Tensor, wHQ: Tensor, bQ: Tensor

    /// Builds the five parameters for V characters and H hidden units: N(0, 0.01²) weights, zero biases.
    public init(vocabSize: Int, hidden: Int, on backend: Backend, rng: HostRNG) throws {
        self.vocabSize = vocabSize; self.hidden = hidden
        wXH = try Scratch.weight([vocabSize, hidden], on: backend, rng: rng)  // (V, H)
        wHH = try Scratch.weight([hidden, hidden], on: backend, rng: rng)  // (H, H)
        bH = try Scratch.zeros(hidden, on: backend)
        wHQ = try Scratch.weight([hidden, vocabSize], on: backend, rng: rng)  // (H, V)
        bQ = try Scratch.zeros(vocabSize, on: backend)
        super.init()
        for (n, p) in [("W_xh", wXH), ("W_hh", wHH), ("b_h", bH), ("W_hq", wHQ), ("b_q", bQ)] { register(n, p) }
    }

    /// Kind `.rnnScratch` with its V and H, for checkpoints.
    public var config: LanguageModelConfig { LanguageModelConfig(kind: .rnnScratch, vocabSize: vocabSize, hidden: hidden) }

    /// Zeros (B, H) for a batch of B sequences.
    public func beginState(batchSize: Int, on backend: Backend) throws -> RecurrentState {
        RecurrentState(h: try Tensor.zeros([batchSize, hidden], on: backend))
    }

    /// Tokens (T, B), time-major → logits (T·B, V) and the hidden state after the last step.
    public func forward(_ tokens: Tensor, state: RecurrentState) throws -> (logits: Tensor, state: RecurrentState) {
        try unrollScratch(tokens, state: state, wHQ: wHQ, bQ: bQ) { x, h in
            try (Scratch.inputProduct(wXH, x) + h.matmul(wHH) + bH).tanh()
        }
    }
}

extension LanguageModelRecipe {
    /// 8.5: hidden 512, lr 1, 500 epochs, sequential partitioning (book: ppl 1.0; random iteration 1.5).
    public static let rnnScratch = LanguageModelRecipe(
        RecipeListing(name: "rnn-scratch", section: "8.5", enSection: "9.5", summary: "RNN language model from scratch (hidden 512)"),
        kind: .rnnScratch, hidden: 512, lr: 1, bookResult: "perplexity 1.0, 67212.6 tokens/sec on cuda:0 (random iteration: 1.5)",
        en: .init(kind: .rnnScratch, hidden: 32, lr: 1, epochs: 100))
}
