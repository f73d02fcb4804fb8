// Kernel-device (OpenCL, CUDA) fused recurrent cells, one step at a time: argument plumbing for Kernels/recurrent.cl's
// cell_fw and cell_bw. One work-item per (hidden unit, batch row).

extension KernelBackend {
    /// One recurrent-cell step forward in one `cell_fw` launch, a work-item per (hidden unit, batch row).
    public func cellForward(
        _ cell: CellKind, gi: Tensor, gh: Tensor, bias: Tensor, hPrev: Tensor, cells: Tensor?,
        into out: Tensor, hNext: Tensor, saved: Tensor, step s: CellStep
    ) throws {
        try requireFloat32(gi, gh, bias, hPrev, out, op: "cellForward")
        try launch(.cell_fw, global: (s.hidden, s.batch, 1)) { a in
            try a.buffer(gi); try a.buffer(gh); try a.buffer(bias); try a.buffer(hPrev); try a.buffer(cells)
            try a.buffer(out); try a.buffer(hNext); try a.buffer(saved)
            try a.int(cell.rawValue); try a.int(s.batch); try a.int(s.hidden); try a.int(s.t); try a.int(s.slot)
            try a.int(s.prevOffset)
        }
    }

    /// One recurrent-cell step backward in one `cell_bw` launch, a work-item per (hidden unit, batch row).
    public func cellBackward(
        _ cell: CellKind, saved: Tensor, hPrev: Tensor, cells: Tensor?, out: Tensor,
        gradOut dOut: Tensor, dh: Tensor, dc: Tensor?, into dGi: Tensor, dGh: Tensor,
        dgh: Tensor, step s: CellStep
    ) throws {
        try requireFloat32(dOut, dh, dGi, dGh, dgh, op: "cellBackward")
        try launch(.cell_bw, global: (s.hidden, s.batch, 1)) { a in
            try a.buffer(saved); try a.buffer(hPrev); try a.buffer(cells); try a.buffer(out); try a.buffer(dOut)
            try a.buffer(dh); try a.buffer(dc); try a.buffer(dGi); try a.buffer(dGh); try a.buffer(dgh)
            try a.int(cell.rawValue); try a.int(s.batch); try a.int(s.hidden); try a.int(s.t); try a.int(s.slot)
            try a.int(s.prevOffset)
        }
    }
}
