// 9.2 Long short-term memory: the book's LSTM from scratch (gates I, F, O, candidate C̃, memory C)
// and the concise `nn.LSTM(28, 256)` model, with their recipes.
import Dive
import DiveNN

/// 9.2: the book's LSTM from scratch: input, forget and output gates, candidate memory C̃ and memory
/// cell C with H_t = O ⊙ tanh(C_t), then the output layer W_hq, b_q.
public final class LSTMScratch: Module, LanguageModel {
    /// The vocabulary size V (one-hot input and logits) and the hidden width H.
    public let vocabSize: Int, hidden: Int
    let wXI: Tensor, wHI: Tensor, bI: Tensor, wXF: Tensor, wHF: Tensor, bF: Tensor
    let wXO: Tensor, wHO: Tensor, bO: Tensor, wXC: Tensor, wHC: Tensor, bC: Tensor
    let wHQ: Tensor, bQ: Tensor

    /// Builds the gates', candidate's and output's parameters for V characters and H hidden units:
    /// N(0, 0.01²) weights, zero biases.
    public init(vocabSize: Int, hidden: Int, on backend: Backend, rng: HostRNG) throws {
        self.vocabSize = vocabSize; self.hidden = hidden
        let V = vocabSize, H = hidden
        func w(_ s: [Int]) throws -> Tensor { try Scratch.weight(s, on: backend, rng: rng) }
        wXI = try w([V, H]); wHI = try w([H, H]); bI = try Scratch.zeros(H, on: backend)
        wXF = try w([V, H]); wHF = try w([H, H]); bF = try Scratch.zeros(H, on: backend)
        wXO = try w([V, H]); wHO = try w([H, H]); bO = try Scratch.zeros(H, on: backend)
        wXC = try w([V, H]); wHC = try w([H, H]); bC = try Scratch.zeros(H, on: backend)
        wHQ = try w([H, V]); bQ = try Scratch.zeros(V, on: backend)
        super.init()
        for (n, p) in [
            ("W_xi", wXI), ("W_hi", wHI), ("b_i", bI), ("W_xf", wXF), ("W_hf", wHF), ("b_f", bF),
            ("W_xo", wXO), ("W_ho", wHO), ("b_o", bO), ("W_xc", wXC), ("W_hc", wHC), ("b_c", bC),
            ("W_hq", wHQ), ("b_q", bQ)
        ] { register(n, p) }
    }

    /// Kind `.lstmScratch` with its V and H, for checkpoints.
    public var config: LanguageModelConfig { LanguageModelConfig(kind: .lstmScratch, vocabSize: vocabSize, hidden: hidden) }

    /// Zeros (B, H) for both the hidden state and the memory cell of a batch of B sequences.
    public func beginState(batchSize: Int, on backend: Backend) throws -> RecurrentState {
        RecurrentState(
            h: try Tensor.zeros([batchSize, hidden], on: backend),
            c: try Tensor.zeros([batchSize, hidden], on: backend))
    }

    /// Tokens (T, B), time-major → logits (T·B, V) and the last hidden state and memory cell; throws when
    /// `state` has no memory cell.
    public func forward(_ tokens: Tensor, state: RecurrentState) throws -> (logits: Tensor, state: RecurrentState) {
        try checkLayout(tokens, state: state)
        guard var c = state.c else { throw ZooError.invalidOption("LSTM state needs a memory cell c") }
        let (logits, last) = try Scratch.unroll(tokens, from: state.h, wHQ: wHQ, bQ: bQ) { x, h in
            let i = try (Scratch.inputProduct(wXI, x) + h.matmul(wHI) + bI).sigmoid()
            let f = try (Scratch.inputProduct(wXF, x) + h.matmul(wHF) + bF).sigmoid()
            let o = try (Scratch.inputProduct(wXO, x) + h.matmul(wHO) + bO).sigmoid()
            let candidate = try (Scratch.inputProduct(wXC, x) + h.matmul(wHC) + bC).tanh()
            c = try f * c + i * candidate
            return try o * c.tanh()
        }
        return (logits, RecurrentState(h: last.h, c: c))
    }
}

extension LanguageModelRecipe {
    /// 9.2 from scratch: hidden 256, lr 1, 500 epochs (book: ppl 1.3).
    public static let lstmScratch = LanguageModelRecipe(
        RecipeListing(name: "lstm-scratch", section: "9.2", enSection: "10.1", summary: "LSTM language model from scratch (hidden 256)"),
        kind: .lstmScratch, hidden: 256, lr: 1, bookResult: "perplexity 1.3, 17736.0 tokens/sec on cuda:0",
        en: .init(kind: .lstmScratch, hidden: 32, lr: 4, epochs: 50))

    /// 9.2 concise: `nn.LSTM(28, 256)`, lr 1, 500 epochs (book: ppl 1.1).
    public static let lstm = LanguageModelRecipe(
        RecipeListing(name: "lstm", section: "9.2", enSection: "10.1", summary: "LSTM language model, concise (nn.LSTM, hidden 256)"),
        kind: .lstm, hidden: 256, lr: 1, bookResult: "perplexity 1.1, 234815.0 tokens/sec on cuda:0",
        en: .init(kind: .lstm, hidden: 32, lr: 4, epochs: 50))
}
