// 10.7 The Transformer: the book's encoder (embedding·√d + positional encoding, then encoder
// blocks) and decoder (the same, decoder blocks with the inference cache of block inputs, then a
// dense layer). At inference the decoder sees one token at a time, so every generated token gets
// position 0's encoding (the book adds P[:, :1]); this quirk is kept on purpose.
import Dive
import DiveNN
import Foundation

/// The sizes that define a Transformer; stored in checkpoints as JSON.
public struct TransformerConfig: Codable, Equatable, Sendable {
    /// The source (English) and target (French) vocabulary sizes.
    public var srcVocabSize: Int, tgtVocabSize: Int
    /// The model width d, the position-wise FFN's hidden width, the attention heads and the blocks on each
    /// side (the book: 32, 64, 4, 2 in zh; 256, 64, 4, 2 in en).
    public var numHiddens: Int, ffnHiddens: Int, numHeads: Int, numLayers: Int
    /// Dropout after the positional encoding and in every block (the book: 0.1 in zh, 0.2 in en).
    public var dropout: Float
    /// Tokens per padded source and target sequence (the book: 10).
    public var numSteps: Int
    /// A configuration from its sizes.
    public init(
        srcVocabSize: Int, tgtVocabSize: Int, numHiddens: Int, ffnHiddens: Int, numHeads: Int, numLayers: Int,
        dropout: Float, numSteps: Int
    ) {
        self.srcVocabSize = srcVocabSize; self.tgtVocabSize = tgtVocabSize; self.numHiddens = numHiddens
        self.ffnHiddens = ffnHiddens; self.numHeads = numHeads; self.numLayers = numLayers
        self.dropout = dropout; self.numSteps = numSteps
    }
}

extension TransformerEncoderBlock {
    /// An encoder block of `c`'s width, FFN width, heads and dropout.
    convenience init(_ c: TransformerConfig, on backend: Backend, rng: HostRNG) throws {
        try self.init(numHiddens: c.numHiddens, ffnHiddens: c.ffnHiddens, numHeads: c.numHeads, dropout: c.dropout, on: backend, rng: rng)
    }
}

extension TransformerDecoderBlock {
    /// Decoder block `index` of `c`'s width, FFN width, heads and dropout.
    convenience init(_ c: TransformerConfig, index: Int, on backend: Backend, rng: HostRNG) throws {
        try self.init(
            numHiddens: c.numHiddens, ffnHiddens: c.ffnHiddens, numHeads: c.numHeads, dropout: c.dropout, index: index,
            on: backend, rng: rng)
    }
}

/// Children named `block0`, `block1`, … (the book's `nn.Sequential` with `add_module("block" + i)`).
public final class BlockList<Block: Module>: Module {
    /// The blocks in order, registered as `block0`, `block1`, ….
    public let blocks: [Block]
    /// A list of `blocks`, each registered as the child `block<i>`.
    public init(_ blocks: [Block]) {
        self.blocks = blocks
        super.init()
        for (i, b) in blocks.enumerated() { register("block\(i)", b) }
    }
}

/// The book's `TransformerEncoder`: `embedding`, `pos_encoding`, `blks.block<i>`.
public final class TransformerEncoder: Module {
    /// The source embedding (V_src, d), scaled by √d before the positional encoding.
    public let embedding: Embedding
    /// The sinusoidal positional encoding, with the configuration's dropout.
    public let posEncoding: PositionalEncoding
    /// The `numLayers` encoder blocks: self-attention and the position-wise FFN, each with AddNorm.
    public let blks: BlockList<TransformerEncoderBlock>
    let scale: Float

    /// Builds the embedding, positional encoding and `numLayers` encoder blocks from `c`.
    public init(_ c: TransformerConfig, on backend: Backend, rng: HostRNG) throws {
        embedding = try Embedding(c.srcVocabSize, c.numHiddens, on: backend, rng: rng)
        posEncoding = PositionalEncoding(numHiddens: c.numHiddens, dropout: c.dropout)
        blks = BlockList(try (0..<c.numLayers).map { _ in try TransformerEncoderBlock(c, on: backend, rng: rng) })
        scale = Float(c.numHiddens).squareRoot()
        super.init()
        register("embedding", embedding); register("pos_encoding", posEncoding); register("blks", blks)
    }

