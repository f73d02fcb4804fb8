// 10.4 Bahdanau attention: the 9.7 GRU encoder, and a decoder that at every step attends over
// the encoder outputs with additive attention (query = top layer of its hidden state, keys and
// values = encoder outputs, masked by the source lengths) and feeds [context; embedding] to its GRU.
import Dive
import DiveNN

/// The book's `(enc_outputs, hidden_state, enc_valid_lens)` for K hypotheses, plus the keys'
/// projection W_k·enc_outputs, which stays fixed while decoding.
public final class BahdanauState: DecoderState {
    /// The encoder's outputs (K, T, H), batch-major: the attention's values.
    public let encOutputs: Tensor  // (K, T, H)
    /// W_k · enc_outputs (K, T, H), the attention's projected keys.
    public let projectedKeys: Tensor  // (K, T, H)
    /// The decoder GRU's state (L, K, H).
    public let hidden: Tensor  // (L, K, H)
    /// Each hypothesis's source length with `<eos>` (K): keys past it are masked.
    public let validLens: [Int32]  // (K)
    let lensTensor: Tensor

    init(encOutputs: Tensor, projectedKeys: Tensor, hidden: Tensor, validLens: [Int32]) throws {
        self.encOutputs = encOutputs; self.projectedKeys = projectedKeys; self.hidden = hidden; self.validLens = validLens
        lensTensor = try Tensor(validLens, shape: [validLens.count], on: hidden.backend)
    }

    func with(hidden: Tensor) throws -> BahdanauState {
        try BahdanauState(encOutputs: encOutputs, projectedKeys: projectedKeys, hidden: hidden, validLens: validLens)
    }

    /// The state of hypotheses `rows`: their encoder outputs, keys, GRU state and lengths.
    public func selecting(_ rows: [Int]) throws -> DecoderState {
        try BahdanauState(
            encOutputs: DecoderStates.selectRows(encOutputs, rows),
            projectedKeys: DecoderStates.selectRows(projectedKeys, rows),
            hidden: DecoderStates.selectAxis1(hidden, rows), validLens: rows.map { validLens[$0] })
    }
}

/// The book's `Seq2SeqAttentionDecoder`; parameters `attention.*`, `embedding.*`, `rnn.*`, `dense.*`.
public final class Seq2SeqAttentionDecoder: Module {
    /// Additive attention with key, query and hidden sizes H and the configuration's dropout.
    public let attention: AdditiveAttention
    /// The target embedding (V_tgt, E).
    public let embedding: Embedding
    /// The decoder's GRU over [context; embedding]: H + E → H over L layers.
    public let rnn: GRU
    /// The output layer H → V_tgt.
    public let dense: Linear
    let hidden: Int

    /// Builds the attention, embedding, GRU and output layer from `c`'s target vocabulary and sizes.
    public init(_ c: Seq2SeqConfig, on backend: Backend, rng: HostRNG) throws {
        hidden = c.hidden
        attention = try AdditiveAttention(
            keySize: c.hidden, querySize: c.hidden, numHiddens: c.hidden, dropout: c.dropout,
            on: backend, rng: rng)
        (embedding, rnn, dense) = try c.decoderLayers(on: backend, rng: rng)
        super.init()
        register("attention", attention); register("embedding", embedding); register("rnn", rnn); register("dense", dense)
    }

    /// `init_state`: encoder outputs (T, B, H) and state (L, B, H), source lengths (B).
    public func initState(encOutputs: Tensor, hidden: Tensor, validLens: [Int32]) throws -> BahdanauState {
        let outputs = try encOutputs.permuted([1, 0, 2])  // (B, T, H)
        return try BahdanauState(
            encOutputs: outputs, projectedKeys: attention.projectKeys(outputs), hidden: hidden,
            validLens: validLens)
    }

