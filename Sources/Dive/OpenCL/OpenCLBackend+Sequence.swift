// OpenCL whole-sequence recurrences: one launch per direction forward (plus one to transpose
// W_hh) and one backward, from Kernels/recurrent.cl's rnn_seq_fw / rnn_seq_bw. Each work-group
// carries `rows` batch rows through every step; the step-by-step path (a GEMM and a cell launch
// per step) remains for states too wide for local memory, and as `RecurrentPath.byStep`.
import COpenCL

/// A work-group shape for the fused kernels: batch rows per group and work-items per group.
struct SequenceLaunch: Equatable {
    var rows: Int, localSize: Int
    /// Local memory per group: the rows' state (H) and gate pre-activations or gradients (G·H).
    func localFloats(hidden: Int, gates: Int) -> (state: Int, gates: Int) { (rows * hidden, rows * gates * hidden) }
}

extension OpenCLBackend {
    /// The group shape for a recurrence on this device, or nil when not even one row fits in local
    /// memory. A GPU gives each group a few rows (each group streams all of W_hh per step, so more
    /// rows per group means fewer reads per row but fewer groups at work); a CPU device one group per
    /// compute unit.
    func sequenceLaunch(batch: Int, hidden: Int, gates: Int) -> SequenceLaunch? {
        var rows = info.isGPU ? 4 : min(16, max(1, (batch + info.computeUnits - 1) / info.computeUnits))
        rows = min(rows, batch)
        let budget = info.localMemoryBytes - 1024
        while rows > 0 && rows * (gates + 1) * hidden * 4 > budget { rows /= 2 }
        guard rows > 0 else { return nil }
        return SequenceLaunch(rows: rows, localSize: min(info.isGPU ? 256 : 64, info.maxWorkGroupSize))
    }

    private func useFused(_ q: RecurrentSequence) throws -> SequenceLaunch? {
        try requireFloat32(q.gi, q.wHH, q.bHH, q.h0, q.out, op: "recurrentSequence")
        switch KernelVariants.recurrent {
        case .byStep: return nil
        case .auto: return sequenceLaunch(batch: q.batch, hidden: q.hidden, gates: q.cell.gates)
        case .fused:
            guard let shape = sequenceLaunch(batch: q.batch, hidden: q.hidden, gates: q.cell.gates) else {
                throw DiveError.invalidArgument(op: "recurrentSequence", detail: "hidden size \(q.hidden) is too wide for the fused kernel's local memory on \(displayName)")
            }
            return shape
        }
    }

    /// The fused kernels built for `rows` rows per group (one program per row count).
    private func sequenceKernels(rows: Int) throws -> (fw: cl_kernel, bw: cl_kernel) {
        if let k = sequenceKernelCache[rows] { return k }
        let program = try programs.program("recurrent", options: "-D ROWS=\(rows)")
        let k = (fw: try makeKernel("rnn_seq_fw", program: program), bw: try makeKernel("rnn_seq_bw", program: program))
        sequenceKernelCache[rows] = k
        return k
    }

    public func recurrentForward(_ q: RecurrentSequence) throws {
        guard let shape = try useFused(q) else { return try recurrentForwardByStep(q) }
        let G = q.cell.gates, H = q.hidden
        guard q.steps > 0, q.batch > 0 else { return }
        let wT = try Tensor.empty([H, G * H], on: self)                                   // (H, G·H)
        try copyStrided(q.wHH, into: wT, layout: try StridedLayout.make(shape: [H, G * H], srcStrides: [1, H], dstStrides: [G * H, 1]))
        let local = shape.localFloats(hidden: H, gates: G)
        let groups = (q.batch + shape.rows - 1) / shape.rows
        lock.lock(); defer { lock.unlock() }
        let k = try sequenceKernels(rows: shape.rows).fw
        try launchLocked(k, name: "rnn_seq_fw", family: "recurrent", global: (groups * shape.localSize, 1, 1),
                         local: (shape.localSize, 1, 1)) { a in
            try a.buffer(q.gi); try a.buffer(wT); try a.buffer(q.bHH); try a.buffer(q.h0); try a.buffer(q.cells)
            try a.buffer(q.out); try a.buffer(q.saved)
            try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(H); try a.int(q.reverse ? 1 : 0)
            try a.local(floats: local.state); try a.local(floats: local.gates)
        }
    }

    public func recurrentBackward(_ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
                                  dGi: Tensor, dGh: Tensor) throws {
        guard let shape = try useFused(q) else {
            return try recurrentBackwardByStep(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        }
        try requireFloat32(gradOut, dh, dGi, dGh, op: "recurrentSequence backward")
        guard q.steps > 0, q.batch > 0 else { return }
        let local = shape.localFloats(hidden: q.hidden, gates: q.cell.gates)
        let groups = (q.batch + shape.rows - 1) / shape.rows
        lock.lock(); defer { lock.unlock() }
        let k = try sequenceKernels(rows: shape.rows).bw
        try launchLocked(k, name: "rnn_seq_bw", family: "recurrent", global: (groups * shape.localSize, 1, 1),
                         local: (shape.localSize, 1, 1)) { a in
            try a.buffer(q.saved); try a.buffer(q.h0); try a.buffer(q.cells); try a.buffer(q.out); try a.buffer(gradOut)
            try a.buffer(dh); try a.buffer(dc); try a.buffer(dGi); try a.buffer(dGh); try a.buffer(q.wHH)
            try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(q.hidden); try a.int(q.reverse ? 1 : 0)
            try a.local(floats: local.state); try a.local(floats: local.gates)
        }
    }
}
