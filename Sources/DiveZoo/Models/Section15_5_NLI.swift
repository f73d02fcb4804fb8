// 15.5 Natural language inference: the book's decomposable attention model (Parikh et al.).
// Attend (soft alignment of the two sentences, no padding mask), compare (each token with its
// aligned phrase), aggregate (sum over tokens, pads included, then classify into 3 labels).
// Parameter names follow the book's PyTorch modules (`attend.f.1.weight`, `aggregate.h.5.bias`).
import Dive
import DiveNN

/// The sizes that define a decomposable-attention model; stored in checkpoints as JSON.
public struct NLIConfig: Codable, Equatable, Sendable {
    /// The number of tokens in the SNLI vocabulary (the embedding's rows).
    public var vocabSize: Int
    /// Embedding width (the book: 100, GloVe 6B 100d).
    public var embedSize: Int
    /// Width of every MLP (the book: 200).
    public var hidden: Int
    /// Tokens per premise and hypothesis in training (the book: 50).
    public var numSteps: Int

    /// A configuration for `vocabSize` tokens, with the book's sizes unless given.
    public init(vocabSize: Int, embedSize: Int = 100, hidden: Int = 200, numSteps: Int = 50) {
        self.vocabSize = vocabSize; self.embedSize = embedSize; self.hidden = hidden; self.numSteps = numSteps
    }
}

/// The book's `mlp(num_inputs, num_hiddens, flatten)`: Dropout(0.2), Linear, ReLU, Dropout(0.2),
/// Linear, ReLU. PyTorch's `Sequential` numbers the layers, so the Linears are `1` and `4`, or `1`
/// and `5` when `flatten` adds a Flatten after each ReLU (the aggregate MLP).
public final class NLIMLP: Module {
    /// The layers in order: Dropout(0.2), Linear(inputs, hidden), Dropout(0.2), Linear(hidden, hidden).
    public let dropout1: Dropout, linear1: Linear, dropout2: Dropout, linear2: Linear

    /// Builds the four layers for `inputs` → `hidden`, numbered as the book's `Sequential` numbers them
    /// (`flatten`: the aggregate MLP's numbering).
    public init(_ inputs: Int, _ hidden: Int, flatten: Bool, on backend: Backend, rng: HostRNG) throws {
        dropout1 = Dropout(0.2)
        linear1 = try Linear(inputs, hidden, on: backend, rng: rng)
        dropout2 = Dropout(0.2)
        linear2 = try Linear(hidden, hidden, on: backend, rng: rng)
        super.init()
        register("0", dropout1)
        register("1", linear1)
        register(flatten ? "4" : "3", dropout2)
        register(flatten ? "5" : "4", linear2)
    }

    /// x (..., inputs) → (..., hidden).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try linear1(dropout1(x), relu: true)  // (..., hidden)
        return try linear2(dropout2(h), relu: true)  // (..., hidden)
    }
}

/// Attend: e = f(A) f(B)ᵀ; beta = softmax(e) B (the hypothesis aligned to each premise token),
/// alpha = softmax(eᵀ) A (the premise aligned to each hypothesis token). No padding mask.
public final class NLIAttend: Module {
    /// The MLP f applied to each token of both sentences before their scores e = f(A) f(B)ᵀ.
    public let f: NLIMLP

    /// Builds f for `inputs`-wide embeddings and `hidden` units.
    public init(_ inputs: Int, _ hidden: Int, on backend: Backend, rng: HostRNG) throws {
        f = try NLIMLP(inputs, hidden, flatten: false, on: backend, rng: rng)
        super.init()
        register("f", f)
    }

    /// A (B, m, E), B (B, n, E) → beta (B, m, E), alpha (B, n, E).
    public func callAsFunction(_ a: Tensor, _ b: Tensor) throws -> (beta: Tensor, alpha: Tensor) {
        let fA = try f(a), fB = try f(b)  // (B, m, H), (B, n, H)
        let e = try fA.bmm(fB, transposeB: true)  // (B, m, n)
        let beta = try e.maskedSoftmax().bmm(b)  // (B, m, E)
        let alpha = try e.transposed(1, 2).maskedSoftmax().bmm(a)  // (B, n, E)
        return (beta, alpha)
    }
}

/// Compare: V_A = g([A; beta]), V_B = g([B; alpha]), token by token.
public final class NLICompare: Module {
    /// The MLP g applied to each token joined with its aligned phrase.
    public let g: NLIMLP

