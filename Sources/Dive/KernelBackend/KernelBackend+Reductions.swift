// Kernel-device (OpenCL, CUDA) reductions (Ops/Reductions.swift): argument plumbing for Kernels/reductions.cl.
import Foundation

extension KernelBackend {
    /// Float32 reduction of the middle axis of (outer, length, inner), one work-item per output element.
    public func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor, outer: Int, length: Int, inner: Int) throws {
        try requireFloat32(x, op: "reduce")
        let id: Kernel
        switch op {
        case .sum, .mean, .scaledSum: id = .r_sum;
        case .max: id = .r_max;
        case .argmax: id = .r_argmax
        }
        let scale = op.scale(length: length)
        try launch(id, global: (inner, outer, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.int(length); try a.int(inner); try a.float(scale)
        }
    }
}
