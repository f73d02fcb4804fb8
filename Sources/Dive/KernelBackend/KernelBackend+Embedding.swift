// Kernel-device (OpenCL, CUDA) embedding lookup (Ops/Embedding.swift) and its scatter-add backward: argument plumbing
// for Kernels/embedding.cl.
import Foundation

extension KernelBackend {
    /// Float32 gather with scale, positions and dropout fused in one launch, a work-item per (column, row).
    public func embedding(
        table: Tensor, indices: Tensor, scale: Float, positions: Tensor?, dropout: DropoutMask?,
        into out: Tensor, count: Int, dim: Int
    ) throws {
        try requireFloat32(table, op: "embedding")
        try launch(.emb_fw, global: (dim, count, 1)) { a in
            try a.buffer(table); try a.buffer(indices); try a.buffer(out); try a.int(dim); try a.int(table.count / max(dim, 1))
            try a.float(scale); try a.buffer(positions); try a.int(positions.map { $0.count / max(dim, 1) } ?? 0)
            try a.dropout(dropout)
        }
    }

    /// Float32 scatter-add into dTable in one launch, one work-item per column walking every index in order.
    public func embeddingBackward(
        gradOutput dOut: Tensor, indices: Tensor, scale: Float, dropout: DropoutMask?,
        into dTable: Tensor, count: Int, dim: Int
    ) throws {
        try requireFloat32(dOut, op: "embeddingBackward")
        try launch(.emb_bw, global: (dim, 1, 1)) { a in
            try a.buffer(dOut); try a.buffer(indices); try a.buffer(dTable)
            try a.int(dim); try a.int(dTable.count / max(dim, 1)); try a.int(count); try a.float(scale)
            try a.dropout(dropout)
        }
    }
}
