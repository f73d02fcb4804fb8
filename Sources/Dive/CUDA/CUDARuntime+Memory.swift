// CUDARuntime's memory: device allocations in a caching pool, views, uploads staged in pinned host
// memory and copied asynchronously, downloads, and page-locked host memory.
import Foundation

extension CUDARuntime {
    func createAllocation(byteCount: Int) throws -> UInt64 {
        var address: UInt64 = 0
        var status = api.memAlloc(&address, max(byteCount, 4))
        if status == Self.outOfMemory {
            // Give the pool back and try once more, once nothing queued can still use it.
            try finish()
            for a in free.drain() { _ = api.memFree(a) }
            status = api.memAlloc(&address, max(byteCount, 4))
        }
        if status == Self.outOfMemory {
            throw DiveError.outOfMemory(device: displayName, requestedBytes: byteCount, deviceBytes: info.memoryBytes)
        }
        try api.check(status, "cuMemAlloc", "\(byteCount) bytes")
        return address
    }

    func allocate(byteCount: Int) throws -> Buffer {
        _ = api.setCurrent(context)
        let address = try free.take(byteCount: byteCount) ?? createAllocation(byteCount: byteCount)
        return CUDABuffer(address: address, byteCount: byteCount, owner: self)
    }

    /// Any 256-byte-aligned offset: the kernels' vector loads assume at least their vector's alignment.
    func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer? {
        let allocation = unsafeDowncast(buffer.allocation, to: CUDABuffer.self)
        guard byteCount > 0, byteOffset >= 0, byteOffset + byteCount <= allocation.byteCount, byteOffset % 256 == 0 else { return nil }
        return CUDABuffer(viewing: allocation, at: byteOffset, byteCount: byteCount)
    }

    /// Back to the pool (reused in stream order, which recorded launches keep), else freed, but
    /// not while recorded launches may still use it.
    func recycle(_ address: UInt64, byteCount: Int) {
        guard !free.put(address, byteCount: byteCount) else { return }
        if recorder.deferFree(address) { return }
        _ = api.setCurrent(context)
        _ = api.streamSynchronize(stream)  // queued kernels may still use it
        _ = api.memFree(address)
    }

    func address(_ buffer: Buffer) -> UInt64 { unsafeDowncast(buffer, to: CUDABuffer.self).address }

    /// Copies the bytes into a pinned block and queues the copy from there; the block goes back to
    /// its pool once an event behind the copy has passed.
    func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws {
        guard bytes.baseAddress != nil, bytes.count > 0 else { return }
        _ = api.setCurrent(context)
        // An upload is not part of a step's graph: it goes ahead of it on the stream, which is
        // safe unless a launch recorded earlier in this step uses the same memory.
        if recorder.recording != nil && recorder.usedAllocations.contains(address(buffer.allocation)) { try issueRecorded() }
        try stage(bytes, to: address(buffer))
    }

    /// The copy of `upload`, queued on the stream as it is.
    func stage(_ bytes: UnsafeRawBufferPointer, to destination: UInt64) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        releaseCompletedUploads()
        var block = pinned.take(byteCount: bytes.count)
        if block == nil { try api.check(api.hostAlloc(&block, bytes.count, 0), "cuMemHostAlloc", "\(bytes.count) bytes") }
        guard let block else { throw DiveError.outOfMemory(device: "pinned host memory", requestedBytes: bytes.count, deviceBytes: 0) }
        block.copyMemory(from: base, byteCount: bytes.count)
        var event: OpaquePointer?
        do {
            try api.check(api.copyToDevice(destination, block, bytes.count, stream), "cuMemcpyHtoDAsync", "\(bytes.count) bytes")
            try api.check(api.eventCreate(&event, 2), "cuEventCreate")  // CU_EVENT_DISABLE_TIMING
            try api.check(api.eventRecord(event, stream), "cuEventRecord")
        } catch {
            try? finish()
            if !pinned.put(block, byteCount: bytes.count) { _ = api.hostFree(block) }
            throw error
        }
        staged.append((event, block, bytes.count))
    }

    /// Page-locked host memory (cuMemHostAlloc): copies to and from it go straight to the device.
    func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer {
        _ = api.setCurrent(context)
        var p: UnsafeMutableRawPointer?
        try api.check(api.hostAlloc(&p, max(byteCount, 1), 0), "cuMemHostAlloc", "\(byteCount) bytes")
        guard let p else { throw DiveError.outOfMemory(device: "pinned host memory", requestedBytes: byteCount, deviceBytes: 0) }
        return p
    }

    func freeHost(_ pointer: UnsafeMutableRawPointer) { _ = api.hostFree(pointer) }

    func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = api.setCurrent(context)
        try issueRecorded()
        try api.check(api.copyToHost(base, address(buffer), bytes.count, stream), "cuMemcpyDtoHAsync", "\(bytes.count) bytes")
        try finish()
    }

    /// Returns the pinned blocks of completed uploads to their pool (in stream order: stops at
    /// the first still pending).
    func releaseCompletedUploads() {
        var done = 0
        for (event, block, count) in staged {
            guard api.eventQuery(event) != Self.notReady else { break }
            _ = api.eventDestroy(event)
            if !pinned.put(block, byteCount: count) { _ = api.hostFree(block) }
            done += 1
        }
        if done > 0 { staged.removeFirst(done) }
    }
}
