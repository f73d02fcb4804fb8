// The CPU runs a recurrent layer's whole recurrence as one primitive: W_hh is packed once for the
// sequence (CKernels' panel layout), the batch rows are split across the cores, and each core
// runs every time step for its own rows (the packed GEMM, then the fused cell). Rows never depend
// on one another, so the cores meet once per sequence instead of twice per step, and no step
// repacks the weights as a BLAS call would.
import CKernels
import Foundation

extension CPUBackend {
    /// The row blocks for the cores (one on a single thread), or nil when the sequence is too
    /// small for the packed path (then it runs step by step through BLAS). The choice depends on
    /// the sequence alone, not the thread count: the packed GEMM gives each row the same bits in
    /// any block, so a run's numbers are the same on any number of cores. Each block keeps at
    /// least 8 rows so its GEMM stays efficient.
    func recurrentRowBlocks(_ q: RecurrentSequence) -> [Range<Int>]? {
        let work = q.steps * q.batch * q.cell.gates * q.hidden * q.hidden
        guard Self.packedGemm, q.gi.dtype == .float32, q.batch >= 16, work >= 1 << 20 else { return nil }
        let parts = max(1, min(Parallel.width, q.batch / 8))
        return (0..<parts).map { p in (p * q.batch / parts)..<((p + 1) * q.batch / parts) }
    }

    /// The forward recurrence with W_hh packed once and batch rows split across cores (small runs: by step).
    public func recurrentForward(_ q: RecurrentSequence) throws {
        guard let blocks = recurrentRowBlocks(q) else { return try recurrentForwardByStep(q) }
        let GH = q.cell.gates * q.hidden
        let gh = try q.gi.emptyLike([q.batch, GH])
        let packed = try PackedOperand(q.wHH, k: q.hidden, n: GH, ldb: q.hidden, transposed: true)  // W_hhᵀ (H, G·H)
        Parallel.forEach(blocks.count) { p in forwardRows(q, blocks[p], packed, gh) }
    }

    /// The backward recurrence with W_hh packed once and batch rows split across cores (small runs: by step).
    public func recurrentBackward(
        _ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor
    ) throws {
        guard let blocks = recurrentRowBlocks(q) else {
            return try recurrentBackwardByStep(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        }
        let GH = q.cell.gates * q.hidden
        let packed = try PackedOperand(q.wHH, k: GH, n: q.hidden, ldb: q.hidden, transposed: false)  // W_hh (G·H, H)
        Parallel.forEach(blocks.count) { p in
            backwardRows(q, blocks[p], packed, gradOut, dh, dc, dGi, dGh)
        }
    }

    /// Every step for `rows`: gh[rows] = h[rows] W_hhᵀ, then the cell on those rows. The GEMM reads
    /// the state where the previous step left it (h0, or that step's rows of `out`).
    private func forwardRows(_ q: RecurrentSequence, _ rows: Range<Int>, _ w: PackedOperand, _ gh: Tensor) {
        let GH = q.cell.gates * q.hidden, H = q.hidden, r0 = rows.lowerBound
        let ghRows = gh.cpuPointer(Float.self) + r0 * GH
        for s in 0..<q.steps {
            let step = q.step(s)
            let h = q.hPrev(s).cpuPointer(Float.self) + step.prevOffset + r0 * H  // (rows, H)
            dive_gemm_packed(rows.count, GH, H, h, H, w.panels, 0, ghRows, GH)  // (rows, G·H)
            cellForwardFloat(q.cell, q.gi, gh, q.bHH, q.hPrev(s), q.cells, q.out, nil, q.saved, step, rows: rows)
        }
    }

    /// Every step for `rows`, in reverse: the cell backward, then dh[rows] (+)= dGh[t, rows] W_hh,
    /// read in place from dGh.
    private func backwardRows(
        _ q: RecurrentSequence, _ rows: Range<Int>, _ w: PackedOperand, _ gradOut: Tensor, _ dh: Tensor,
        _ dc: Tensor?, _ dGi: Tensor, _ dGh: Tensor
    ) {
        let GH = q.cell.gates * q.hidden, H = q.hidden, r0 = rows.lowerBound
        let dhRows = dh.cpuPointer(Float.self) + r0 * H
        for s in (0..<q.steps).reversed() {
            let step = q.step(s)
            cellBackwardFloat(q.cell, q.saved, q.hPrev(s), q.cells, q.out, gradOut, dh, dc, dGi, dGh, nil, step, rows: rows)
            let dghRows = dGh.cpuPointer(Float.self) + (step.t * q.batch + r0) * GH  // (rows, G·H)
            dive_gemm_packed(rows.count, H, GH, dghRows, GH, w.panels, q.cell == .gru ? 1 : 0, dhRows, H)  // (rows, H)
        }
    }

    /// Whether this CPU has the vectorised packed GEMM (`DIVE_PACKED_GEMM=0` turns the split off).
    static let packedGemm =
        dive_gemm_packed_is_vectorised() != 0
        && ProcessInfo.processInfo.environment["DIVE_PACKED_GEMM"] != "0"

    /// Runs `body` on `only` when given (one core's block of a split recurrence), else over every
    /// row of the batch through `Parallel`.
    @inline(__always)
    static func overRows(_ batch: Int, _ only: Range<Int>?, cost: Int, _ body: (Range<Int>) -> Void) {
        if let only { body(only) } else { Parallel.forRanges(batch, costPerItem: cost, family: .cells, body) }
    }
}

/// A (k, n) GEMM operand in CKernels' panel layout, packed once and shared by the cores; its
/// storage comes from the backend's buffer pool.
struct PackedOperand {
    let storage: Tensor
    var panels: UnsafeMutablePointer<Float> { storage.cpuPointer(Float.self) }

    /// Packs op(B) of the Float32 tensor b: b itself (k, n), or when `transposed` its transpose (b stored (n, k)).
    /// The cores take ranges of panels.
    init(_ b: Tensor, k: Int, n: Int, ldb: Int, transposed: Bool) throws {
        storage = try b.emptyLike([dive_packed_size(k, n)])
        let src = b.cpuPointer(Float.self), dst = storage.cpuPointer(Float.self), width = Int(DIVE_PANEL_WIDTH)
        Parallel.forRanges((n + width - 1) / width, costPerItem: k * width) { panels in
            let j0 = panels.lowerBound * width, j1 = min(n, panels.upperBound * width)
            dive_pack_panels(src + (transposed ? j0 * ldb : j0), k, j1 - j0, ldb, transposed ? 1 : 0, dst + j0 * k)
        }
    }
}
