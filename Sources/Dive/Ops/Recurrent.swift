// A recurrent layer's recurrence over a whole sequence as one differentiable op: per step one
// GEMM (h W_hhᵀ) and one fused cell kernel; the backward runs the steps in reverse the same way
// and finishes with one GEMM for dW_hh and one reduction for db_hh.

extension Tensor {
    /// One direction of a recurrent layer over a sequence, PyTorch's equations and gate order.
    /// - gi: (T, B, G·H) input pre-activations x W_ihᵀ + b_ih of every step (one GEMM upstream).
    /// - wHH: (G·H, H), bHH: (G·H), h0: (B, H); c0: (B, H) for LSTM.
    /// - reverse: process steps T-1 … 0 (the backward direction of a bidirectional layer);
    ///   outputs stay at their time positions.
    /// - Returns: (T, B, H) hidden states for every step; for LSTM (T+1, B, H) where row T is the
    ///   final cell state c_T. The final hidden state is row T-1 (row 0 when `reverse`).
    public static func recurrentSequence(
        _ cell: CellKind, gi: Tensor, wHH: Tensor, bHH: Tensor, h0: Tensor,
        c0: Tensor? = nil, reverse: Bool = false
    ) throws -> Tensor {
        let op = "recurrentSequence"
        try gi.checkFloat(op: op)
        try gi.checkSameDevice([wHH, bHH, h0] + (c0.map { [$0] } ?? []), op: op)
        guard gi.rank == 3, wHH.rank == 2 else {
            throw DiveError.shapeMismatch(op: op, detail: "gi must be (T, B, G·H) and W_hh (G·H, H); got \(gi.shape) and \(wHH.shape)")
        }
        let T = gi.shape[0], B = gi.shape[1], H = wHH.shape[1], G = cell.gates
        guard gi.shape[2] == G * H, wHH.shape[0] == G * H, bHH.count == G * H, h0.count == B * H,
            (cell == .lstm) == (c0 != nil), c0.map({ $0.count == B * H }) ?? true,
            [wHH, bHH, h0].allSatisfy({ $0.dtype == gi.dtype })
        else {
            throw DiveError.shapeMismatch(
                op: op,
                detail: "\(cell) cell with \(G) gates: gi \(gi.shape), W_hh \(wHH.shape), b_hh \(bHH.shape), h0 \(h0.shape)"
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
        let seq = RecurrentSequence(
            cell: cell, steps: T, batch: B, hidden: H, reverse: reverse,
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
                let seqd = RecurrentSequence(
                    cell: cell, steps: T, batch: B, hidden: H, reverse: reverse,
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
