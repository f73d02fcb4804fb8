// One tuner for every family whose kernel a GPU picks by timing: GEMM tiles (GemmPlanner),
// recurrences and the row kernels. On first use of a shape, each candidate that can run it is
// timed on the device and the fastest is kept for the process and under DIVE_CACHE; every
// candidate's time is kept in `tunedChoices`, so `dive tune --json` and the device bundle show the
// candidates that lost too.
import Foundation

/// One tuned choice: an op family's shape, each candidate's median seconds, and the one chosen.
public struct TunedChoice: Codable, Equatable, Sendable {
    /// The op family ("gemm", "recurrent", "softmax", ...) and a text key for the tuned shape.
    public var family: String, shape: String
    /// Each candidate's median seconds on the shape, by candidate name (empty when read from the cache).
    public var seconds: [String: Double]
    /// The name of the candidate kept for the shape (the fastest, when timed).
    public var chosen: String
    /// Whether it was read from DIVE_CACHE rather than timed in this process (no times then).
    public var cached: Bool
}

final class Tuner {
    unowned let backend: KernelBackend
    private var chosen: [String: String] = [:]

    init(backend: KernelBackend) { self.backend = backend }

    /// The fastest of `candidates` (names) for `shape` of `family`: chosen before in this process,
    /// cached, or timed now with `time` (median seconds of the candidate on that shape). `program`
    /// is the Kernels/*.cl file whose text keys the cache. `retime` times them even where a choice
    /// exists (`dive tune`). One candidate is chosen untimed; none gives nil.
    func choose(
        family: String, shape: String, program: String, candidates: [String], retime: Bool = false,
        time: (String) throws -> Double
    ) throws -> String? {
        backend.lock.lock(); defer { backend.lock.unlock() }
        let key = family + " " + shape
        if !retime, let c = chosen[key], candidates.contains(c) { return c }
        guard candidates.count > 1 else { chosen[key] = candidates.first; return candidates.first }
        let file = backend.tuningFile(
            program: program, "\(family)-tuning-" + shape.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined())
        if !retime, let file, let data = try? Data(contentsOf: file), let cached = try? JSONDecoder().decode(TunedChoice.self, from: data),
            candidates.contains(cached.chosen)
        {
            backend.tuned.append(TunedChoice(family: family, shape: shape, seconds: [:], chosen: cached.chosen, cached: true))
            chosen[key] = cached.chosen
            return cached.chosen
        }
        let timed = try candidates.map { (name: $0, seconds: try time($0)) }
        guard let pick = timed.min(by: { $0.seconds < $1.seconds })?.name else { return nil }
        let seconds = Dictionary(timed.map { ($0.name, $0.seconds) }, uniquingKeysWith: { first, _ in first })
        let choice = TunedChoice(family: family, shape: shape, seconds: seconds, chosen: pick, cached: false)
        backend.tuned.append(choice)
        let times = timed.map { "\($0.name) \(String(format: "%.3g", $0.seconds * 1e3)) ms" }
        Log.device.debug("\(family) tuned for \(shape): \(pick) (\(times.joined(separator: ", ")))")
        if let file, let data = try? JSONEncoder().encode(choice) { try? AtomicFile.write(data, to: file) }
        chosen[key] = pick
        return pick
    }
}

extension Tuner {
    /// Runs `body`, which retimes one shape (`dive tune`), and returns the choice it recorded, or nil
    /// where it timed nothing (fewer than two candidates, or a CPU-type device).
    func retimed(_ body: () throws -> Void) throws -> TunedChoice? {
        backend.lock.lock(); defer { backend.lock.unlock() }
        let before = backend.tuned.count
        try body()
        return backend.tuned.count > before ? backend.tuned.last : nil
    }
}

extension KernelBackend {
    /// Every choice the tuned families (GEMM, recurrences, rows) made on this device so far, in order.
    public var tunedChoices: [TunedChoice] {
        lock.lock(); defer { lock.unlock() }
        return tuned
    }
}
