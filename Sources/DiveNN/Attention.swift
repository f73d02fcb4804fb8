// Attention layers of the book: scaled dot-product (with valid lengths and dropout on the
// weights), additive (Bahdanau) and multi-head attention (batch-major head split, lengths
// repeated per head, no bias by default). Weights are kept for inspection when asked.
import Dive

/// softmax(QKᵀ/√d masked by validLens) V with dropout on the weights, fused (dropout inside the
/// attention kernels, the same mask as the book's `self.dropout(self.attention_weights)`).
public final class DotProductAttention: Module {
    /// The probability of dropping an attention weight in training mode (0 turns dropout off).
    public let dropout: Float
    /// Keep the last call's weights (B, Tq, Tk) in `attentionWeights`.
    public var keepsWeights = false
    /// The last call's attention weights (B, Tq, Tk) when `keepsWeights` is on, else nil.
    public private(set) var attentionWeights: Tensor?

    /// Scaled dot-product attention (section 10.3) dropping weights with probability `dropout` in training; it has no parameters.
    public init(dropout: Float) { self.dropout = dropout; super.init() }

    /// q (B, Tq, d), k (B, Tk, d), v (B, Tk, dv); validLens Int32 (B) or (B, Tq) → (B, Tq, dv).
    /// With `heads` h, d and dv hold h heads side by side (see `Tensor.attention`).
    public func callAsFunction(_ q: Tensor, _ k: Tensor, _ v: Tensor, validLens: Tensor? = nil, heads: Int = 1) throws -> Tensor {
        try run(validLens) { lens, p, stream in
            try Tensor.attention(query: q, key: k, value: v, validLens: lens, heads: heads, dropout: p, stream: stream)
        }
    }

    /// Self-attention over packed projections qkv (B, T, 3·d) (see `Tensor.attention(packedQKV:)`).
    public func callAsFunction(packedQKV qkv: Tensor, validLens: Tensor? = nil, heads: Int = 1) throws -> Tensor {
        try run(validLens) { lens, p, stream in
            try Tensor.attention(packedQKV: qkv, validLens: lens, heads: heads, dropout: p, stream: stream)
        }
    }

    /// q (B, Tq, d) over packed keys and values kv (B, Tk, 2·d) (see `Tensor.attention(query:packedKV:)`).
    public func callAsFunction(_ q: Tensor, packedKV kv: Tensor, validLens: Tensor? = nil, heads: Int = 1) throws -> Tensor {
        try run(validLens) { lens, p, stream in
            try Tensor.attention(query: q, packedKV: kv, validLens: lens, heads: heads, dropout: p, stream: stream)
        }
    }

    /// Runs one attention call with the lengths flattened and this module's dropout (training
    /// only), and keeps its weights if asked.
    private func run(_ validLens: Tensor?, _ attend: (Tensor?, Float, RandomStream?) throws -> AttentionResult) throws -> Tensor {
        let training = isTraining && dropout > 0
        let r = try attend(validLens.map { try flatLens($0) }, training ? dropout : 0, training ? randomStream : nil)
        attentionWeights = keepsWeights ? r.weights : nil
        return r.output
    }
}

/// 1-D view of valid lengths (B) or (B, Tq).
func flatLens(_ lens: Tensor) throws -> Tensor { lens.rank == 1 ? lens : try lens.reshaped([lens.count]) }

/// Bahdanau attention: scores w_vᵀ tanh(W_q q + W_k k), no biases; parameters `W_k`, `W_q`, `w_v`.
public final class AdditiveAttention: Module {
    /// The key projection (keySize → H), query projection (querySize → H) and scoring vector (H → 1), all without bias.
    public let W_k: Linear, W_q: Linear, w_v: Linear
    /// Dropout applied to the attention weights before they weight the values.
    public let dropout: Dropout
    /// Keep the last call's weights (B, Tq, Tk) in `attentionWeights`.
    public var keepsWeights = false
    /// The last call's attention weights (B, Tq, Tk), detached, when `keepsWeights` is on, else nil.
    public private(set) var attentionWeights: Tensor?

    /// Additive attention (section 10.3, used by Bahdanau's decoder in 10.4) with `numHiddens` hidden units, drawing PyTorch's default initialisation from `rng`.
    public init(keySize: Int, querySize: Int, numHiddens: Int, dropout: Float, on backend: Backend, rng: HostRNG) throws {
        W_k = try Linear(keySize, numHiddens, bias: false, on: backend, rng: rng)
        W_q = try Linear(querySize, numHiddens, bias: false, on: backend, rng: rng)
        w_v = try Linear(numHiddens, 1, bias: false, on: backend, rng: rng)
        self.dropout = Dropout(dropout)
        super.init()
        register("W_k", W_k); register("W_q", W_q); register("w_v", w_v); register("dropout", self.dropout)
    }

    /// q (B, Tq, querySize), k (B, Tk, keySize), v (B, Tk, dv) → (B, Tq, dv).
    public func callAsFunction(_ q: Tensor, _ k: Tensor, _ v: Tensor, validLens: Tensor? = nil) throws -> Tensor {
        try self(q, projectedKeys: projectKeys(k), v, validLens: validLens)
    }

    /// W_k k: k (B, Tk, keySize) → (B, Tk, H). A decoder whose keys stay fixed over its steps
    /// projects them once (the book recomputes the same product every step).
    public func projectKeys(_ k: Tensor) throws -> Tensor { try W_k(k) }

