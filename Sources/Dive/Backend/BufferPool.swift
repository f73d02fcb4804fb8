// Size-bucketed free lists that let training loops reuse device memory instead of allocating
// every step. Shapes repeat exactly from step to step, so buckets are exact byte counts.
import Foundation

/// A free list keyed by byte count, with a cap on the bytes it keeps. Thread-safe. Without an
/// order, the handle put back last is taken first; with one, the least handle, so which handle a
/// request gets depends on what is free, not on the order it was freed in (CUDA: a step that
/// repeats gets the same addresses, and its graph's arguments stay the same).
final class FreeList<Handle>: @unchecked Sendable {  // Safe: every access holds `lock`.
    private var lists: [Int: [Handle]] = [:]
    private var keptBytes = 0
    private let capBytes: Int
    private let order: ((Handle, Handle) -> Bool)?
    private let lock = NSLock()

    init(capBytes: Int, order: ((Handle, Handle) -> Bool)? = nil) {
        self.capBytes = capBytes
        self.order = order
    }

    /// A pooled handle of exactly `byteCount` bytes, if one is free.
    func take(byteCount: Int) -> Handle? {
        lock.lock(); defer { lock.unlock() }
        guard let handle = lists[byteCount]?.popLast() else { return nil }  // in place, no copy of the list
        keptBytes -= byteCount
        return handle
    }

    /// Keeps `handle` for reuse; returns false when the pool is full (the caller frees it).
    func put(_ handle: Handle, byteCount: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard keptBytes + byteCount <= capBytes else { return false }
        if let order {
            lists[byteCount, default: []].insertKeepingDescending(handle, by: order)
        } else {
            lists[byteCount, default: []].append(handle)
        }
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

extension Array {
    /// Inserts `element` into an array sorted from greatest to least by `less`, keeping it so
    /// (binary search; popLast then takes the least).
    fileprivate mutating func insertKeepingDescending(_ element: Element, by less: (Element, Element) -> Bool) {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if less(element, self[mid]) { lo = mid + 1 } else { hi = mid }
        }
        insert(element, at: lo)
    }
}

/// The CPU backend's pool of aligned host allocations.
final class HostBufferPool: Sendable {
    private let free = FreeList<UnsafeMutableRawPointer>(capBytes: 2 << 30)

    func allocate(byteCount: Int) -> CPUBuffer {
        let pointer =
            free.take(byteCount: byteCount)
            ?? UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        return CPUBuffer(pointer: pointer, byteCount: byteCount, pool: self)
    }

    func recycle(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if !free.put(pointer, byteCount: byteCount) { pointer.deallocate() }
    }
}
