// Splitting loops across the CPU's cores, on the worker pool of CKernels' worker_pool.c. Small
// loops run inline: a hand-off costs more than the book's hidden-32 ops take. A minibatch split
// into shards (`CPUBackend.forEachShard`) runs each shard's ops on one thread, so no op splits
// inside a shard.
// How work is cut never depends on the thread count where the cut would change a sum's order:
// a run's numbers are the same for any `DIVE_THREADS`.
import CKernels
import Foundation

enum Parallel {
    /// Worker threads: the online cores, or `DIVE_THREADS` (e.g. when pinned with taskset, which
    /// the core count does not see).
    static let threadCount = max(
        1,
        ProcessInfo.processInfo.environment["DIVE_THREADS"].flatMap { Int($0) }
            ?? ProcessInfo.processInfo.activeProcessorCount)

    /// Set while a thread runs one shard of a minibatch: its ops stay on that thread.
    @TaskLocal static var isInsideShard = false

    /// The threads an op may split over here: 1 inside a shard, else `threadCount`.
    static var width: Int { isInsideShard ? 1 : threadCount }

    /// Set by a measurement around its calls (`never` or `always`); nil: the thresholds in force.
    @TaskLocal static var forcedThresholds: SplitThresholds? = nil

    /// Per op family, the work from which a loop splits: the tuned thresholds (`dive tune --device
    /// cpu`, or the first training on the CPU) or the defaults.
    static var thresholds: SplitThresholds { forcedThresholds ?? SplitThresholdStore.shared.current }

    /// Runs `body` over contiguous chunks of 0..<count. `costPerItem` is the work of one item in
    /// `family`'s unit; below the family's threshold in all, the loop stays on this thread.
    static func forRanges(_ count: Int, costPerItem: Int = 1, family: OpFamily = .rows, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let threads = min(width, count)
        let (work, overflow) = count.multipliedReportingOverflow(by: max(costPerItem, 1))
        if threads == 1 || (!overflow && work < thresholds[family]) {
            body(0..<count)
            return
        }
        let chunk = (count + threads - 1) / threads
        forEach(threads) { t in
            let start = t * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }

    /// Runs `body(0)` … `body(count - 1)` on the worker threads (in order on this one inside a
    /// shard) and returns when all have finished. Callers give each index its own rows of the outputs.
    static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if isInsideShard || count == 1 || threadCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        _ = poolThreads
        withoutActuallyEscaping(body) { body in
            // Safe: dive_pool_run returns only after every piece has run, so `body` is never used
            // after this call, and the pieces write disjoint memory.
            var piece = body
            withUnsafeMutablePointer(to: &piece) { context in dive_pool_run(count, runPiece, context) }
        }
    }

    /// Runs piece `index` of the closure `context` points to (a C function for the pool).
    private static let runPiece: dive_pool_body = { context, index in
        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
    }

    /// The worker pool (CKernels' worker_pool.c), started on the first split: `threadCount` - 1
    /// workers beside the calling thread.
    private static let poolThreads = Int(dive_pool_start(Int32(threadCount)))
}

/// A value handed to other threads where the compiler cannot prove it safe; every use says why it is.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