    /// tokens (B, T), valid lengths Int32 (B) → (B, T, H).
    public func callAsFunction(_ tokens: Tensor, validLens: Tensor?) throws -> Tensor {
        var x = try posEncoding(embedding: embedding, tokens, scale: scale)  // (B, T, H)
        for blk in blks.blocks { x = try blk(x, validLens: validLens) }
        return x
    }
}

/// The book's `TransformerDecoder`: `embedding`, `pos_encoding`, `blks.block<i>`, `dense`.
public final class TransformerDecoder: Module {
    /// The target embedding (V_tgt, d), scaled by √d before the positional encoding.
    public let embedding: Embedding
    /// The sinusoidal positional encoding, with the configuration's dropout.
    public let posEncoding: PositionalEncoding
    /// The `numLayers` decoder blocks: masked self-attention, attention over the encoder outputs and the FFN.
    public let blks: BlockList<TransformerDecoderBlock>
    /// The output layer d → V_tgt.
    public let dense: Linear
    let scale: Float

    /// Builds the embedding, positional encoding, `numLayers` decoder blocks and output layer from `c`.
    public init(_ c: TransformerConfig, on backend: Backend, rng: HostRNG) throws {
        embedding = try Embedding(c.tgtVocabSize, c.numHiddens, on: backend, rng: rng)
        posEncoding = PositionalEncoding(numHiddens: c.numHiddens, dropout: c.dropout)
        blks = BlockList(try (0..<c.numLayers).map { i in try TransformerDecoderBlock(c, index: i, on: backend, rng: rng) })
        dense = try Linear(c.numHiddens, c.tgtVocabSize, on: backend, rng: rng)
        scale = Float(c.numHiddens).squareRoot()
        super.init()
        register("embedding", embedding); register("pos_encoding", posEncoding); register("blks", blks); register("dense", dense)
    }

    /// tokens (B, T) → logits (B, T, V); positions 0..<T (T = 1 at inference: always position 0).
    public func callAsFunction(_ tokens: Tensor, state: TransformerDecoderState, causal: Bool? = nil) throws -> Tensor {
        var x = try posEncoding(embedding: embedding, tokens, scale: scale)  // (B, T, H)
        for blk in blks.blocks { x = try blk(x, state: state, causal: causal) }
        return try dense(x)
    }
}

/// The decoder state for K hypotheses with the host copy of the source lengths (for reselection).
public final class TransformerDecodingState: DecoderState {
    /// The decoder's state: the encoder outputs, the source lengths and each block's cache of its inputs.
    public let inner: TransformerDecoderState
    let lens: [Int32]
    init(_ inner: TransformerDecoderState, lens: [Int32]) { self.inner = inner; self.lens = lens }

    /// The state of hypotheses `rows`: their encoder outputs, source lengths and block caches.
    public func selecting(_ rows: [Int]) throws -> DecoderState {
        let lensTensor = try Tensor(rows.map { lens[$0] }, shape: [rows.count], on: inner.encOutputs.backend)
        let s = TransformerDecoderState(
            encOutputs: try DecoderStates.selectRows(inner.encOutputs, rows), encValidLens: lensTensor,
            blocks: inner.cache.count)
        s.cache = try inner.cache.map { try $0.map { try DecoderStates.selectRows($0, rows) } }
        return TransformerDecodingState(s, lens: rows.map { lens[$0] })
    }
}

/// The 10.7 encoder-decoder: `encoder.*`, `decoder.*`, batch-major.
public final class TransformerSeq2Seq: EncoderDecoderModel<TransformerConfig, TransformerEncoder, TransformerDecoder>, EncoderDecoder {
    /// Builds the encoder and decoder from `config` with PyTorch's default initialisation (`xavierInit`
    /// applies the book's).
    public init(_ config: TransformerConfig, on backend: Backend, rng: HostRNG) throws {
        try super.init(.transformer(config), config, on: backend, rng: rng, TransformerEncoder.init, TransformerDecoder.init)
    }

