// `Buffer`: a block of device memory owned by one backend. Tensors share buffers (a reshape is
// free); when the last tensor holding a buffer dies, ARC returns it to its backend's pool.
// A view is a buffer inside another allocation (a row block of a matrix); it keeps that
// allocation alive and goes back to no pool itself.

/// A block of device memory owned by one backend and shared by tensors; a view lies inside another allocation.
public class Buffer {
    /// Size in bytes as requested (the allocation may be larger).
    public let byteCount: Int
    /// For a view, the allocation it lies in (never itself a view) and its first byte there;
    /// nil and 0 for an allocation.
    public let viewed: Buffer?
    /// For a view, the byte offset of its first byte in `viewed`; 0 for an allocation.
    public let byteOffset: Int

    init(byteCount: Int, viewing allocation: Buffer? = nil, at byteOffset: Int = 0) {
        self.byteCount = byteCount
        self.viewed = allocation
        self.byteOffset = byteOffset
    }

    /// The allocation this buffer lies in (itself for an allocation).
    public var allocation: Buffer { viewed ?? self }
}

/// Host memory for the CPU backend, 64-byte aligned (a view: wherever it starts).
final class CPUBuffer: Buffer {
    let pointer: UnsafeMutableRawPointer
    private let pool: HostBufferPool?

    init(pointer: UnsafeMutableRawPointer, byteCount: Int, pool: HostBufferPool) {
        self.pointer = pointer
        self.pool = pool
        super.init(byteCount: byteCount)
    }

    /// `byteCount` bytes of `allocation` from `byteOffset` on.
    init(viewing allocation: CPUBuffer, at byteOffset: Int, byteCount: Int) {
        pointer = allocation.pointer + byteOffset
        pool = nil
        super.init(byteCount: byteCount, viewing: allocation, at: byteOffset)
    }

    deinit { pool?.recycle(pointer, byteCount: byteCount) }
}
