// Transformer pieces of the book: sinusoidal positional encoding, position-wise FFN, AddNorm
// (post-norm LN(dropout(Y) + X)), and the encoder and decoder blocks (decoder with the book's
// inference cache of block inputs).
import Dive
import Foundation

/// X + P[:, :T] then dropout; P[p, 2i] = sin(p / 10000^(2i/H)), P[p, 2i+1] = cos(…). No parameters.
public final class PositionalEncoding: Module {
    /// The width H of the encoded inputs and the longest sequence (positions 0..<maxLen) the table covers.
    public let numHiddens: Int, maxLen: Int
    /// Dropout applied to the sum of the inputs and their positional encodings.
    public let dropout: Dropout
    /// P (maxLen, H) on the host.
    public let table: [Float]
    private var cache: [Int: Tensor] = [:]

    /// Positional encoding (section 10.6) over `numHiddens` features, its (maxLen, numHiddens) sine/cosine table computed in Float32 as PyTorch does.
    public init(numHiddens: Int, dropout: Float, maxLen: Int = 1000) {
        self.numHiddens = numHiddens; self.maxLen = maxLen
        self.dropout = Dropout(dropout)
        var p = [Float](repeating: 0, count: maxLen * numHiddens)
        for pos in 0..<maxLen {
            for i in stride(from: 0, to: numHiddens, by: 2) {
                // Float32 as PyTorch computes it: pos / 10000^(i/H).
                let angle = Float(pos) / Float(pow(10000, Double(i) / Double(numHiddens)))
                p[pos * numHiddens + i] = sin(angle)
                if i + 1 < numHiddens { p[pos * numHiddens + i + 1] = cos(angle) }
            }
        }
        table = p
        super.init()
        register("dropout", self.dropout)
    }

    /// x (B, T, H) → (B, T, H), positions starting at `offset`.
    public func callAsFunction(_ x: Tensor, offset: Int = 0) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == numHiddens else {
            throw DiveError.shapeMismatch(op: "PositionalEncoding", detail: "input \(x.shape) needs (B, T, \(numHiddens))")
        }
        return try dropout(x + positions(x.shape[1], offset: offset, on: x.backend))
    }

    /// `self(embedding(tokens) · scale, offset:)` in one launch: tokens (B, T) → (B, T, H).
    public func callAsFunction(embedding: Embedding, _ tokens: Tensor, scale: Float, offset: Int = 0) throws -> Tensor {
        guard tokens.rank == 2, embedding.weight.shape[1] == numHiddens else {
            throw DiveError.shapeMismatch(
                op: "PositionalEncoding", detail: "tokens \(tokens.shape) need (B, T) and an embedding of \(numHiddens) columns")
        }
        let p = isTraining ? dropout.p : 0
        return try Tensor.embedding(
            embedding.weight, indices: tokens, scale: scale,
            positions: positions(tokens.shape[1], offset: offset, on: tokens.backend),
            dropout: p, stream: p > 0 ? randomStream : nil)
    }

    /// P[offset ..< offset + T] as a (1, T, H) device tensor, uploaded once per shape.
    private func positions(_ T: Int, offset: Int, on backend: Backend) throws -> Tensor {
        guard offset >= 0, offset + T <= maxLen else {
            throw DiveError.shapeMismatch(op: "PositionalEncoding", detail: "\(T) steps at offset \(offset) need at most \(maxLen)")
        }
        let key = offset * maxLen + T
        if let cached = cache[key], cached.backend === backend { return cached }
        let p = try Tensor(Array(table[(offset * numHiddens)..<((offset + T) * numHiddens)]), shape: [1, T, numHiddens], on: backend)
        cache[key] = p
        return p
    }
}

/// Linear → ReLU → Linear (`dense1`, `dense2`, with biases).
public final class PositionWiseFFN: Module {
    /// The first layer (inputs → hiddens, followed by ReLU) and the second (hiddens → outputs).
    public let dense1: Linear, dense2: Linear
    /// A position-wise feed-forward network (section 10.7) of `inputs` → `hiddens` → `outputs` features, drawn from `rng`.
    public init(_ inputs: Int, _ hiddens: Int, _ outputs: Int, on backend: Backend, rng: HostRNG) throws {
        dense1 = try Linear(inputs, hiddens, on: backend, rng: rng)
        dense2 = try Linear(hiddens, outputs, on: backend, rng: rng)
        super.init()
        register("dense1", dense1); register("dense2", dense2)
    }
    /// x (..., inputs) → (..., outputs), the same two-layer MLP at every position, the ReLU fused into the first GEMM.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try dense2(dense1(x, relu: true)) }
}

/// Post-norm residual: LN(dropout(Y) + X), parameters `ln.weight`, `ln.bias`.
public final class AddNorm: Module {
    /// The dropout on the sublayer output Y and the layer normalisation of the sum.
    public let dropout: Dropout, ln: LayerNorm
    /// A residual connection and layer normalisation (section 10.7) over a last axis of `normSize` features.
    public init(_ normSize: Int, dropout: Float, on backend: Backend) throws {
        self.dropout = Dropout(dropout)
        ln = try LayerNorm(normSize, on: backend)
        super.init()
        register("dropout", self.dropout); register("ln", ln)
    }
    /// LN(dropout(Y) + X) in one fused launch (the dropout module's stream and training mode).
    public func callAsFunction(_ x: Tensor, _ y: Tensor) throws -> Tensor {
        let p = dropout.isTraining ? dropout.p : 0
        return try Tensor.addNorm(x, y, gamma: ln.weight, beta: ln.bias, eps: ln.eps, dropout: p, stream: dropout.randomStream)
    }
}

