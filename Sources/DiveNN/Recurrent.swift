// PyTorch's nn.RNN (tanh), nn.GRU and nn.LSTM: several layers, dropout between layers,
// bidirectional, time-major input, PyTorch's parameter names, layouts and gate order, with each
// direction's recurrence run by the fused `Tensor.recurrentSequence`.
import Dive

/// A recurrent layer's state: h (layers·directions, B, H), and c for LSTM.
public struct RecurrentState {
    /// The hidden state, (layers·directions, B, H).
    public var h: Tensor
    /// The LSTM's memory cell, (layers·directions, B, H); nil for RNN and GRU.
    public var c: Tensor?
    /// A state from a hidden state `h` and, for an LSTM, a memory cell `c`.
    public init(h: Tensor, c: Tensor? = nil) { self.h = h; self.c = c }
    /// The same state without autograd history (the book's `state.detach_()` between minibatches).
    public func detached() -> RecurrentState { RecurrentState(h: h.detached(), c: c?.detached()) }
}

/// A multi-layer recurrent network: `RNN`, `GRU` and `LSTM` are this class with a cell kind.
public class RecurrentLayer: Module {
    /// Which recurrence every layer runs: tanh RNN, GRU or LSTM.
    public let cell: CellKind
    /// The input feature size, the hidden size H per direction, and the number of stacked layers.
    public let inputSize: Int, hiddenSize: Int, numLayers: Int
    /// Whether every layer also runs a reverse direction, its outputs concatenated to the forward ones (section 9.4).
    public let bidirectional: Bool
    /// Dropout on the outputs of every layer but the last (training mode only).
    public let dropout: Float
    /// Per layer and direction: (W_ih (G·H, in), W_hh (G·H, H), b_ih, b_hh).
    public private(set) var weights: [[(wIH: Tensor, wHH: Tensor, bIH: Tensor, bHH: Tensor)]] = []

    /// 2 for a bidirectional layer, else 1.
    public var directions: Int { bidirectional ? 2 : 1 }

    /// PyTorch's default init: every weight and bias U(±1/√H).
    public init(
        _ cell: CellKind, inputSize: Int, hiddenSize: Int, numLayers: Int = 1, dropout: Float = 0,
        bidirectional: Bool = false, on backend: Backend, rng: HostRNG
    ) throws {
        self.cell = cell; self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.numLayers = numLayers
        self.dropout = dropout; self.bidirectional = bidirectional
        super.init()
        let G = cell.gates, H = hiddenSize, initial = Initializer.pytorchUniform(fan: hiddenSize)
        for layer in 0..<numLayers {
            var perDirection: [(Tensor, Tensor, Tensor, Tensor)] = []
            for direction in 0..<directions {
                let input = layer == 0 ? inputSize : H * directions
                let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                let wIH = register("weight_ih" + suffix, try initial.make([G * H, input], on: backend, rng: rng))
                let wHH = register("weight_hh" + suffix, try initial.make([G * H, H], on: backend, rng: rng))
                let bIH = register("bias_ih" + suffix, try initial.make([G * H], on: backend, rng: rng))
                let bHH = register("bias_hh" + suffix, try initial.make([G * H], on: backend, rng: rng))
                perDirection.append((wIH, wHH, bIH, bHH))
            }
            weights.append(perDirection.map { (wIH: $0.0, wHH: $0.1, bIH: $0.2, bHH: $0.3) })
        }
    }

    /// Zeros of the state's shape (the book's `begin_state`).
    public func beginState(batchSize: Int, on backend: Backend) throws -> RecurrentState {
        let shape = [numLayers * directions, batchSize, hiddenSize]
        return RecurrentState(
            h: try Tensor.zeros(shape, on: backend),
            c: cell == .lstm ? try Tensor.zeros(shape, on: backend) : nil)
    }

    /// x (T, B, input) → outputs (T, B, directions·H) and the final state; a nil state is zeros.
    public func callAsFunction(_ x: Tensor, _ state: RecurrentState? = nil) throws -> (output: Tensor, state: RecurrentState) {
        guard x.rank == 3, x.shape[2] == inputSize else {
            throw DiveError.shapeMismatch(op: "\(cell) layer", detail: "input \(x.shape) must be (steps, batch, \(inputSize))")
        }
        return try run(.dense(x), steps: x.shape[0], batch: x.shape[1], state)
    }

    /// The layer fed the one-hot vectors of Int32 `tokens` (T, B) over `inputSize` classes, without
    /// building them: for a one-hot x, x W_ihᵀ + b_ih is row `token` of W_ihᵀ + b_ih, so the first
    /// layer's input projection is a row gather (its backward a scatter-add) instead of a GEMM
    /// whose inner dimension is the vocabulary. Same result as `self(oneHot(tokens))`.
    public func callAsFunction(oneHot tokens: Tensor, _ state: RecurrentState? = nil) throws -> (output: Tensor, state: RecurrentState) {
        guard tokens.rank == 2 else {
            throw DiveError.shapeMismatch(op: "\(cell) layer", detail: "tokens \(tokens.shape) must be (steps, batch)")
        }
        return try run(.oneHot(tokens), steps: tokens.shape[0], batch: tokens.shape[1], state)
    }

