// Kernel-device (OpenCL, CUDA) masked softmax (Ops/Softmax.swift) and its backward: argument plumbing for
// Kernels/softmax.cl (a work-group per row where the row is wide enough, else a work-item).
import Foundation

extension KernelBackend {
    /// Work-items per row for the per-group row kernels (a power of two from 32 to 256, about four
    /// columns each, so a short row does not pay for a deep reduction tree), or nil for the per-item
    /// kernels: GPUs take groups unless a test forces the choice.
    func rowGroupSize(cols: Int) -> Int? {
        switch KernelVariants.rows {
        case .perItem: return nil
        case .auto where !limits.isGPU: return nil
        default:
            var L = 32
            while L * 4 < cols && L < min(256, limits.maxWorkGroupSize) { L *= 2 }
            return min(L, limits.maxWorkGroupSize)
        }
    }

    public func maskedSoftmax(_ x: Tensor, validLens: Tensor?, into y: Tensor, rows: Int, cols: Int) throws {
        try requireFloat32(x, op: "maskedSoftmax")
        let rep = validLens.map { rows / max($0.count, 1) } ?? 1
        let L = rowGroupSize(cols: cols)
        try launch(L == nil ? .sm_fw : .sm_fw_wg, global: (rows * (L ?? 1), 1, 1), local: L.map { ($0, 1, 1) }) { a in
            try a.buffer(x); try a.buffer(y); try a.buffer(validLens)
            try a.int(cols); try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            if let L { try a.local(floats: L) }
        }
    }

    public func softmaxBackward(output y: Tensor, gradOutput dy: Tensor, validLens: Tensor?, into dx: Tensor,
                                rows: Int, cols: Int) throws {
        try requireFloat32(y, op: "softmaxBackward")
        let rep = validLens.map { rows / max($0.count, 1) } ?? 1
        let L = rowGroupSize(cols: cols)
        try launch(L == nil ? .sm_bw : .sm_bw_wg, global: (rows * (L ?? 1), 1, 1), local: L.map { ($0, 1, 1) }) { a in
            try a.buffer(y); try a.buffer(dy); try a.buffer(dx); try a.buffer(validLens)
            try a.int(cols); try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            if let L { try a.local(floats: L) }
        }
    }
}