/// The book's `EncoderBlock`: MHA → AddNorm → FFN → AddNorm.
public final class TransformerEncoderBlock: Module {
    /// The self-attention and its AddNorm, then the feed-forward network and its AddNorm, registered under these names.
    public let attention: MultiHeadAttention, addnorm1: AddNorm, ffn: PositionWiseFFN, addnorm2: AddNorm

    /// An encoder block (section 10.7) of width `numHiddens` with `numHeads` heads and an FFN of `ffnHiddens` hidden units.
    public init(
        numHiddens: Int, ffnHiddens: Int, numHeads: Int, dropout: Float, useBias: Bool = false,
        on backend: Backend, rng: HostRNG
    ) throws {
        attention = try MultiHeadAttention(
            keySize: numHiddens, querySize: numHiddens, valueSize: numHiddens, numHiddens: numHiddens,
            numHeads: numHeads, dropout: dropout, bias: useBias, on: backend, rng: rng)
        addnorm1 = try AddNorm(numHiddens, dropout: dropout, on: backend)
        ffn = try PositionWiseFFN(numHiddens, ffnHiddens, numHiddens, on: backend, rng: rng)
        addnorm2 = try AddNorm(numHiddens, dropout: dropout, on: backend)
        super.init()
        register("attention", attention); register("addnorm1", addnorm1); register("ffn", ffn); register("addnorm2", addnorm2)
    }

    /// x (B, T, H), validLens Int32 (B) → (B, T, H).
    public func callAsFunction(_ x: Tensor, validLens: Tensor?) throws -> Tensor {
        let y = try addnorm1(x, attention(x, x, x, validLens: validLens))
        return try addnorm2(y, ffn(y))
    }
}

/// The decoder's state: encoder outputs and lengths, and per block the concatenation of all
/// previous block inputs (the book's inference cache, written in training too, as the book does).
public final class TransformerDecoderState {
    /// The encoder's outputs (B, T_enc, H), the keys and values of every block's cross-attention.
    public var encOutputs: Tensor
    /// The valid lengths of the source sentences, Int32 (B), masking the cross-attention; nil for none.
    public var encValidLens: Tensor?
    /// Per block, its inputs so far concatenated along time, (B, steps, H): the keys and values of its self-attention; nil until the block first runs.
    public var cache: [Tensor?]
    /// A fresh state for a decoder of `blocks` blocks over the given encoder outputs, every cache empty.
    public init(encOutputs: Tensor, encValidLens: Tensor?, blocks: Int) {
        self.encOutputs = encOutputs; self.encValidLens = encValidLens
        cache = Array(repeating: nil, count: blocks)
    }
}

/// The book's `DecoderBlock` i: masked self-attention (causal valid lengths 1…T in training;
/// cached inputs as keys and values at inference), AddNorm, cross-attention, AddNorm, FFN, AddNorm.
public final class TransformerDecoderBlock: Module {
    /// The block's position i in the decoder, selecting its entry of `state.cache`.
    public let index: Int
    /// The self-attention over the block's inputs (causal in training) and its AddNorm.
    public let attention1: MultiHeadAttention, addnorm1: AddNorm
    /// The encoder-decoder (cross-) attention and its AddNorm.
    public let attention2: MultiHeadAttention, addnorm2: AddNorm
    /// The position-wise feed-forward network and its AddNorm.
    public let ffn: PositionWiseFFN, addnorm3: AddNorm

    /// Decoder block `index` (section 10.7) of width `numHiddens` with `numHeads` heads and an FFN of `ffnHiddens` hidden units.
    public init(
        numHiddens: Int, ffnHiddens: Int, numHeads: Int, dropout: Float, index: Int, useBias: Bool = false,
        on backend: Backend, rng: HostRNG
    ) throws {
        self.index = index
        func mha() throws -> MultiHeadAttention {
            try MultiHeadAttention(
                keySize: numHiddens, querySize: numHiddens, valueSize: numHiddens, numHiddens: numHiddens,
                numHeads: numHeads, dropout: dropout, bias: useBias, on: backend, rng: rng)
        }
        attention1 = try mha()
        addnorm1 = try AddNorm(numHiddens, dropout: dropout, on: backend)
        attention2 = try mha()
        addnorm2 = try AddNorm(numHiddens, dropout: dropout, on: backend)
        ffn = try PositionWiseFFN(numHiddens, ffnHiddens, numHiddens, on: backend, rng: rng)
        addnorm3 = try AddNorm(numHiddens, dropout: dropout, on: backend)
        super.init()
        register("attention1", attention1); register("addnorm1", addnorm1)
        register("attention2", attention2); register("addnorm2", addnorm2)
        register("ffn", ffn); register("addnorm3", addnorm3)
    }

    /// x (B, T, H) → (B, T, H); updates `state.cache[index]`. The self-attention is causal in
    /// training (the book's `dec_valid_lens`) and unmasked in eval; `causal` overrides that (an
    /// uncached recomputation of a whole prefix in eval mode needs it).
    public func callAsFunction(_ x: Tensor, state: TransformerDecoderState, causal: Bool? = nil) throws -> Tensor {
        let keyValues = try state.cache[index].map { try Tensor.concat([$0, x], axis: 1) } ?? x
        state.cache[index] = keyValues
        var decLens: Tensor?
        if causal ?? isTraining {
            let B = x.shape[0], T = x.shape[1]
            decLens = try Tensor((0..<(B * T)).map { Int32($0 % T + 1) }, shape: [B, T], on: x.backend)
        }
        let y = try addnorm1(x, attention1(x, keyValues, keyValues, validLens: decLens))
        let z = try addnorm2(y, attention2(y, state.encOutputs, state.encOutputs, validLens: state.encValidLens))
        return try addnorm3(z, ffn(z))
    }
}
