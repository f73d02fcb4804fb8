// Whole-sequence recurrences: one launch per direction forward (plus one to transpose
// W_hh) and one backward, from Kernels/recurrent.cl. GPUs run rnn_seq_fw / rnn_seq_bw (a
// work-group carries a few batch rows through every step); CPU-type devices run the _v8 kernels
// (one work-item per block of rows, float8 vectors). The step-by-step path (a GEMM and a cell
// launch per step) remains for states too wide for local memory.

/// How one recurrence launches: the kernel family, batch rows per work-group and work-items per group.
struct SequenceLaunch: Equatable {
    var vectors: Bool
    var rows: Int, localSize: Int
    /// The program's compile-time constant.
    var options: String { "-D ROWS=\(rows)" }
    /// The kernels' names: forward, then backward.
    var names: (fw: String, bw: String) { vectors ? ("rnn_seq_fw_v8", "rnn_seq_bw_v8") : ("rnn_seq_fw", "rnn_seq_bw") }
    /// Local memory per group: the rows' state (H; the group kernels only) and gates (G·H).
    func localFloats(hidden: Int, gates: Int) -> (state: Int, gates: Int) { (vectors ? 0 : rows * hidden, rows * gates * hidden) }
}

extension KernelBackend {
    /// The launch shape of `path` for a recurrence on this device, or nil when it cannot run it
    /// (not even one row fits in local memory, or `vectors` with H not a multiple of 8). A GPU gives
    /// each group a few rows: each group streams all of W_hh per step, so more rows per group means
    /// fewer reads per row but fewer groups at work. A CPU device gets one work-item per compute unit.
    func sequenceLaunch(_ path: RecurrentPath, batch: Int, hidden: Int, gates: Int) -> SequenceLaunch? {
        let vectors: Bool
        switch path {
        case .byStep: return nil
        case .groups: vectors = false
        case .vectors: vectors = true
        case .auto: vectors = !limits.isGPU && hidden % 8 == 0
        }
        if vectors && hidden % 8 != 0 { return nil }
        var rows = vectors ? min(32, (batch + limits.computeUnits - 1) / limits.computeUnits) : (limits.isGPU ? 4 : min(16, (batch + 1) / 2))
        rows = max(1, min(rows, batch))
        while rows & (rows - 1) != 0 { rows &= rows - 1 }      // a power of two: CUDA's PTX has ROWS = 1, 2, 4 … 32
        let budget = limits.localMemoryBytes - 1024
        while rows > 0 && (vectors ? gates : gates + 1) * rows * hidden * 4 > budget { rows /= 2 }
        guard rows > 0 else { return nil }
        return SequenceLaunch(vectors: vectors, rows: rows, localSize: vectors ? 1 : min(limits.isGPU ? 256 : 64, limits.maxWorkGroupSize))
    }

    private func fusedLaunch(_ q: RecurrentSequence) throws -> SequenceLaunch? {
        try requireFloat32(q.gi, q.wHH, q.bHH, q.h0, q.out, op: "recurrentSequence")
        let path = KernelVariants.recurrent
        let shape = sequenceLaunch(path, batch: q.batch, hidden: q.hidden, gates: q.cell.gates)
        if shape == nil && path != .auto && path != .byStep {
            throw DiveError.invalidArgument(op: "recurrentSequence", detail: "the \(path) kernels cannot run hidden size \(q.hidden) on \(displayName)")
        }
        return shape
    }

    /// The fused kernels for a launch shape (one program per rows-per-group).
    private func sequenceKernels(_ shape: SequenceLaunch) throws -> (fw: KernelFunction, bw: KernelFunction) {
        let key = shape.rows * 2 + (shape.vectors ? 1 : 0)
        if let k = sequenceKernelCache[key] { return k }
        let k = (fw: try runtime.function(shape.names.fw, program: "recurrent", options: shape.options),
                 bw: try runtime.function(shape.names.bw, program: "recurrent", options: shape.options))
        sequenceKernelCache[key] = k
        return k
    }

    public func recurrentForward(_ q: RecurrentSequence) throws {
        guard let shape = try fusedLaunch(q) else { return try recurrentForwardByStep(q) }
        let G = q.cell.gates, H = q.hidden
        guard q.steps > 0, q.batch > 0 else { return }
        let wT = try Tensor.empty([H, G * H], on: self)                                   // (H, G·H)
        try copyStrided(q.wHH, into: wT, layout: try StridedLayout.make(shape: [H, G * H], srcStrides: [1, H], dstStrides: [G * H, 1]))
        let local = shape.localFloats(hidden: H, gates: G)
        let groups = (q.batch + shape.rows - 1) / shape.rows
        lock.lock(); defer { lock.unlock() }
        let k = try sequenceKernels(shape).fw
        try launchLocked(k, name: shape.names.fw, family: "recurrent", global: (groups * shape.localSize, 1, 1),
                         local: (shape.localSize, 1, 1)) { a in
            try a.buffer(q.gi); try a.buffer(wT); try a.buffer(q.bHH); try a.buffer(q.h0); try a.buffer(q.cells)
            try a.buffer(q.out); try a.buffer(q.saved)
            try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(H); try a.int(q.reverse ? 1 : 0)
            if !shape.vectors { try a.local(floats: local.state) }
            try a.local(floats: local.gates)
        }
    }

    public func recurrentBackward(_ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
                                  dGi: Tensor, dGh: Tensor) throws {
        guard let shape = try fusedLaunch(q) else {
            return try recurrentBackwardByStep(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        }
        try requireFloat32(gradOut, dh, dGi, dGh, op: "recurrentSequence backward")
        guard q.steps > 0, q.batch > 0 else { return }
        let local = shape.localFloats(hidden: q.hidden, gates: q.cell.gates)
        let groups = (q.batch + shape.rows - 1) / shape.rows
        lock.lock(); defer { lock.unlock() }
        let k = try sequenceKernels(shape).bw
        try launchLocked(k, name: shape.names.bw, family: "recurrent", global: (groups * shape.localSize, 1, 1),
                         local: (shape.localSize, 1, 1)) { a in
            try a.buffer(q.saved); try a.buffer(q.h0); try a.buffer(q.cells); try a.buffer(q.out); try a.buffer(gradOut)
            try a.buffer(dh); try a.buffer(dc); try a.buffer(dGi); try a.buffer(dGh); try a.buffer(q.wHH)
            try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(q.hidden); try a.int(q.reverse ? 1 : 0)
            if !shape.vectors { try a.local(floats: local.state) }
            try a.local(floats: local.gates)
        }
    }
}