    /// Xavier uniform on every Linear weight (attention projections, FFN, dense); embeddings,
    /// LayerNorms and biases keep their defaults.
    public func xavierInit(rng: HostRNG) throws {
        try initialize(.xavierUniform(), rng: rng) {
            $0.hasSuffix(".weight") && !$0.hasSuffix("embedding.weight") && !$0.hasSuffix("ln.weight")
        }
    }

    /// src (B, T), lengths (B), decoder input (B, T) → logits (B, T, V).
    public func logits(source: Tensor, sourceValidLens: Tensor, decoderInput: Tensor) throws -> Tensor {
        let enc = try encoder(source, validLens: sourceValidLens)
        let state = TransformerDecoderState(encOutputs: enc, encValidLens: sourceValidLens, blocks: config.numLayers)
        return try decoder(decoderInput, state: state)
    }

    /// Encodes one source sentence (T) into (1, T, d) and a decoder state whose block caches are empty.
    public func beginDecoding(source: [Int32], validLength: Int32) throws -> DecoderState {
        guard let backend else { throw ZooError.invalidOption("the model has no parameters") }
        let lens = try Tensor([validLength], shape: [1], on: backend)
        let enc = try encoder(Tensor(source, shape: [1, source.count], on: backend), validLens: lens)  // (1, T, H)
        return TransformerDecodingState(
            TransformerDecoderState(encOutputs: enc, encValidLens: lens, blocks: config.numLayers),
            lens: [validLength])
    }

    /// One decoder step for K hypotheses: their last tokens (K) → logits (K, V_tgt); the state's block
    /// caches grow in place.
    public func decodeStep(_ tokens: [Int32], state: DecoderState) throws -> (logits: Tensor, state: DecoderState) {
        guard let backend, let s = state as? TransformerDecodingState else {
            throw ZooError.invalidOption("not a Transformer decoder state")
        }
        let logits = try decoder(Tensor(tokens, shape: [tokens.count, 1], on: backend), state: s.inner)  // (K, 1, V); updates the cache
        return (try logits.reshaped([tokens.count, config.tgtVocabSize]), s)
    }

    /// Whether every attention layer of the encoder and decoder keeps its weights (read from the first
    /// decoder block).
    public var recordsAttention: Bool {
        get { decoder.blks.blocks.first?.attention1.keepsWeights ?? false }
        set {
            for b in encoder.blks.blocks { b.attention.keepsWeights = newValue }
            for b in decoder.blks.blocks { b.attention1.keepsWeights = newValue; b.attention2.keepsWeights = newValue }
        }
    }

    /// Per decoder block and head: the self-attention row over the steps so far and the
    /// cross-attention row over the source positions, for hypothesis 0.
    public func lastStepAttention() throws -> [AttentionRow] {
        var rows: [AttentionRow] = []
        for (i, b) in decoder.blks.blocks.enumerated() {
            for (kind, mha) in [("self", b.attention1), ("cross", b.attention2)] {
                guard let w = mha.attention.attentionWeights else { continue }  // (K·heads, 1, Tk)
                let flat = try w.toArray(), Tk = w.shape[2]
                for h in 0..<config.numHeads {
                    rows.append(
                        AttentionRow(
                            figure: "decoder-\(kind)", panel: "block \(i + 1) head \(h + 1)",
                            row: Array(flat[(h * Tk)..<((h + 1) * Tk)])))
                }
            }
        }
        return rows
    }

    /// Per encoder block and head: the (T, T) self-attention of the last encoded sentence.
    public func lastEncoderAttention() throws -> [AttentionMatrix] {
        var out: [AttentionMatrix] = []
        for (i, b) in encoder.blks.blocks.enumerated() {
            guard let w = b.attention.attention.attentionWeights else { continue }  // (heads, T, T)
            let flat = try w.toArray(), T = w.shape[1], Tk = w.shape[2]
            for h in 0..<config.numHeads {
                let m = (0..<T).map { r in Array(flat[((h * T + r) * Tk)..<((h * T + r + 1) * Tk)]) }
                out.append(AttentionMatrix(figure: "encoder", panel: "block \(i + 1) head \(h + 1)", matrix: m))
            }
        }
        return out
    }
}
