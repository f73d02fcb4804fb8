// A decoder-only Transformer language model (GPT, en 11.9) built from the layers of 10.7:
// token and learned position embeddings, pre-LayerNorm blocks of causal multi-head
// self-attention and the position-wise FFN, a final LayerNorm, and the output layer tied to the
// token embedding. Generation samples with a temperature and top-k, the text streaming out.
import Dive
import DiveData
import DiveNN
import Foundation

/// What a GPT is built from; checkpoints store it.
public struct GPTConfig: Codable, Equatable, Sendable {
    /// The vocabulary size V, the longest context (block) T, the blocks, the heads and the width C.
    public var vocabSize: Int, blockSize: Int, layers: Int, heads: Int, width: Int
    /// Dropout after the embeddings, on the attention weights and on each residual branch.
    public var dropout: Float

    /// A configuration from its fields.
    public init(vocabSize: Int, blockSize: Int, layers: Int, heads: Int, width: Int, dropout: Float) {
        self.vocabSize = vocabSize; self.blockSize = blockSize; self.layers = layers; self.heads = heads
        self.width = width; self.dropout = dropout
    }
}

/// A pre-LayerNorm block: x + attention(LN₁(x)), then + FFN(LN₂(·)), each branch through dropout.
public final class GPTBlock: Module {
    /// The normalisations before the causal self-attention and before the FFN.
    public let ln1: LayerNorm, ln2: LayerNorm
    /// Causal multi-head self-attention (10.5), without biases.
    public let attention: MultiHeadAttention
    /// The position-wise feed-forward network (10.7): C → 4C, ReLU, → C.
    public let ffn: PositionWiseFFN
    /// Dropout on each residual branch.
    public let dropout: Dropout

    /// A block of width `width` with `heads` heads.
    public init(width: Int, heads: Int, dropout: Float, on backend: Backend, rng: HostRNG) throws {
        ln1 = try LayerNorm(width, on: backend)
        attention = try MultiHeadAttention(
            keySize: width, querySize: width, valueSize: width, numHiddens: width, numHeads: heads, dropout: dropout,
            on: backend, rng: rng)
        ln2 = try LayerNorm(width, on: backend)
        ffn = try PositionWiseFFN(width, 4 * width, width, on: backend, rng: rng)
        self.dropout = Dropout(dropout)
        super.init()
        register("ln1", ln1); register("attention", attention); register("ln2", ln2); register("ffn", ffn)
        register("dropout", self.dropout)
    }

    /// x (B, T, C), causal valid lengths Int32 (B, T) (row t sees positions 0…t) → (B, T, C).
    public func callAsFunction(_ x: Tensor, causal: Tensor) throws -> Tensor {
        let h = try ln1(x)
        let y = try x + dropout(attention(h, h, h, validLens: causal))
        return try y + dropout(ffn(ln2(y)))
    }
}

/// The GPT language model: logits for the next token at every position of a window.
public final class GPT: Module {
    /// The configuration it was built from.
    public let config: GPTConfig
    /// The token embedding (V, C), also the output layer's weight, and the learned positions (T, C).
    public let tokenEmbedding: Tensor, positionEmbedding: Tensor
    /// Dropout on the embedded window.
    public let dropout: Dropout
    /// The blocks, in order.
    public let blocks: [GPTBlock]
    /// The final normalisation before the output layer.
    public let lnFinal: LayerNorm
    /// Causal valid lengths per window shape (B·T), uploaded once.
    private var causalLens: [Int: Tensor] = [:]

    /// A freshly initialised GPT: embeddings from N(0, 0.02²) as GPT-2 draws them, the layers as 10.7's.
    public init(_ config: GPTConfig, on backend: Backend, rng: HostRNG) throws {
        guard config.vocabSize > 1, config.blockSize > 0, config.layers > 0, config.width % config.heads == 0 else {
            throw ZooError.invalidOption(
                "gpt: a vocabulary of \(config.vocabSize), block \(config.blockSize), \(config.layers) layers and \(config.heads) heads over width \(config.width) make no model"
            )
        }
        self.config = config
        tokenEmbedding = try Initializer.normal(std: 0.02).make([config.vocabSize, config.width], on: backend, rng: rng)
        positionEmbedding = try Initializer.normal(std: 0.02).make([config.blockSize, config.width], on: backend, rng: rng)
        dropout = Dropout(config.dropout)
        blocks = try (0..<config.layers).map { _ in
            try GPTBlock(width: config.width, heads: config.heads, dropout: config.dropout, on: backend, rng: rng)
        }
        lnFinal = try LayerNorm(config.width, on: backend)
        super.init()
        register("wte", tokenEmbedding); register("wpe", positionEmbedding); register("dropout", dropout)
        for (i, b) in blocks.enumerated() { register("blocks.\(i)", b) }
        register("ln_f", lnFinal)
    }

