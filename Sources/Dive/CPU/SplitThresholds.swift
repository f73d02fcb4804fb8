// The work below which each family of CPU ops stays on one thread: a split pays only where the
// work outweighs the hand-off to the other cores. `dive tune --device cpu` measures the four
// thresholds on this machine (`CPUBackend.tuneSplitThresholds`) and caches them under DIVE_CACHE,
// one file per thread count; without that file the defaults apply.
import Foundation

/// The op families whose loops the CPU splits across cores, each with its own threshold.
enum OpFamily {
    /// Matrix products: work is multiply-adds.
    case gemm
    /// Recurrent cells: work is rows × gate units.
    case cells
    /// Row ops (softmax, layer norm, cross-entropy, reductions): work is a rough count of
    /// floating-point operations.
    case rows
    /// Elementwise ops (adds, activations, dropout, copies, optimiser updates): work is a rough
    /// count of floating-point operations. Their memory traffic makes a split pay on large
    /// tensors sooner than for row ops of the same count.
    case elementwise
}

/// Per op family, the work from which a loop is split across the cores.
public struct SplitThresholds: Codable, Equatable, Sendable {
    /// Multiply-adds of a matrix product.
    public var gemm: Int
    /// Rows × gate units of a recurrent cell step.
    public var cells: Int
    /// Floating-point operations of a row op.
    public var rows: Int
    /// Floating-point operations of an elementwise op.
    public var elementwise: Int

    /// Builds thresholds from their four values.
    public init(gemm: Int, cells: Int, rows: Int, elementwise: Int) {
        self.gemm = gemm; self.cells = cells; self.rows = rows; self.elementwise = elementwise
    }

    /// Before tuning: what `dive tune --device cpu` chose on a 2-core x86 machine, rounded down
    /// (a split there lost to one thread below about 459k multiply-adds, 1.5k–6k cell units, 16k
    /// row flops and 33k elementwise flops).
    public static let defaults = SplitThresholds(gemm: 400_000, cells: 4_096, rows: 16_384, elementwise: 32_768)
    /// No op splits (the one-thread side of a measurement).
    public static let never = SplitThresholds(gemm: .max, cells: .max, rows: .max, elementwise: .max)
    /// Every op of two items or more splits (the split side of a measurement).
    public static let always = SplitThresholds(gemm: 0, cells: 0, rows: 0, elementwise: 0)

    /// The threshold of `family`.
    subscript(family: OpFamily) -> Int {
        switch family {
        case .gemm: gemm
        case .cells: cells
        case .rows: rows
        case .elementwise: elementwise
        }
    }

    /// The tuned thresholds' file for `threads` worker threads.
    public static func cacheFile(threads: Int) -> URL? {
        CacheFolder.folder("cpu")?.appendingPathComponent("split-thresholds-\(threads)-threads.json")
    }
}

/// The thresholds in force: the cached tuning for this thread count, else the defaults, until a
/// tuning replaces them.
final class SplitThresholdStore: @unchecked Sendable {  // Safe: `lock` guards both properties.
    static let shared = SplitThresholdStore()
    private let lock = NSLock()
    private var value: SplitThresholds?
    private var tuned = false

    /// The thresholds in force (read from the cache on first use).
    var current: SplitThresholds {
        lock.withLock {
            if let value { return value }
            let cached = SplitThresholds.cacheFile(threads: Parallel.threadCount).flatMap { try? Data(contentsOf: $0) }
                .flatMap { try? JSONDecoder().decode(SplitTuning.self, from: $0) }
            tuned = cached != nil
            value = cached?.thresholds ?? .defaults
            return value!
        }
    }

    /// Whether the thresholds in force were measured on this machine (cached or just now).
    var isTuned: Bool {
        _ = current
        return lock.withLock { tuned }
    }

    /// Puts measured thresholds in force.
    func set(_ thresholds: SplitThresholds) {
        lock.withLock {
            value = thresholds; tuned = true
        }
    }
}

/// What `dive tune --device cpu` measured and chose, as cached.
public struct SplitTuning: Codable, Sendable {
    /// One problem of a family timed both ways.
    public struct Timing: Codable, Sendable {
        /// "gemm", "cells", "rows" or "elementwise"; the problem ("128×128×128"); its work in the family's unit.
        public var family: String, problem: String, work: Int
        /// Seconds per call on one thread and split across `threads`, the fastest of the samples.
        public var oneThread: Double, split: Double
    }
    /// Worker threads the splits ran on.
    public var threads: Int
    /// The chosen thresholds.
    public var thresholds: SplitThresholds
    /// Every problem timed, smallest first per family.
    public var timings: [Timing]
}
