// Kernel-device (OpenCL, CUDA) data movement for the shape ops (Ops/Shape.swift): fills and the strided copy, argument
// plumbing for Kernels/shape.cl.
import Foundation

extension KernelBackend {
    /// Sets every element of an Int32 or Float32 tensor to `value` in one launch.
    public func fill(_ y: Tensor, value: Double) throws {
        if y.dtype == .int32 {
            try launch(.fill_i, global: (y.count, 1, 1)) { a in
                try a.buffer(y); try a.int(Int(value)); try a.int(y.count)
            }
        } else {
            try requireFloat32(y, op: "fill")
            try launch(.fill_f, global: (y.count, 1, 1)) { a in
                try a.buffer(y); try a.float(Float(value)); try a.int(y.count)
            }
        }
    }

    /// Copies 4-byte elements through the layout's four strided dimensions in one `copy4` launch.
    public func copyStrided(_ x: Tensor, into y: Tensor, layout l: StridedLayout) throws {
        guard x.dtype.byteSize == 4 else { throw DiveError.unsupportedDType(op: "copy", dtype: x.dtype, device: displayName) }
        try launch(.copy4, global: (l.shape[3], l.shape[2], l.shape[0] * l.shape[1])) { a in
            try a.buffer(x); try a.buffer(y)
            try a.int4(l.shape); try a.int4(l.srcStrides); try a.int4(l.dstStrides)
            try a.int(l.srcOffset); try a.int(l.dstOffset)
        }
    }
}
