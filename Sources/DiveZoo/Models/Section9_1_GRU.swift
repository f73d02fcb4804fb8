// 9.1 Gated recurrent units: the book's GRU from scratch (gates Z, R, candidate H̃) and the concise
// `nn.GRU(28, 256)` model, with their recipes.
import Dive
import DiveNN

/// 9.1: the book's GRU from scratch: update gate Z, reset gate R and candidate H̃ with
/// H_t = Z ⊙ H_{t-1} + (1 − Z) ⊙ H̃_t, then the output layer W_hq, b_q.
public final class GRUScratch: Module, LanguageModel {
    /// The vocabulary size V (one-hot input and logits) and the hidden width H.
    public let vocabSize: Int, hidden: Int
    let wXZ: Tensor, wHZ: Tensor, bZ: Tensor, wXR: Tensor, wHR: Tensor, bR: Tensor
    let wXH: Tensor, wHH: Tensor, bH: Tensor, wHQ: Tensor, bQ: Tensor

    /// Builds the gates', candidate's and output's parameters for V characters and H hidden units:
    /// N(0, 0.01²) weights, zero biases.
    public init(vocabSize: Int, hidden: Int, on backend: Backend, rng: HostRNG) throws {
        self.vocabSize = vocabSize; self.hidden = hidden
        let V = vocabSize, H = hidden
        func w(_ s: [Int]) throws -> Tensor { try Scratch.weight(s, on: backend, rng: rng) }
        wXZ = try w([V, H]); wHZ = try w([H, H]); bZ = try Scratch.zeros(H, on: backend)
        wXR = try w([V, H]); wHR = try w([H, H]); bR = try Scratch.zeros(H, on: backend)
        wXH = try w([V, H]); wHH = try w([H, H]); bH = try Scratch.zeros(H, on: backend)
        wHQ = try w([H, V]); bQ = try Scratch.zeros(V, on: backend)
        super.init()
        for (n, p) in [
            ("W_xz", wXZ), ("W_hz", wHZ), ("b_z", bZ), ("W_xr", wXR), ("W_hr", wHR), ("b_r", bR),
            ("W_xh", wXH), ("W_hh", wHH), ("b_h", bH), ("W_hq", wHQ), ("b_q", bQ)
        ] { register(n, p) }
    }

    /// Kind `.gruScratch` with its V and H, for checkpoints.
    public var config: LanguageModelConfig { LanguageModelConfig(kind: .gruScratch, vocabSize: vocabSize, hidden: hidden) }

    /// Zeros (B, H) for a batch of B sequences.
    public func beginState(batchSize: Int, on backend: Backend) throws -> RecurrentState {
        RecurrentState(h: try Tensor.zeros([batchSize, hidden], on: backend))
    }

    /// Tokens (T, B), time-major → logits (T·B, V) and the hidden state after the last step.
    public func forward(_ tokens: Tensor, state: RecurrentState) throws -> (logits: Tensor, state: RecurrentState) {
        try unrollScratch(tokens, state: state, wHQ: wHQ, bQ: bQ) { x, h in
            let z = try (Scratch.inputProduct(wXZ, x) + h.matmul(wHZ) + bZ).sigmoid()
            let r = try (Scratch.inputProduct(wXR, x) + h.matmul(wHR) + bR).sigmoid()
            let candidate = try (Scratch.inputProduct(wXH, x) + (r * h).matmul(wHH) + bH).tanh()
            return try z * h + (1 - z) * candidate
        }
    }
}

extension LanguageModelRecipe {
    /// 9.1 from scratch: hidden 256, lr 1, 500 epochs (book: ppl 1.1).
    public static let gruScratch = LanguageModelRecipe(
        RecipeListing(name: "gru-scratch", section: "9.1", enSection: "10.2", summary: "GRU language model from scratch (hidden 256)"),
        kind: .gruScratch, hidden: 256, lr: 1, bookResult: "perplexity 1.1, 19911.5 tokens/sec on cuda:0",
        en: .init(kind: .gruScratch, hidden: 32, lr: 4, epochs: 50))

    /// 9.1 concise: `nn.GRU(28, 256)`, lr 1, 500 epochs (book: ppl 1.0).
    public static let gru = LanguageModelRecipe(
        RecipeListing(name: "gru", section: "9.1", enSection: "10.2", summary: "GRU language model, concise (nn.GRU, hidden 256)"),
        kind: .gru, hidden: 256, lr: 1, bookResult: "perplexity 1.0, 109423.8 tokens/sec on cuda:0",
        en: .init(kind: .gru, hidden: 32, lr: 4, epochs: 50))
}