    /// Target tokens time-major (T, B) → logits (T, B, V) and the new state, one attention per step.
    public func callAsFunction(_ tokens: Tensor, state: BahdanauState) throws -> (logits: Tensor, state: BahdanauState) {
        let T = tokens.shape[0], B = tokens.shape[1], H = hidden
        let emb = try embedding(tokens)  // (T, B, E)
        var h = state.hidden  // (L, B, H)
        var outputs: [Tensor] = []
        for t in 0..<T {
            let L = h.shape[0]
            let query = try (L == 1 ? h : h.slice(axis: 0, (L - 1)..<L)).reshaped([B, 1, H])  // (B, 1, H)
            let context = try attention(
                query, projectedKeys: state.projectedKeys, state.encOutputs,
                validLens: state.lensTensor)  // (B, 1, H)
            let x = try T == 1 ? emb : emb.slice(axis: 0, t..<(t + 1))  // (1, B, E)
            let input = try Tensor.concat([context.reshaped([1, B, H]), x], axis: 2)  // (1, B, H + E)
            let (out, next) = try rnn(input, RecurrentState(h: h))  // (1, B, H)
            outputs.append(out)
            h = next.h
        }
        let out = try T == 1 ? outputs[0] : Tensor.concat(outputs, axis: 0)  // (T, B, H)
        return (try dense(out), try state.with(hidden: h))
    }
}

/// The 10.4 encoder-decoder: `encoder.*` (the 9.7 GRU encoder), `decoder.*`.
public final class BahdanauSeq2Seq: EncoderDecoderModel<Seq2SeqConfig, Seq2SeqEncoder, Seq2SeqAttentionDecoder>, EncoderDecoder {
    /// Builds the 9.7 GRU encoder and the attention decoder from `config` with PyTorch's default
    /// initialisation (`xavierInit` applies the book's).
    public init(_ config: Seq2SeqConfig, on backend: Backend, rng: HostRNG) throws {
        try super.init(.bahdanau(config), config, on: backend, rng: rng, Seq2SeqEncoder.init, Seq2SeqAttentionDecoder.init)
    }

    /// Xavier uniform on every Linear weight (attention and dense) and GRU weight matrix.
    public func xavierInit(rng: HostRNG) throws {
        try initialize(.xavierUniform(), rng: rng) {
            $0.contains("rnn.weight_") || ($0.hasSuffix(".weight") && !$0.hasSuffix("embedding.weight") && !$0.contains(".rnn."))
        }
    }

    /// src (T, B), lengths (B), decoder input (T, B) → logits (T, B, V).
    public func logits(source: Tensor, sourceValidLens: Tensor, decoderInput: Tensor) throws -> Tensor {
        let (outputs, state) = try encoder(source)
        let initial = try decoder.initState(encOutputs: outputs, hidden: state, validLens: sourceValidLens.toInt32Array())
        return try decoder(decoderInput, state: initial).logits
    }

    /// Encodes one source sentence (T) into the decoder's state for one hypothesis: outputs (1, T, H),
    /// projected keys, GRU state (L, 1, H) and `validLength`.
    public func beginDecoding(source: [Int32], validLength: Int32) throws -> DecoderState {
        guard let backend else { throw ZooError.invalidOption("the model has no parameters") }
        let (outputs, state) = try encoder(Tensor(source, shape: [source.count, 1], on: backend))  // (T, 1, H), (L, 1, H)
        return try decoder.initState(encOutputs: outputs, hidden: state, validLens: [validLength])
    }

    /// One decoder step for K hypotheses: their last tokens (K) → logits (K, V_tgt) and the new state.
    public func decodeStep(_ tokens: [Int32], state: DecoderState) throws -> (logits: Tensor, state: DecoderState) {
        guard let backend, let s = state as? BahdanauState else { throw ZooError.invalidOption("not a Bahdanau decoder state") }
        let (logits, next) = try decoder(Tensor(tokens, shape: [1, tokens.count], on: backend), state: s)  // (1, K, V)
        return (try logits.reshaped([tokens.count, config.tgtVocabSize]), next)
    }

    /// Whether the decoder's attention keeps its weights for `lastStepAttention`.
    public var recordsAttention: Bool {
        get { decoder.attention.keepsWeights }
        set { decoder.attention.keepsWeights = newValue }
    }

    /// The last step's weights over the source positions for hypothesis 0.
    public func lastStepAttention() throws -> [AttentionRow] {
        guard let w = decoder.attention.attentionWeights else { return [] }  // (K, 1, T)
        return [AttentionRow(figure: "attention", panel: "", row: Array(try w.toArray().prefix(w.shape[2])))]
    }
}