    /// Builds g for `inputs`-wide pairs (2E) and `hidden` units.
    public init(_ inputs: Int, _ hidden: Int, on backend: Backend, rng: HostRNG) throws {
        g = try NLIMLP(inputs, hidden, flatten: false, on: backend, rng: rng)
        super.init()
        register("g", g)
    }

    /// → V_A (B, m, H), V_B (B, n, H).
    public func callAsFunction(_ a: Tensor, _ b: Tensor, beta: Tensor, alpha: Tensor) throws -> (Tensor, Tensor) {
        (try g(Tensor.concat([a, beta], axis: 2)), try g(Tensor.concat([b, alpha], axis: 2)))  // (B, ·, 2E) → (B, ·, H)
    }
}

/// Aggregate: sum each comparison over its tokens (pads included), h([V_A; V_B]), Linear(H, 3).
public final class NLIAggregate: Module {
    /// The MLP h over the two summed comparisons.
    public let h: NLIMLP
    /// The classifier H → 3 labels.
    public let linear: Linear

    /// Builds h for `inputs` (2H) → `hidden` and the classifier `hidden` → `outputs`.
    public init(_ inputs: Int, _ hidden: Int, outputs: Int, on backend: Backend, rng: HostRNG) throws {
        h = try NLIMLP(inputs, hidden, flatten: true, on: backend, rng: rng)
        linear = try Linear(hidden, outputs, on: backend, rng: rng)
        super.init()
        register("h", h)
        register("linear", linear)
    }

    /// V_A (B, m, H), V_B (B, n, H) → logits (B, 3).
    public func callAsFunction(_ vA: Tensor, _ vB: Tensor) throws -> Tensor {
        let summed = try Tensor.concat([vA.sum(axis: 1), vB.sum(axis: 1)], axis: 1)  // (B, 2H)
        return try linear(h(summed))  // (B, 3)
    }
}

/// The book's `DecomposableAttention(vocab, embed_size, num_hiddens)` with attend/compare/aggregate
/// inputs E, 2E and 2H. Parameters `embedding.weight`, `attend.f.*`, `compare.g.*`, `aggregate.*`.
public final class DecomposableAttention: Module {
    /// The sizes the model was built from.
    public let config: NLIConfig
    /// The token embedding (V, E); the recipe starts it from GloVe 6B 100d where it can.
    public let embedding: Embedding
    /// The attend step: soft alignment of premise and hypothesis.
    public let attend: NLIAttend
    /// The compare step: each token against its aligned phrase.
    public let compare: NLICompare
    /// The aggregate step: summed comparisons into logits over the 3 labels.
    public let aggregate: NLIAggregate

    /// Builds the embedding and the attend (E), compare (2E) and aggregate (2H → 3) parts from `config`;
    /// throws unless every size is positive.
    public init(_ config: NLIConfig, on backend: Backend, rng: HostRNG) throws {
        guard config.vocabSize > 0, config.embedSize > 0, config.hidden > 0, config.numSteps > 0 else {
            throw ZooError.invalidOption("decomposable attention needs positive sizes, got \(config)")
        }
        self.config = config
        embedding = try Embedding(config.vocabSize, config.embedSize, on: backend, rng: rng)
        attend = try NLIAttend(config.embedSize, config.hidden, on: backend, rng: rng)
        compare = try NLICompare(2 * config.embedSize, config.hidden, on: backend, rng: rng)
        aggregate = try NLIAggregate(2 * config.hidden, config.hidden, outputs: 3, on: backend, rng: rng)
        super.init()
        register("embedding", embedding)
        register("attend", attend)
        register("compare", compare)
        register("aggregate", aggregate)
    }

    /// Int32 premises (B, m) and hypotheses (B, n) → logits (B, 3) over entailment, contradiction, neutral.
    public func callAsFunction(premises: Tensor, hypotheses: Tensor) throws -> Tensor {
        guard premises.rank == 2, hypotheses.rank == 2, premises.shape[0] == hypotheses.shape[0] else {
            throw DiveError.shapeMismatch(
                op: "DecomposableAttention",
                detail: "premises \(premises.shape) and hypotheses \(hypotheses.shape) must be (B, m) and (B, n)")
        }
        let a = try embedding(premises), b = try embedding(hypotheses)  // (B, m, E), (B, n, E)
        let (beta, alpha) = try attend(a, b)  // (B, m, E), (B, n, E)
        let (vA, vB) = try compare(a, b, beta: beta, alpha: alpha)  // (B, m, H), (B, n, H)
        return try aggregate(vA, vB)  // (B, 3)
    }
}
