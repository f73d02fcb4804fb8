// A recurrent layer's recurrence over a whole sequence as one differentiable op: per step one
// GEMM (h W_hhᵀ) and one fused cell kernel; the backward runs the steps in reverse the same way
// and finishes with one GEMM for dW_hh and one reduction for db_hh.

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
    public var batch, hidden, t, slot, prevOffset: Int
    public init(batch: Int, hidden: Int, t: Int, slot: Int, prevOffset: Int) {
        self.batch = batch; self.hidden = hidden; self.t = t; self.slot = slot; self.prevOffset = prevOffset
    }
}

extension Tensor {
    /// One direction of a recurrent layer over a sequence, PyTorch's equations and gate order.
    /// - gi: (T, B, G·H) input pre-activations x W_ihᵀ + b_ih of every step (one GEMM upstream).
    /// - wHH: (G·H, H), bHH: (G·H), h0: (B, H); c0: (B, H) for LSTM.
    /// - reverse: process steps T-1 … 0 (the backward direction of a bidirectional layer);
    ///   outputs stay at their time positions.
    /// - Returns: (T, B, H) hidden states for every step; for LSTM (T+1, B, H) where row T is the
    ///   final cell state c_T. The final hidden state is row T-1 (row 0 when `reverse`).
    public static func recurrentSequence(_ cell: CellKind, gi: Tensor, wHH: Tensor, bHH: Tensor, h0: Tensor,
                                         c0: Tensor? = nil, reverse: Bool = false) throws -> Tensor {
        let op = "recurrentSequence"
        try gi.checkFloat(op: op)
        try gi.checkSameDevice([wHH, bHH, h0] + (c0.map { [$0] } ?? []), op: op)
        guard gi.rank == 3, wHH.rank == 2 else {
            throw DiveError.shapeMismatch(op: op, detail: "gi must be (T, B, G·H) and W_hh (G·H, H); got \(gi.shape) and \(wHH.shape)")
        }
        let T = gi.shape[0], B = gi.shape[1], H = wHH.shape[1], G = cell.gates
        guard gi.shape[2] == G * H, wHH.shape[0] == G * H, bHH.count == G * H, h0.count == B * H,
              (cell == .lstm) == (c0 != nil), c0.map({ $0.count == B * H }) ?? true,
              [wHH, bHH, h0].allSatisfy({ $0.dtype == gi.dtype }) else {
            throw DiveError.shapeMismatch(op: op, detail: "\(cell) cell with \(G) gates: gi \(gi.shape), W_hh \(wHH.shape), b_hh \(bHH.shape), h0 \(h0.shape)"
                + (c0.map { ", c0 \($0.shape)" } ?? (cell == .lstm ? ", c0 missing" : "")))
        }
        let backend = gi.backend
        let rowsOut = cell == .lstm ? T + 1 : T
        let y = try gi.emptyLike([rowsOut, B, H])
        let saved = try gi.emptyLike([cell.savedBlocks > 0 ? T : 1, B, Swift.max(cell.savedBlocks, 1) * H])
        let cells = try c0.map { c in
            let all = try gi.emptyLike([T + 1, B, H])
            try copyRows(c, into: all, count: B * H, at: 0)
            return all
        }
        let seq = RecurrentSequence(cell: cell, steps: T, batch: B, hidden: H, reverse: reverse,
                                    gi: gi, wHH: wHH, bHH: bHH, h0: h0, cells: cells, out: y, saved: saved)
        try backend.recurrentForward(seq)
        if let cells { try copyRows(cells, from: T * B * H, into: y, count: B * H, at: T * B * H) }

        let inputs = [gi, wHH, bHH, h0] + (c0.map { [$0] } ?? [])
        if Autograd.shouldRecord(inputs) {
            let yd = y.detached(), w = wHH.detached(), h0d = h0.detached()
            y.record(inputs: inputs) { g in
                // gi and gh enter the tanh RNN and LSTM cells only through their sum, so their gradients are
                // one tensor; the GRU's n gate scales gh by r and needs its own.
                let dGi = try g.emptyLike([T, B, G * H]), dGh = cell == .gru ? try g.emptyLike([T, B, G * H]) : dGi
                let dh = try Tensor.zeros([B, H], dtype: g.dtype, on: backend)
                let dc = try cells.map { _ in
                    let d = try g.emptyLike([B, H])
                    try copyRows(g, from: T * B * H, into: d, count: B * H, at: 0)
                    return d
                }
                let seqd = RecurrentSequence(cell: cell, steps: T, batch: B, hidden: H, reverse: reverse,
                                             gi: gi, wHH: w, bHH: bHH, h0: h0d, cells: cells, out: yd, saved: saved)
                try backend.recurrentBackward(seqd, gradOut: g, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
                // States entering each time position, in time order: h0 first (or last when reversed).
                let hPrev = try g.emptyLike([T, B, H])
                if T > 0 {
                    let n = (T - 1) * B * H
                    try copyRows(h0d, into: hPrev, count: B * H, at: reverse ? n : 0)
                    if n > 0 { try copyRows(yd, from: reverse ? B * H : 0, into: hPrev, count: n, at: reverse ? 0 : B * H) }
                }
                let dW = try w.emptyLike()
                try backend.gemm(dGh, hPrev, into: dW, shape: GemmShape(m: G * H, n: H, k: T * B, transA: true), alpha: 1, beta: 0)
                let db = try w.emptyLike([G * H])
                try backend.reduce(.sum, dGh, into: db, outer: 1, length: T * B, inner: G * H)
                return [dGi, dW, db, dh] + (dc.map { [$0] } ?? [])
            }
        }
        return y
    }

    /// Copies `count` contiguous elements of `src` from `from` into `dst` at `at` (no autograd).
    static func copyRows(_ src: Tensor, from: Int = 0, into dst: Tensor, count: Int, at: Int) throws {
        guard count > 0 else { return }
        let layout = try StridedLayout.make(shape: [count], srcStrides: [1], dstStrides: [1], srcOffset: from, dstOffset: at)
        try src.backend.copyStrided(src, into: dst, layout: layout)
    }
}

/// One direction of a recurrent layer over a whole sequence, as the backends' recurrence
/// primitives see it: gi (T, B, G·H), W_hh (G·H, H), b_hh (G·H), h0 (B, H), cells (T+1, B, H) for
/// LSTM, out (T or T+1, B, H), saved (T, B, S·H). `CellStep` addresses one step of it.
public struct RecurrentSequence {
    public var cell: CellKind
    public var steps, batch, hidden: Int
    public var reverse: Bool
    public var gi, wHH, bHH, h0: Tensor
    public var cells: Tensor?
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
    public func recurrentForward(_ q: RecurrentSequence) throws { try recurrentForwardByStep(q) }
    public func recurrentBackward(_ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
                                  dGi: Tensor, dGh: Tensor) throws {
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
            try cellForward(q.cell, gi: q.gi, gh: gh, bias: q.bHH, hPrev: q.hPrev(s), cells: q.cells, into: q.out,
                            hNext: hNext, saved: q.saved, step: q.step(s))
            hCur = hNext
        }
    }

    /// The backward recurrence, steps in reverse: the fused cell backward, then dh = dgh W_hh
    /// (added to the cell's direct part for GRU). Writes dGi, dGh (T, B, G·H); dh (B, H) and, for
    /// LSTM, dc (B, H) carry the gradients of the state and end as those of h0 and c0.
    public func recurrentBackwardByStep(_ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
                                        dGi: Tensor, dGh: Tensor) throws {
        let G = q.cell.gates, B = q.batch, H = q.hidden
        let dgh = try gradOut.emptyLike([B, G * H])
        let shape = GemmShape(m: B, n: H, k: G * H)
        for s in (0..<q.steps).reversed() {
            try cellBackward(q.cell, saved: q.saved, hPrev: q.hPrev(s), cells: q.cells, out: q.out, gradOut: gradOut,
                             dh: dh, dc: dc, into: dGi, dGh: dGh, dgh: dgh, step: q.step(s))
            try gemm(dgh, q.wHH, into: dh, shape: shape, alpha: 1, beta: q.cell == .gru ? 1 : 0)
        }
    }
}
