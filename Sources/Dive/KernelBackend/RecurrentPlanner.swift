// The recurrence `auto` runs on a GPU. On first use of a shape (cell, steps, batch, hidden), each
// candidate that can run it (`groups`, `split`, `persistent`) trains one forward and backward of
// that shape on the device, and the fastest is kept for the process and under DIVE_CACHE. Every
// time is kept too (`KernelBackend.tunedChoices`), so the device bundle shows the candidates that
// lost as well.
import Foundation

/// One tuned choice: an op family's shape, each candidate's median seconds, and the one chosen.
public struct TunedChoice: Codable, Equatable, Sendable {
    public var family: String, shape: String
    public var seconds: [String: Double]
    public var chosen: String
    /// Whether it was read from DIVE_CACHE rather than timed in this process (no times then).
    public var cached: Bool
}

final class RecurrentPlanner {
    unowned let backend: KernelBackend
    /// The candidates `auto` times on GPUs.
    static let candidates: [RecurrentPath] = [.groups, .split, .persistent]
    private struct Shape: Hashable { var cell: CellKind, steps, batch, hidden: Int }
    private var chosen: [Shape: RecurrentLaunch] = [:]

    init(backend: KernelBackend) { self.backend = backend }

    /// The launch `auto` takes for this shape: the cached or freshly timed fastest candidate, or the
    /// step-by-step path where none can run it.
    /// `retime`: time the candidates even where a choice is made or cached (`dive tune`).
    func launch(cell: CellKind, steps: Int, batch: Int, hidden: Int, retime: Bool = false) throws -> RecurrentLaunch {
        backend.lock.lock(); defer { backend.lock.unlock() }
        let shape = Shape(cell: cell, steps: steps, batch: batch, hidden: hidden)
        if !retime, let l = chosen[shape] { return l }
        var runnable: [(path: RecurrentPath, launch: RecurrentLaunch)] = []
        for p in Self.candidates {
            if let l = try backend.recurrentLaunch(p, cell: cell, steps: steps, batch: batch, hidden: hidden) { runnable.append((p, l)) }
        }
        let name = "\(cell) T=\(steps) B=\(batch) H=\(hidden)"
        let file = backend.tuningFile(program: "recurrent", "recurrent-tuning-\(cell)-\(steps)-\(batch)-\(hidden)")
        var pick: (path: RecurrentPath, launch: RecurrentLaunch)? = runnable.count == 1 ? runnable[0] : nil
        if pick == nil, !retime, let file, let data = try? Data(contentsOf: file), let cached = try? JSONDecoder().decode(TunedChoice.self, from: data),
           let hit = runnable.first(where: { $0.path.rawValue == cached.chosen }) {
            pick = hit
            backend.tuned.append(TunedChoice(family: "recurrent", shape: name, seconds: [:], chosen: hit.path.rawValue, cached: true))
        }
        if pick == nil && runnable.count > 1 {
            var seconds: [String: Double] = [:]
            for c in runnable {
                seconds[c.path.rawValue] = try KernelVariants.$recurrent.withValue(c.path) { try time(shape) }
            }
            pick = runnable.min { seconds[$0.path.rawValue]! < seconds[$1.path.rawValue]! }
            let choice = TunedChoice(family: "recurrent", shape: name, seconds: seconds, chosen: pick!.path.rawValue, cached: false)
            backend.tuned.append(choice)
            let times = seconds.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3g", $0.value * 1e3)) ms" }
            Log.device.info("recurrence tuned for \(name): \(pick!.path) (\(times.joined(separator: ", ")))")
            if let file, let data = try? JSONEncoder().encode(choice) { try? AtomicFile.write(data, to: file) }
        }
        let launch = pick?.launch ?? .byStep
        chosen[shape] = launch
        return launch
    }

    /// Median seconds of a forward and backward of `shape` with the variant in force.
    private func time(_ s: Shape) throws -> Double {
        let b = backend, G = s.cell.gates, T = s.steps, B = s.batch, H = s.hidden
        func filled(_ shape: [Int], _ v: Double) throws -> Tensor { try Tensor.full(shape, v, on: b) }
        let q = RecurrentSequence(cell: s.cell, steps: T, batch: B, hidden: H, reverse: false,
                                  gi: try filled([T, B, G * H], 0.01), wHH: try filled([G * H, H], 0.01), bHH: try filled([G * H], 0),
                                  h0: try filled([B, H], 0), cells: s.cell == .lstm ? try filled([T + 1, B, H], 0) : nil,
                                  out: try filled([T, B, H], 0), saved: try filled([T, B, 4 * H], 0))
        let gradOut = try filled([T, B, H], 0.01), dh = try filled([B, H], 0), dc = s.cell == .lstm ? try filled([B, H], 0) : nil
        let dGi = try filled([T, B, G * H], 0), dGh = try filled([T, B, G * H], 0)
        return try b.medianTime {
            try b.recurrentForward(q)
            try b.recurrentBackward(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        }
    }
}

extension KernelBackend {
    /// Every choice the tuned families (GEMM, recurrences) made on this device so far, in order.
    public var tunedChoices: [TunedChoice] {
        lock.lock(); defer { lock.unlock() }
        return tuned
    }

    /// Times the recurrence candidates for a shape now, even where a choice is cached (`dive
    /// tune`), and keeps the fastest; returns the choice, or nil where fewer than two can run it.
    public func tuneRecurrence(_ cell: CellKind, steps: Int, batch: Int, hidden: Int) throws -> TunedChoice? {
        guard limits.isGPU else { return nil }       // CPU-type devices run the vector kernels
        lock.lock(); defer { lock.unlock() }
        let before = tuned.count
        _ = try recurrentPlan.launch(cell: cell, steps: steps, batch: batch, hidden: hidden, retime: true)
        return tuned.count > before ? tuned.last : nil
    }
}
