// 8.6 Concise RNN (and the concise models of 9.1–9.4): the book's `RNNModel`, a PyTorch-style
// recurrent layer over one-hot input followed by `Linear(hidden·directions, V)`; and its recipe.
import Dive
import DiveData
import DiveNN

/// The book's `RNNModel(rnn_layer, vocab_size)`; parameters `rnn.*` and `linear.*`.
public final class RNNLanguageModel: Module, LanguageModel {
    /// The recurrent layer (RNN, GRU or LSTM cells) over the one-hot characters; parameters `rnn.*`.
    public let rnn: RecurrentLayer
    /// The output layer from hidden·directions to V; parameters `linear.*`.
    public let linear: Linear
    /// The number of characters V.
    public let vocabSize: Int

    /// Builds a `cell` layer of `layers` layers and `hidden` units over V one-hot inputs (both directions
    /// when `bidirectional`), then Linear(hidden·directions, V).
    public init(
        cell: CellKind, vocabSize: Int, hidden: Int, layers: Int = 1, bidirectional: Bool = false,
        on backend: Backend, rng: HostRNG
    ) throws {
        self.vocabSize = vocabSize
        rnn = try RecurrentLayer(
            cell, inputSize: vocabSize, hiddenSize: hidden, numLayers: layers,
            bidirectional: bidirectional, on: backend, rng: rng)
        linear = try Linear(hidden * (bidirectional ? 2 : 1), vocabSize, on: backend, rng: rng)
        super.init()
        register("rnn", rnn)
        register("linear", linear)
    }

    /// Kind `.rnn`, `.gru` or `.lstm` from the layer's cell, with its sizes, for checkpoints.
    public var config: LanguageModelConfig {
        LanguageModelConfig(
            kind: rnn.cell == .rnnTanh ? .rnn : rnn.cell == .gru ? .gru : .lstm, vocabSize: vocabSize,
            hidden: rnn.hiddenSize, layers: rnn.numLayers, bidirectional: rnn.bidirectional)
    }

    /// The recurrent layer's zero state for a batch of B sequences (h, and c for an LSTM).
    public func beginState(batchSize: Int, on backend: Backend) throws -> RecurrentState {
        try rnn.beginState(batchSize: batchSize, on: backend)
    }

    /// Tokens (T, B), time-major → the layer's outputs (T, B, H·directions) through `linear` as logits
    /// (T·B, V), and the new state.
    public func forward(_ tokens: Tensor, state: RecurrentState) throws -> (logits: Tensor, state: RecurrentState) {
        try checkLayout(tokens, state: state)
        let (y, next) = try rnn(oneHot: tokens, state)  // (T, B, H·dirs)
        let logits = try linear(y.reshaped([-1, y.shape[2]]))  // (T·B, V)
        return (logits, next)
    }
}

extension LanguageModelRecipe {
    /// 8.6: `nn.RNN(28, 256)`, lr 1, 500 epochs (book: ppl 1.3).
    public static let rnn = LanguageModelRecipe(
        RecipeListing(name: "rnn", section: "8.6", enSection: "9.6", summary: "RNN language model, concise (nn.RNN, hidden 256)"),
        kind: .rnn, hidden: 256, lr: 1, bookResult: "perplexity 1.3, 404413.8 tokens/sec on cuda:0",
        en: .init(kind: .rnn, hidden: 32, lr: 1, epochs: 100))
}
