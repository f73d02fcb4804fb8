// What the backends' recurrence primitives take: the cell kinds, one direction of a layer over a
// whole sequence (`RecurrentSequence`) and one step of it (`CellStep`), and the default
// recurrence, step by step (one GEMM and one fused cell per step), that a backend without a
// whole-sequence kernel runs. Ops/Recurrent.swift makes it a differentiable op.

/// The fused recurrent cells: PyTorch's tanh RNN, GRU (gates r, z, n) and LSTM (gates i, f, g, o).
public enum CellKind: Int, Sendable {
    case rnnTanh, gru, lstm
    /// Gate blocks per hidden unit in the weight matrices (1, 3, 4).
    public var gates: Int { [1, 3, 4][rawValue] }
    /// Blocks per hidden unit saved for the backward (RNN keeps h' in `out`).
    public var savedBlocks: Int { [0, 4, 4][rawValue] }
}

/// Where one step of a recurrent cell reads and writes, in elements of the sequence tensors:
/// gi, dGi, dGh (T, B, G·H) and saved (T, B, S·H) at time `t`; out, dOut (T, B, H) at `t`;
/// hPrev at `prevOffset`; cells (T+1, B, H) at `slot` (c) and `slot + 1` (c').
public struct CellStep: Equatable, Sendable {
    /// Batch size B, hidden size H, the time index t, the cell-state slot, and the element offset of hPrev.
    public var batch, hidden, t, slot, prevOffset: Int
    /// Builds a step from its sizes, time index, cell-state slot and hPrev offset.
    public init(batch: Int, hidden: Int, t: Int, slot: Int, prevOffset: Int) {
        self.batch = batch; self.hidden = hidden; self.t = t; self.slot = slot; self.prevOffset = prevOffset
    }
}

/// One direction of a recurrent layer over a whole sequence, as the backends' recurrence
/// primitives see it: gi (T, B, G·H), W_hh (G·H, H), b_hh (G·H), h0 (B, H), cells (T+1, B, H) for
/// LSTM, out (T or T+1, B, H), saved (T, B, S·H). `CellStep` addresses one step of it.
public struct RecurrentSequence {
    /// The kind of cell: tanh RNN, GRU or LSTM.
    public var cell: CellKind
    /// The sequence length T, the batch size B and the hidden size H.
    public var steps, batch, hidden: Int
    /// Whether this direction runs backwards in time (the reverse half of a bidirectional layer).
    public var reverse: Bool
    /// The input projections gi (T, B, G·H), W_hh (G·H, H), b_hh (G·H) and the initial state h0 (B, H).
    public var gi, wHH, bHH, h0: Tensor
    /// The LSTM cell states (T+1, B, H), c0 in slot 0; nil for RNN and GRU.
    public var cells: Tensor?
    /// The hidden states out (T or T+1, B, H) and the gate values saved for the backward (T, B, S·H).
    public var out, saved: Tensor

    /// The time position of step s (steps run backwards in time when `reverse`).
    public func time(_ s: Int) -> Int { reverse ? steps - 1 - s : s }
    /// Where step s finds its cell: its time, its cell-state slot and the offset of h_{prev} in `out`.
    public func step(_ s: Int) -> CellStep {
        CellStep(batch: batch, hidden: hidden, t: time(s), slot: s, prevOffset: s == 0 ? 0 : time(s - 1) * batch * hidden)
    }
    /// The state entering step s: h0 for the first step, else the previous step's output rows.
    public func hPrev(_ s: Int) -> Tensor { s == 0 ? h0 : out }
}

extension Backend {
    /// Runs the forward recurrence step by step (`recurrentForwardByStep`).
    public func recurrentForward(_ q: RecurrentSequence) throws { try recurrentForwardByStep(q) }
    /// Runs the backward recurrence step by step (`recurrentBackwardByStep`).
    public func recurrentBackward(
        _ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor
    ) throws {
        try recurrentBackwardByStep(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
    }

    /// The forward recurrence, step by step: gh = h W_hhᵀ (one GEMM), then the fused cell.
    public func recurrentForwardByStep(_ q: RecurrentSequence) throws {
        let G = q.cell.gates, B = q.batch, H = q.hidden
        let gh = try q.gi.emptyLike([B, G * H]), hNext = try q.gi.emptyLike([B, H])
        let shape = GemmShape(m: B, n: G * H, k: H, transB: true)
        var hCur = q.h0
        for s in 0..<q.steps {
            try gemm(hCur, q.wHH, into: gh, shape: shape, alpha: 1, beta: 0)
            try cellForward(
                q.cell, gi: q.gi, gh: gh, bias: q.bHH, hPrev: q.hPrev(s), cells: q.cells, into: q.out,
                hNext: hNext, saved: q.saved, step: q.step(s))
            hCur = hNext
        }
    }

    /// The backward recurrence, steps in reverse: the fused cell backward, then dh = dgh W_hh
    /// (added to the cell's direct part for GRU). Writes dGi, dGh (T, B, G·H); dh (B, H) and, for
    /// LSTM, dc (B, H) carry the gradients of the state and end as those of h0 and c0.
    public func recurrentBackwardByStep(
        _ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor
    ) throws {
        let G = q.cell.gates, B = q.batch, H = q.hidden
        let dgh = try gradOut.emptyLike([B, G * H])
        let shape = GemmShape(m: B, n: H, k: G * H)
        for s in (0..<q.steps).reversed() {
            try cellBackward(
                q.cell, saved: q.saved, hPrev: q.hPrev(s), cells: q.cells, out: q.out, gradOut: gradOut,
                dh: dh, dc: dc, into: dGi, dGh: dGh, dgh: dgh, step: q.step(s))
            try gemm(dgh, q.wHH, into: dh, shape: shape, alpha: 1, beta: q.cell == .gru ? 1 : 0)
        }
    }
}
