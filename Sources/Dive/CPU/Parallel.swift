// Splitting loops across the CPU's cores. Small loops run inline: a thread hand-off costs more
// than the book's hidden-32 ops take.
import Dispatch
import Foundation

enum Parallel {
    /// Worker threads: the online cores, or `DIVE_THREADS` (e.g. when pinned with taskset, which
    /// the core count does not see).
    static let threadCount = max(1, ProcessInfo.processInfo.environment["DIVE_THREADS"].flatMap { Int($0) }
                                     ?? ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body` over contiguous chunks of 0..<count. `costPerItem` is a rough count of
    /// floating-point operations (or bytes) per item; below ~64k in all the loop stays on this thread.
    static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let threads = min(threadCount, count)
        if threads == 1 || count * max(costPerItem, 1) < 65_536 {
            body(0..<count)
            return
        }
        let chunk = (count + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = t * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}