    /// As `callAsFunction(q, k, v)` with `projectedKeys` = `projectKeys(k)` (B, Tk, H).
    public func callAsFunction(_ q: Tensor, projectedKeys: Tensor, _ v: Tensor, validLens: Tensor? = nil) throws -> Tensor {
        let B = q.shape[0], Tq = q.shape[1], Tk = projectedKeys.shape[1], H = W_q.outFeatures
        let qh = try W_q(q).reshaped([B, Tq, 1, H]), kh = try projectedKeys.reshaped([B, 1, Tk, H])
        let features = try (qh + kh).tanh()  // (B, Tq, Tk, H)
        let scores = try w_v(features).reshaped([B, Tq, Tk])
        let weights = try scores.maskedSoftmax(validLens: validLens.map { try flatLens($0) })
        attentionWeights = keepsWeights ? weights.detached() : nil
        return try dropout(weights).bmm(v)
    }
}

/// Multi-head attention: W_q, W_k, W_v, W_o (bias off by default), heads batch-major as the book
/// splits them ((B·heads, T, H/heads) weights), valid lengths shared by the heads, scaled
/// dot-product attention reading the heads in place.
/// When queries, keys and values are one size and there is no bias, W_q, W_k and W_v are row blocks
/// of one (3·H, size) matrix (the parameters keep their names and shapes): self-attention then
/// projects Q, K and V in one GEMM, and attention to one memory projects K and V in one.
public final class MultiHeadAttention: Module {
    /// The number of heads `h`; `numHiddens` is split into `h` blocks of `numHiddens / h`.
    public let numHeads: Int
    /// The query, key and value projections (size → numHiddens) and the output projection (numHiddens → numHiddens).
    public let W_q: Linear, W_k: Linear, W_v: Linear, W_o: Linear
    /// The scaled dot-product attention applied to every head, holding the dropout and kept weights.
    public let attention: DotProductAttention
    /// Whether W_q, W_k, W_v lie one after another in one matrix (packed projections).
    public let packsProjections: Bool

    /// Multi-head attention (section 10.5) with `numHeads` heads over `numHiddens` units; throws unless `numHeads` divides `numHiddens`.
    public init(
        keySize: Int, querySize: Int, valueSize: Int, numHiddens: Int, numHeads: Int, dropout: Float,
        bias: Bool = false, on backend: Backend, rng: HostRNG
    ) throws {
        guard numHiddens % numHeads == 0 else {
            throw DiveError.invalidArgument(
                op: "MultiHeadAttention", detail: "\(numHiddens) hidden units do not split into \(numHeads) heads")
        }
        self.numHeads = numHeads
        attention = DotProductAttention(dropout: dropout)
        if querySize == keySize && keySize == valueSize && !bias {
            // The same draws as three Linear layers made one after another.
            let H = numHiddens
            let stacked = try Initializer.pytorchUniform(fan: querySize).make([3 * H, querySize], on: backend, rng: rng)
            W_q = try Linear(weight: stacked.slice(axis: 0, 0..<H))
            W_k = try Linear(weight: stacked.slice(axis: 0, H..<(2 * H)))
            W_v = try Linear(weight: stacked.slice(axis: 0, (2 * H)..<(3 * H)))
        } else {
            W_q = try Linear(querySize, numHiddens, bias: bias, on: backend, rng: rng)
            W_k = try Linear(keySize, numHiddens, bias: bias, on: backend, rng: rng)
            W_v = try Linear(valueSize, numHiddens, bias: bias, on: backend, rng: rng)
        }
        // Packed only where the blocks are views of one matrix (the device could start buffers there).
        packsProjections = Tensor.joinWithoutCopy([W_q.weight, W_k.weight, W_v.weight])
        W_o = try Linear(numHiddens, numHiddens, bias: bias, on: backend, rng: rng)
        super.init()
        register("attention", attention)
        register("W_q", W_q); register("W_k", W_k); register("W_v", W_v); register("W_o", W_o)
    }

    /// Keep the per-head weights (B·heads, Tq, Tk) in `attention.attentionWeights`.
    public var keepsWeights: Bool {
        get { attention.keepsWeights }
        set { attention.keepsWeights = newValue }
    }

    /// q (B, Tq, ·), k, v (B, Tk, ·); validLens Int32 (B) or (B, Tq) → (B, Tq, numHiddens).
    public func callAsFunction(_ q: Tensor, _ k: Tensor, _ v: Tensor, validLens: Tensor? = nil) throws -> Tensor {
        // The book's repeat_interleave over heads needs no copy: the heads of an item share its
        // lengths, (B) or (B, Tq), in the kernels.
        // The projections hold the heads side by side; attention reads them in place (the book's
        // transpose_qkv and transpose_output, without the copies).
        if packsProjections && q === k && k === v {
            let qkv = try q.matmul(Tensor.concat([W_q.weight, W_k.weight, W_v.weight], axis: 0), transposeB: true)  // (B, T, 3H)
            return try W_o(attention(packedQKV: qkv, validLens: validLens, heads: numHeads))
        }
        if packsProjections && k === v {
            let kv = try k.matmul(Tensor.concat([W_k.weight, W_v.weight], axis: 0), transposeB: true)  // (B, Tk, 2H)
            return try W_o(attention(W_q(q), packedKV: kv, validLens: validLens, heads: numHeads))
        }
        return try W_o(attention(W_q(q), W_k(k), W_v(v), validLens: validLens, heads: numHeads))
    }
}
