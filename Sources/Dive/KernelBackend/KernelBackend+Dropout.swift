// Kernel-device (OpenCL, CUDA) dropout (Ops/Dropout.swift): argument plumbing for Kernels/dropout.cl.
import Foundation

extension KernelBackend {
    /// Float32 dropout in one launch of the `dropout` kernel, one work-item per element.
    public func dropout(_ x: Tensor, mask: DropoutMask, into y: Tensor) throws {
        try requireFloat32(x, op: "dropout")
        try launch(.dropout, global: (x.count, 1, 1)) { a in
            try a.buffer(x); try a.buffer(y); try a.int(x.count); try a.float(mask.p); try a.ulong(mask.seed); try a.stepValue(mask.offset)
            try a.int(mask.block); try a.int(mask.stride)
        }
    }
}
