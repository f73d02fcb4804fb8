// 9.7 Sequence-to-sequence learning: the book's GRU encoder-decoder. The encoder embeds the
// source and runs a multi-layer GRU; the zh decoder feeds [embedding; top layer of its *current*
// state] to its GRU and a dense layer to the target vocabulary.
import Dive
import DiveNN

/// The sizes that define a seq2seq model; stored in checkpoints as JSON.
public struct Seq2SeqConfig: Codable, Equatable, Sendable {
    /// The source (English) and target (French) vocabulary sizes.
    public var srcVocabSize: Int, tgtVocabSize: Int
    /// The embedding width, the GRUs' hidden width and their number of layers (the book: 32, 32, 2 in zh;
    /// 256, 256, 2 in en).
    public var embedSize: Int, hidden: Int, layers: Int
    /// Dropout between the GRUs' layers (the book: 0.1 in zh, 0.2 in en).
    public var dropout: Float
    /// Tokens per padded source and target sequence (the book: 10).
    public var numSteps: Int
    /// A configuration from its sizes.
    public init(srcVocabSize: Int, tgtVocabSize: Int, embedSize: Int, hidden: Int, layers: Int, dropout: Float, numSteps: Int) {
        self.srcVocabSize = srcVocabSize; self.tgtVocabSize = tgtVocabSize
        self.embedSize = embedSize; self.hidden = hidden; self.layers = layers; self.dropout = dropout; self.numSteps = numSteps
    }
}

/// The book's `Seq2SeqEncoder`: Embedding(V, E) → GRU(E, H, L, dropout). Parameters `embedding.*`, `rnn.*`.
public final class Seq2SeqEncoder: Module {
    /// The source embedding (V_src, E).
    public let embedding: Embedding
    /// The encoder's GRU: E → H over L layers.
    public let rnn: GRU

    /// Builds the embedding and GRU from `c`'s source vocabulary, embedding, hidden, layer and dropout sizes.
    public init(_ c: Seq2SeqConfig, on backend: Backend, rng: HostRNG) throws {
        embedding = try Embedding(c.srcVocabSize, c.embedSize, on: backend, rng: rng)
        rnn = try GRU(inputSize: c.embedSize, hiddenSize: c.hidden, numLayers: c.layers, dropout: c.dropout, on: backend, rng: rng)
        super.init()
        register("embedding", embedding)
        register("rnn", rnn)
    }

    /// Source tokens time-major (T, B) → outputs (T, B, H) and state (L, B, H).
    public func callAsFunction(_ tokens: Tensor) throws -> (outputs: Tensor, state: Tensor) {
        let (out, state) = try rnn(embedding(tokens))  // embedding (T, B, E)
        return (out, state.h)
    }
}

extension Seq2SeqConfig {
    /// What both GRU decoders (9.7, 10.4) are built on, in this order: the target embedding (V_tgt, E),
    /// the GRU over the embedding and a context of H (E + H → H over L layers), and the output layer
    /// H → V_tgt.
    func decoderLayers(on backend: Backend, rng: HostRNG) throws -> (Embedding, GRU, Linear) {
        let embedding = try Embedding(tgtVocabSize, embedSize, on: backend, rng: rng)
        let rnn = try GRU(
            inputSize: embedSize + hidden, hiddenSize: hidden, numLayers: layers, dropout: dropout, on: backend, rng: rng)
        let dense = try Linear(hidden, tgtVocabSize, on: backend, rng: rng)
        return (embedding, rnn, dense)
    }
}

/// The zh book's `Seq2SeqDecoder`: the context is the top layer of the decoder's current state,
/// repeated over the steps. Parameters `embedding.*`, `rnn.*`, `dense.*`.
public final class Seq2SeqDecoder: Module {
    /// The target embedding (V_tgt, E).
    public let embedding: Embedding
    /// The decoder's GRU over [embedding; context]: E + H → H over L layers.
    public let rnn: GRU
    /// The output layer H → V_tgt.
    public let dense: Linear