    /// What the first layer reads: vectors, or tokens standing for one-hot vectors.
    private enum Input {
        case dense(Tensor)
        case oneHot(Tensor)
    }

    private func run(_ x: Input, steps T: Int, batch B: Int, _ state: RecurrentState?) throws -> (output: Tensor, state: RecurrentState) {
        let H = hiddenSize, G = cell.gates
        let backend: Backend
        switch x {
        case .dense(let t), .oneHot(let t): backend = t.backend
        }
        let start = try state ?? beginState(batchSize: B, on: backend)
        let stateShape = [numLayers * directions, B, H]
        guard start.h.shape == stateShape, (cell == .lstm) == (start.c != nil), start.c.map({ $0.shape == stateShape }) ?? true else {
            throw DiveError.shapeMismatch(
                op: "\(cell) layer",
                detail:
                    "state h \(start.h.shape)\(start.c.map { ", c \($0.shape)" } ?? "") must be \(stateShape)\(cell == .lstm ? " for h and c" : "")"
            )
        }
        var input = x
        var hs: [Tensor] = [], cs: [Tensor] = []
        for layer in 0..<numLayers {
            var outs: [Tensor] = []
            for direction in 0..<directions {
                let w = weights[layer][direction], k = layer * directions + direction
                let gi: Tensor  // (T, B, G·H)
                switch input {
                case .dense(let v):
                    gi = try (v.reshaped([T * B, v.shape[2]]).matmul(w.wIH, transposeB: true) + w.bIH).reshaped([T, B, G * H])
                case .oneHot(let tokens):
                    gi = try Tensor.embedding(w.wIH.transposed() + w.bIH, indices: tokens)  // rows of (V, G·H)
                }
                let h0 = try stateRow(start.h, k), c0 = try start.c.map { try stateRow($0, k) }
                let y = try Tensor.recurrentSequence(
                    cell, gi: gi, wHH: w.wHH, bHH: w.bHH, h0: h0, c0: c0,
                    reverse: direction == 1)
                let out = cell == .lstm ? try y.slice(axis: 0, 0..<T) : y
                let last = direction == 1 ? 0 : T - 1
                hs.append(T > 0 ? try out.slice(axis: 0, last..<(last + 1)) : try h0.reshaped([1, B, H]))
                if cell == .lstm { cs.append(try y.slice(axis: 0, T..<(T + 1))) }
                outs.append(out)
            }
            var next = outs.count == 1 ? outs[0] : try Tensor.concat(outs, axis: 2)
            if layer < numLayers - 1 && isTraining && dropout > 0 {
                next = try next.dropout(p: dropout, stream: randomStream, batchAxis: 1)  // (T, B, H)
            }
            input = .dense(next)
        }
        guard case .dense(let output) = input else {
            throw DiveError.invalidArgument(op: "\(cell) layer", detail: "a layer without recurrent layers cannot read tokens")
        }
        let h = hs.count == 1 ? hs[0] : try Tensor.concat(hs, axis: 0)
        let c = cell == .lstm ? (cs.count == 1 ? cs[0] : try Tensor.concat(cs, axis: 0)) : nil
        return (output, RecurrentState(h: h, c: c))
    }

    /// Row k of a (layers·directions, B, H) state as (B, H).
    private func stateRow(_ s: Tensor, _ k: Int) throws -> Tensor {
        s.shape[0] == 1
            ? try s.reshaped([s.shape[1], s.shape[2]])
            : try s.slice(axis: 0, k..<(k + 1)).reshaped([s.shape[1], s.shape[2]])
    }
}

/// PyTorch's nn.RNN with tanh: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).
public final class RNN: RecurrentLayer {
    /// A tanh RNN (section 8.6) with PyTorch's default initialisation drawn from `rng`.
    public init(
        inputSize: Int, hiddenSize: Int, numLayers: Int = 1, dropout: Float = 0, bidirectional: Bool = false,
        on backend: Backend, rng: HostRNG
    ) throws {
        try super.init(
            .rnnTanh, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, dropout: dropout,
            bidirectional: bidirectional, on: backend, rng: rng)
    }
}

/// PyTorch's nn.GRU, gates r, z, n: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1-z) ⊙ n + z ⊙ h.
public final class GRU: RecurrentLayer {
    /// A GRU (section 9.1) with PyTorch's default initialisation drawn from `rng`.
    public init(
        inputSize: Int, hiddenSize: Int, numLayers: Int = 1, dropout: Float = 0, bidirectional: Bool = false,
        on backend: Backend, rng: HostRNG
    ) throws {
        try super.init(
            .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, dropout: dropout,
            bidirectional: bidirectional, on: backend, rng: rng)
    }
}

/// PyTorch's nn.LSTM, gates i, f, g, o: c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
public final class LSTM: RecurrentLayer {
    /// An LSTM (section 9.2) with PyTorch's default initialisation drawn from `rng`.
    public init(
        inputSize: Int, hiddenSize: Int, numLayers: Int = 1, dropout: Float = 0, bidirectional: Bool = false,
        on backend: Backend, rng: HostRNG
    ) throws {
        try super.init(
            .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, dropout: dropout,
            bidirectional: bidirectional, on: backend, rng: rng)
    }
}
