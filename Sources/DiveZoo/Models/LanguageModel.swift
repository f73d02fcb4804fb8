// The character language models of chapters 8–9 behind one protocol, their configuration (what a
// checkpoint stores to rebuild them), and the book's `predict_ch8` greedy continuation.
import Dive
import DiveData
import DiveNN

/// A recurrent language model over one-hot characters.
public protocol LanguageModel: Module {
    var vocabSize: Int { get }
    /// What `LanguageModelConfig.makeModel` builds this model from (checkpoints store it).
    var config: LanguageModelConfig { get }
    /// The book's `begin_state`: zeros for a batch.
    func beginState(batchSize: Int, on backend: Backend) throws -> RecurrentState
    /// tokens (T, B) Int32, time-major → logits (T·B, V) in time-major row order, and the state after.
    func forward(_ tokens: Tensor, state: RecurrentState) throws -> (logits: Tensor, state: RecurrentState)
}

extension LanguageModel {
    /// Throws unless `tokens` are Int32 (T, B), time-major, with the state's batch B: a batch-major
    /// (B, T) batch passed as it comes from a loader is caught here whenever B ≠ T.
    /// `LanguageModelBatch` puts a loader's batch in this layout.
    func checkLayout(_ tokens: Tensor, state: RecurrentState) throws {
        let batch = state.h.shape[state.h.rank - 2]
        guard tokens.rank == 2, tokens.shape[1] == batch else {
            throw DiveError.shapeMismatch(
                op: "LanguageModel.forward",
                detail:
                    "tokens \(tokens.shape) must be time-major (steps, batch) with the state's batch \(batch); a loader's TokenBatch goes in as LanguageModelBatch(batch, on:)"
            )
        }
    }
}

/// Which model a language-model recipe builds; stored in checkpoints as JSON.
public struct LanguageModelConfig: Codable, Equatable, Sendable {
    /// The six models: the RNN, GRU and LSTM from scratch (8.5, 9.1, 9.2) and their concise
    /// PyTorch-style layers (8.6, 9.1–9.4).
    public enum Kind: String, Codable, Sendable { case rnnScratch, gruScratch, lstmScratch, rnn, gru, lstm }
    /// Which model to build.
    public var kind: Kind
    /// The number of characters V: the width of the one-hot input and of the logits.
    public var vocabSize: Int
    /// The hidden state's width H (per layer and direction).
    public var hidden: Int
    /// The number of stacked recurrent layers (the concise models only; the scratch models have one).
    public var layers: Int = 1
    /// Whether the concise layer also runs backwards (9.4), doubling the output layer's input.
    public var bidirectional = false

    /// A configuration from its fields: one layer, one direction unless given.
    public init(kind: Kind, vocabSize: Int, hidden: Int, layers: Int = 1, bidirectional: Bool = false) {
        self.kind = kind; self.vocabSize = vocabSize; self.hidden = hidden; self.layers = layers; self.bidirectional = bidirectional
    }

    /// A freshly initialised model (the book's initialisation for each kind).
    public func makeModel(on backend: Backend, rng: HostRNG) throws -> any LanguageModel {
        switch kind {
        case .rnnScratch: return try RNNScratch(vocabSize: vocabSize, hidden: hidden, on: backend, rng: rng)
        case .gruScratch: return try GRUScratch(vocabSize: vocabSize, hidden: hidden, on: backend, rng: rng)
        case .lstmScratch: return try LSTMScratch(vocabSize: vocabSize, hidden: hidden, on: backend, rng: rng)
        case .rnn, .gru, .lstm:
            let cell: CellKind = kind == .rnn ? .rnnTanh : kind == .gru ? .gru : .lstm
            return try RNNLanguageModel(
                cell: cell, vocabSize: vocabSize, hidden: hidden, layers: layers,
                bidirectional: bidirectional, on: backend, rng: rng)
        }
    }
}

/// Greedy continuation of a text with a trained language model.
public enum LanguageModelPrediction {
    /// The book's `predict_ch8(prefix, n, net, vocab)`: batch 1, warm up on the prefix, then `n`
    /// greedy (argmax) tokens. Returns prefix + continuation: characters joined as they are, or, with
    /// `tokens` `.word`, the prefix split into words as the corpus was and the words joined by spaces.
    /// `emit` receives the text as it grows (the prefix, then each token); `stop` ends the
    /// generation early when it returns true (Ctrl-C).
    public static func predict(
        _ prefix: String, count n: Int, model: any LanguageModel, vocab: Vocab, tokens: TokenKind = .char,
        on backend: Backend, emit: ((String) -> Void)? = nil, stop: (() -> Bool)? = nil
    ) throws -> String {
        let given = tokenize([prefix], as: tokens)[0]  // Unicode scalars or words, as the corpus was split
        let separator = tokens == .word ? " " : ""
        guard !given.isEmpty else { throw ZooError.invalidOption("predict: the prefix is empty") }
        return try Autograd.withoutGrad {
            var state = try model.beginState(batchSize: 1, on: backend)
            var outputs = [vocab[given[0]]]
            func step(_ token: Int) throws -> Tensor {
                let x = try Tensor([Int32(token)], shape: [1, 1], on: backend)
                let (logits, next) = try model.forward(x, state: state)
                state = next
                return logits
            }
            for c in given.dropFirst() {  // warm-up: only the state matters
                _ = try step(outputs.last!)
                outputs.append(vocab[c])
            }
            emit?(outputs.map { vocab.token(at: $0) }.joined(separator: separator))
            for _ in 0..<n {
                if stop?() == true { break }
                let logits = try step(outputs.last!)
                outputs.append(Int(try logits.argmax(axis: 1).toInt32Array()[0]))
                emit?(separator + vocab.token(at: outputs.last!))
            }
            return outputs.map { vocab.token(at: $0) }.joined(separator: separator)
        }
    }
}
