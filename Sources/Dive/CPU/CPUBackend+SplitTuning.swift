// `dive tune --device cpu`: each op family's split threshold measured on this machine. Per family
// a ladder of problems (two for GEMM: square and skinny, the larger threshold kept) is timed on
// one thread and split across the worker threads, alternately;
// the threshold is the work of the smallest problem on which the split wins and from which it
// loses clearly on no larger one (never, if there is none). So on a small step the default is never slower
// than one thread. The choice is cached for the thread count (`SplitThresholds.cacheFile`), and
// the first training on the CPU makes it when nothing is cached.
import Foundation

extension CPUBackend {
    /// Times each family's ladder both ways, chooses the thresholds, and caches them (unless `cache` is false).
    public func tuneSplitThresholds(cache: Bool = true) throws -> SplitTuning {
        var timings: [SplitTuning.Timing] = []
        var chosen = SplitThresholds.never
        if Parallel.threadCount > 1 {
            // Square products, and skinny ones with an inner (or outer) size of 28 like the
            // language models' output layer: splitting pays later for the skinny ones.
            let square = try ladder("gemm", [16, 32, 64, 96, 128, 192, 256, 384, 512].map { n in try gemmProblem(n, n, n) })
            let skinny = try ladder("gemm", [64, 128, 256, 512, 1024, 2048].map { n in try gemmProblem(4 * n, n, 28) })
            let cells = try ladder("cells", [8, 32, 128, 256, 512, 1024, 2048, 4096].map { b in try cellProblem(batch: b, hidden: 64) })
            let rows = try ladder("rows", [32, 128, 512, 2048, 4096, 8192, 16384, 32768].map { r in try softmaxProblem(rows: r, cols: 64) })
            let elementwise = try ladder("elementwise", [4096, 16384, 65536, 262_144, 1 << 20, 1 << 22].map { n in try addProblem(n) })
            timings = square + skinny + cells + rows + elementwise
            chosen = SplitThresholds(
                gemm: max(Self.threshold(square), Self.threshold(skinny)), cells: Self.threshold(cells), rows: Self.threshold(rows),
                elementwise: Self.threshold(elementwise))
        }
        let tuning = SplitTuning(threads: Parallel.threadCount, thresholds: chosen, timings: timings)
        SplitThresholdStore.shared.set(chosen)
        if cache, let url = SplitThresholds.cacheFile(threads: Parallel.threadCount) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(tuning), to: url)
        }
        return tuning
    }

    /// The work of the smallest problem on which splitting wins by 5% and from which it loses by
    /// more than 5% on no larger one (a tie is noise on a shared machine); `Int.max` if there is none.
    static func threshold(_ timings: [SplitTuning.Timing]) -> Int {
        var from = Int.max
        for t in timings.reversed() {
            guard t.split < 1.05 * t.oneThread else { break }
            if t.split < 0.95 * t.oneThread { from = t.work }
        }
        return from
    }

    /// Tunes the split thresholds once per machine and thread count, at the start of a training
    /// on the CPU (about 2 s): nothing when they are cached or there is one worker thread.
    public static func tuneSplitThresholdsIfNeeded() throws {
        guard Parallel.threadCount > 1, !SplitThresholdStore.shared.isTuned else { return }
        _ = try shared.tuneSplitThresholds()
    }

    /// A problem of a family: its name, its work, and one call of it.
    private typealias Problem = (name: String, work: Int, run: () throws -> Void)

    /// Each problem timed on one thread and split, alternately, median seconds per call.
    private func ladder(_ family: String, _ problems: [Problem]) throws -> [SplitTuning.Timing] {
        try problems.map { p in
            var one: [Double] = [], split: [Double] = []
            for _ in 0..<2 { try p.run() }
            for _ in 0..<9 {
                one.append(try Parallel.$forcedThresholds.withValue(.never) { try Self.seconds(p.run) })
                split.append(try Parallel.$forcedThresholds.withValue(.always) { try Self.seconds(p.run) })
            }
            // The fastest sample of each: what another process on the machine adds is noise.
            return SplitTuning.Timing(family: family, problem: p.name, work: p.work, oneThread: one.min()!, split: split.min()!)
        }
    }

    /// Seconds per call, over as many calls as fill 2 ms.
    private static func seconds(_ run: () throws -> Void) throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var calls = 0, elapsed: UInt64 = 0
        repeat {
            try run()
            calls += 1
            elapsed = DispatchTime.now().uptimeNanoseconds - t0
        } while elapsed < 2_000_000
        return Double(elapsed) / 1e9 / Double(calls)
    }

    /// An (m, k) × (k, n) product.
    private func gemmProblem(_ m: Int, _ n: Int, _ k: Int) throws -> Problem {
        let a = try Tensor.ones([m, k], on: self), b = try Tensor.ones([k, n], on: self), c = try Tensor.zeros([m, n], on: self)
        return (
            "\(m)×\(n)×\(k)", m * n * k,
            { try self.gemm(a, b, into: c, shape: GemmShape(m: m, n: n, k: k), alpha: 1, beta: 0, bias: nil, relu: false) }
        )
    }

    /// One GRU cell step forward of `batch` rows of `hidden` units.
    private func cellProblem(batch: Int, hidden: Int) throws -> Problem {
        let g = 3 * hidden
        let gi = try Tensor.ones([1, batch, g], on: self), gh = try Tensor.ones([batch, g], on: self)
        let bias = try Tensor.zeros([g], on: self), h = try Tensor.zeros([batch, hidden], on: self)
        let out = try Tensor.zeros([1, batch, hidden], on: self),
            saved = try Tensor.zeros([1, batch, CellKind.gru.savedBlocks * hidden], on: self)
        let step = CellStep(batch: batch, hidden: hidden, t: 0, slot: 0, prevOffset: 0)
        return (
            "gru \(batch)×\(hidden)", batch * g,
            { self.cellForwardFloat(.gru, gi, gh, bias, h, nil, out, nil, saved, step) }
        )
    }

    /// c = a + b over `count` elements.
    private func addProblem(_ count: Int) throws -> Problem {
        let a = try Tensor.ones([count], on: self), b = try Tensor.ones([count], on: self), c = try Tensor.zeros([count], on: self)
        let plan = try BroadcastPlan.make([count], [count], op: "add")
        return ("add \(count)", 2 * count, { try self.binary(.add, a, b, into: c, plan: plan) })
    }

    /// A softmax over `rows` rows of `cols`.
    private func softmaxProblem(rows: Int, cols: Int) throws -> Problem {
        let x = try Tensor.ones([rows, cols], on: self), y = try Tensor.zeros([rows, cols], on: self)
        return ("softmax \(rows)×\(cols)", rows * 8 * cols, { try self.maskedSoftmax(x, validLens: nil, into: y, rows: rows, cols: cols) })
    }
}
