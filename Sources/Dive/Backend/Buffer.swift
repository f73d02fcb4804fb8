// `Buffer`: a block of device memory owned by one backend. Tensors share buffers (a reshape is
// free); when the last tensor holding a buffer dies, ARC returns it to its backend's pool.

public class Buffer {
    /// Size in bytes as requested (the allocation may be larger).
    public let byteCount: Int

    init(byteCount: Int) { self.byteCount = byteCount }
}

/// Host memory for the CPU backend, 64-byte aligned.
final class CPUBuffer: Buffer {
    let pointer: UnsafeMutableRawPointer
    private let pool: HostBufferPool

    init(pointer: UnsafeMutableRawPointer, byteCount: Int, pool: HostBufferPool) {
        self.pointer = pointer
        self.pool = pool
        super.init(byteCount: byteCount)
    }

    deinit { pool.recycle(pointer, byteCount: byteCount) }
}
