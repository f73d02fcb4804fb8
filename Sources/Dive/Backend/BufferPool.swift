// Size-bucketed free lists that let training loops reuse device memory instead of allocating
// every step. Shapes repeat exactly from step to step, so buckets are exact byte counts.
import Foundation

/// A free list keyed by byte count, with a cap on the bytes it keeps. Thread-safe.
final class FreeList<Handle> {
    private var lists: [Int: [Handle]] = [:]
    private var keptBytes = 0
    private let capBytes: Int
    private let lock = NSLock()

    init(capBytes: Int) { self.capBytes = capBytes }

    /// A pooled handle of exactly `byteCount` bytes, if one is free.
    func take(byteCount: Int) -> Handle? {
        lock.lock(); defer { lock.unlock() }
        guard var list = lists[byteCount], let handle = list.popLast() else { return nil }
        lists[byteCount] = list
        keptBytes -= byteCount
        return handle
    }

    /// Keeps `handle` for reuse; returns false when the pool is full (the caller frees it).
    func put(_ handle: Handle, byteCount: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard keptBytes + byteCount <= capBytes else { return false }
        lists[byteCount, default: []].append(handle)
        keptBytes += byteCount
        return true
    }

    /// Removes and returns everything kept (to free it).
    func drain() -> [Handle] {
        lock.lock(); defer { lock.unlock() }
        let all = lists.values.flatMap { $0 }
        lists = [:]
        keptBytes = 0
        return all
    }
}

/// The CPU backend's pool of aligned host allocations.
final class HostBufferPool {
    private let free = FreeList<UnsafeMutableRawPointer>(capBytes: 2 << 30)

    func allocate(byteCount: Int) -> CPUBuffer {
        let pointer = free.take(byteCount: byteCount)
            ?? UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        return CPUBuffer(pointer: pointer, byteCount: byteCount, pool: self)
    }

    func recycle(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if !free.put(pointer, byteCount: byteCount) { pointer.deallocate() }
    }
}