    /// Builds the embedding, GRU and output layer from `c`'s target vocabulary and sizes.
    public init(_ c: Seq2SeqConfig, on backend: Backend, rng: HostRNG) throws {
        (embedding, rnn, dense) = try c.decoderLayers(on: backend, rng: rng)
        super.init()
        register("embedding", embedding)
        register("rnn", rnn)
        register("dense", dense)
    }

    /// Target tokens time-major (T, B) and state (L, B, H) → logits (T, B, V) and the new state.
    public func callAsFunction(_ tokens: Tensor, state: Tensor) throws -> (logits: Tensor, state: Tensor) {
        let T = tokens.shape[0], L = state.shape[0], B = state.shape[1], H = state.shape[2]
        let emb = try embedding(tokens)  // (T, B, E)
        let top = try (L == 1 ? state : state.slice(axis: 0, (L - 1)..<L))  // (1, B, H)
        let context = try top.broadcast(to: [T, B, H])  // (T, B, H)
        let (out, next) = try rnn(Tensor.concat([emb, context], axis: 2), RecurrentState(h: state))  // (T, B, H)
        return (try dense(out), next.h)
    }
}

/// The book's `EncoderDecoder` for the GRU seq2seq model; parameters `encoder.*`, `decoder.*`.
public final class Seq2Seq: EncoderDecoderModel<Seq2SeqConfig, Seq2SeqEncoder, Seq2SeqDecoder>, EncoderDecoder {
    /// Builds the GRU encoder and decoder from `config` with PyTorch's default initialisation
    /// (`xavierInit` applies the book's).
    public init(_ config: Seq2SeqConfig, on backend: Backend, rng: HostRNG) throws {
        try super.init(.seq2seq(config), config, on: backend, rng: rng, Seq2SeqEncoder.init, Seq2SeqDecoder.init)
    }

    /// The book's `xavier_init_weights`: Xavier uniform on every Linear weight and every GRU
    /// weight matrix; biases keep PyTorch's defaults and embeddings N(0, 1).
    public func xavierInit(rng: HostRNG) throws {
        try initialize(.xavierUniform(), rng: rng) { $0.contains("rnn.weight_") || $0.hasSuffix("dense.weight") }
    }

    /// src (T, B), decoder input (T, B), both time-major → logits (T, B, V_tgt).
    public func callAsFunction(source: Tensor, decoderInput: Tensor) throws -> Tensor {
        let (_, state) = try encoder(source)
        return try decoder(decoderInput, state: state).logits
    }

    // EncoderDecoder: time-major; the encoder ignores the source lengths, as in the book.
    /// The GRU model has no attention: nothing is recorded.
    public var recordsAttention = false

    /// Teacher-forced logits (T, B, V_tgt); the source valid lengths are ignored, as in the book.
    public func logits(source: Tensor, sourceValidLens: Tensor, decoderInput: Tensor) throws -> Tensor {
        try self(source: source, decoderInput: decoderInput)
    }

    /// Encodes one source sentence (T) into the decoder's initial state (L, 1, H).
    public func beginDecoding(source: [Int32], validLength: Int32) throws -> DecoderState {
        guard let backend else { throw ZooError.invalidOption("the model has no parameters") }
        return RecurrentDecoderState(try encoder(Tensor(source, shape: [source.count, 1], on: backend)).state)  // (L, 1, H)
    }

    /// One decoder step for K hypotheses: their last tokens (K) → logits (K, V_tgt) and the state (L, K, H).
    public func decodeStep(_ tokens: [Int32], state: DecoderState) throws -> (logits: Tensor, state: DecoderState) {
        guard let backend, let s = state as? RecurrentDecoderState else { throw ZooError.invalidOption("not a seq2seq decoder state") }
        let K = tokens.count
        let (logits, next) = try decoder(Tensor(tokens, shape: [1, K], on: backend), state: s.h)  // (1, K, V)
        return (try logits.reshaped([K, config.tgtVocabSize]), RecurrentDecoderState(next))
    }

    /// Empty: the GRU model has no attention.
    public func lastStepAttention() throws -> [AttentionRow] { [] }
}
