// Kernel-device (OpenCL, CUDA) cross-entropy (Ops/Losses.swift) forward and backward: argument plumbing for Kernels/losses.cl.
import Foundation

extension KernelBackend {
    /// Float32 cross-entropy with label smoothing and row weights, one work-item per row.
    public func crossEntropy(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        into loss: Tensor, rows: Int, classes: Int
    ) throws {
        try requireFloat32(logits, op: "crossEntropy")
        try launch(.ce_fw, global: (rows, 1, 1)) { a in
            try a.buffer(logits); try a.buffer(targets); try a.buffer(weights); try a.buffer(loss)
            try a.int(classes); try a.float(labelSmoothing); try a.int(weights == nil ? 0 : 1)
        }
    }

    /// Float32 gradient of the cross-entropy with respect to the logits, one work-item per row.
    public func crossEntropyBackward(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        gradLoss: Tensor, gradScale: Float, into dLogits: Tensor, rows: Int, classes: Int
    ) throws {
        try requireFloat32(logits, op: "crossEntropyBackward")
        try launch(.ce_bw, global: (rows, 1, 1)) { a in
            try a.buffer(logits); try a.buffer(targets); try a.buffer(weights); try a.buffer(gradLoss); try a.buffer(dLogits)
            try a.int(classes); try a.float(labelSmoothing); try a.int(weights == nil ? 0 : 1)
            try a.int(gradLoss.count == rows ? 0 : 1); try a.float(gradScale)
        }
    }
}
