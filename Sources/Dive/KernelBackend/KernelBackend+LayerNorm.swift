// Kernel-device (OpenCL, CUDA) LayerNorm (Ops/LayerNorm.swift), with the fused residual and dropout, and its backward:
// argument plumbing for Kernels/layernorm.cl.
import Foundation

extension KernelBackend {
    /// Float32 layer normalisation, residual and dropout fused, in one launch of the tuned row variant.
    public func layerNorm(
        _ x: Tensor, residual: Tensor?, dropout: DropoutMask?, gamma: Tensor, beta: Tensor, eps: Float,
        into y: Tensor, sum: Tensor?, mean: Tensor, rstd: Tensor, rows: Int, cols: Int
    ) throws {
        try requireFloat32(x, gamma, beta, op: "layerNorm")
        try rowsLaunch("layernorm", .ln_fw, .ln_fw_wg, cols: cols, rows: rows) { a, shape in
            try a.buffer(x); try a.buffer(gamma); try a.buffer(beta); try a.buffer(y); try a.buffer(mean); try a.buffer(rstd)
            try a.int(cols); try a.float(eps)
            try a.buffer(residual); try a.buffer(sum); try a.int(residual == nil ? 0 : 1); try a.dropout(dropout)
            if let shape { try a.int(shape.team); try a.int(rows); try a.local(floats: shape.local) }
        }
    }

    /// Float32 layer-norm backward in one launch writing dx, dGamma and dBeta (zeros when rows is 0).
    public func layerNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        dropout: DropoutMask?, into dx: Tensor, dResidual: Tensor?, dGamma: Tensor, dBeta: Tensor,
        rows: Int, cols: Int
    ) throws {
        try requireFloat32(x, op: "layerNormBackward")
        // One launch: each work-item's share of dx (its row), then of dγ and dβ (columns dealt out).
        if rows == 0 {
            try fill(dGamma, value: 0); try fill(dBeta, value: 0)
            return
        }
        try rowsLaunch("layernorm", .ln_bw, .ln_bw_wg, cols: cols, rows: rows) { a, shape in
            try a.buffer(x); try a.buffer(dy); try a.buffer(gamma); try a.buffer(mean); try a.buffer(rstd); try a.buffer(dx)
            try a.int(cols)
            try a.buffer(dResidual); try a.int(dResidual == nil ? 0 : 1); try a.dropout(dropout)
            try a.buffer(dGamma); try a.buffer(dBeta); try a.int(rows)
            if let shape { try a.int(shape.team); try a.local(floats: shape.local) }
        }
    }
}
