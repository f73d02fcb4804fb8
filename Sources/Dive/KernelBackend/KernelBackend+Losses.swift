// Kernel-device (OpenCL, CUDA) cross-entropy (Ops/Losses.swift) forward and backward: argument plumbing for
// Kernels/losses.cl (GPUs: a team of work-items per row, as the softmax's; CPU-type devices: a work-item per row).
import Foundation

extension KernelBackend {
    /// Float32 cross-entropy with label smoothing and row weights in one launch of the tuned row variant.
    public func crossEntropy(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        into loss: Tensor, rows: Int, classes: Int
    ) throws {
        try requireFloat32(logits, op: "crossEntropy")
        try rowsLaunch("crossEntropy", .ce_fw, .ce_fw_wg, cols: classes, rows: rows) { a, shape in
            try a.buffer(logits); try a.buffer(targets); try a.buffer(weights); try a.buffer(loss)
            try a.int(classes); try a.float(labelSmoothing); try a.int(weights == nil ? 0 : 1)
            if let shape { try a.int(shape.team); try a.int(rows); try a.local(floats: shape.local) }
        }
    }

    /// Float32 gradient of the cross-entropy with respect to the logits, in one launch of the tuned row variant.
    public func crossEntropyBackward(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        gradLoss: Tensor, gradScale: Float, into dLogits: Tensor, rows: Int, classes: Int
    ) throws {
        try requireFloat32(logits, op: "crossEntropyBackward")
        try rowsLaunch("crossEntropy", .ce_bw, .ce_bw_wg, cols: classes, rows: rows) { a, shape in
            try a.buffer(logits); try a.buffer(targets); try a.buffer(weights); try a.buffer(gradLoss); try a.buffer(dLogits)
            try a.int(classes); try a.float(labelSmoothing); try a.int(weights == nil ? 0 : 1)
            try a.int(gradLoss.count == rows ? 0 : 1); try a.float(gradScale)
            if let shape { try a.int(shape.team); try a.int(rows); try a.local(floats: shape.local) }
        }
    }
}