    /// tokens (B, T) Int32, T ≤ blockSize → logits (B·T, V), row b·T + t predicting token t + 1 of row b.
    public func callAsFunction(_ tokens: Tensor) throws -> Tensor {
        guard tokens.rank == 2, (1...config.blockSize).contains(tokens.shape[1]) else {
            throw DiveError.shapeMismatch(op: "GPT", detail: "tokens \(tokens.shape) need (batch, 1…\(config.blockSize))")
        }
        let B = tokens.shape[0], T = tokens.shape[1], C = config.width
        let positions = try positionEmbedding.slice(axis: 0, 0..<T).reshaped([1, T, C])
        var x = try dropout(Tensor.embedding(tokenEmbedding, indices: tokens) + positions)  // (B, T, C)
        let causal = try causalLengths(B, T, on: tokens.backend)
        for block in blocks { x = try block(x, causal: causal) }
        return try lnFinal(x).reshaped([B * T, C]).matmul(tokenEmbedding, transposeB: true)  // (B·T, V)
    }

    /// (B, T) lengths t + 1: position t attends to positions 0…t.
    private func causalLengths(_ B: Int, _ T: Int, on backend: Backend) throws -> Tensor {
        if let known = causalLens[B * T], known.shape == [B, T], known.backend === backend { return known }
        let lens = try Tensor((0..<(B * T)).map { Int32($0 % T + 1) }, shape: [B, T], on: backend)
        causalLens[B * T] = lens
        return lens
    }
}

/// Sampling a continuation from a GPT.
public enum GPTGeneration {
    /// Continues `prefix` by `count` tokens, each drawn from softmax(logits / `temperature`) over
    /// the `topK` likeliest tokens (nil: all; temperature 0: the likeliest), the context being the
    /// last `blockSize` tokens. Returns prefix + continuation (words joined by spaces); `emit` gets
    /// the text as it grows, `stop` ends it early (Ctrl-C). Draws come from `seed`.
    public static func generate(
        _ prefix: String, count n: Int, model: GPT, vocab: Vocab, tokens: TokenKind, temperature: Double = 1,
        topK: Int? = nil, seed: UInt64 = 0, emit: ((String) -> Void)? = nil, stop: (() -> Bool)? = nil
    ) throws -> String {
        guard temperature >= 0, temperature.isFinite else { throw ZooError.invalidOption("--temperature must be ≥ 0 (got \(temperature))") }
        if let topK, topK < 1 { throw ZooError.invalidOption("--top-k must be at least 1 (got \(topK))") }
        let given = tokenize([prefix], as: tokens)[0]
        guard !given.isEmpty else { throw ZooError.invalidOption("predict: the prefix is empty") }
        let separator = tokens == .word ? " " : ""
        let backend = try model.backend.orThrow()
        var ids = given.map { vocab[$0] }
        emit?(ids.map { vocab.token(at: $0) }.joined(separator: separator))
        let rng = HostRNG(seed: seed)
        try Autograd.withoutGrad {
            for _ in 0..<n {
                if stop?() == true { break }
                let context = Array(ids.suffix(model.config.blockSize))
                let logits = try model(Tensor(context.map(Int32.init), shape: [1, context.count], on: backend))
                let last = try logits.slice(axis: 0, (context.count - 1)..<context.count).toArray()  // (V)
                ids.append(sample(last.map(Double.init), temperature: temperature, topK: topK, rng: rng))
                emit?(separator + vocab.token(at: ids.last!))
            }
        }
        return ids.map { vocab.token(at: $0) }.joined(separator: separator)
    }

    /// One draw from softmax(logits / temperature) restricted to the `topK` largest logits (ties
    /// broken by index); temperature 0 takes the largest.
    static func sample(_ logits: [Double], temperature: Double, topK: Int?, rng: HostRNG) -> Int {
        let order = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        guard temperature > 0 else { return order[0] }
        let kept = order.prefix(min(topK ?? logits.count, logits.count))
        let top = logits[kept.first!]
        let weights = kept.map { Foundation.exp((logits[$0] - top) / temperature) }
        var u = rng.uniform() * weights.reduce(0, +)
        for (i, w) in zip(kept, weights) {
            u -= w
            if u <= 0 { return i }
        }
        return kept.last!
    }
}
