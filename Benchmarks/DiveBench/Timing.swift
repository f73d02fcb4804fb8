// Timing harness: warm up, repeat, and report the median and spread of wall-clock times,
// synchronising the device before each clock read.
import Dive
import Foundation

/// One measured operation on one device.
public struct BenchResult: Sendable {
    public var op: String
    public var device: String
    public var shape: String
    public var samplesMs: [Double]
    /// Floating-point operations per run (for GFLOP/s), or nil.
    public var flops: Double?
    /// Bytes moved per run (for GB/s), or nil.
    public var bytes: Double?
    /// Extra fields for the JSON line (e.g. the fraction of a reference).
    public var extra: [String: String] = [:]

    public var medianMs: Double { BenchResult.percentile(samplesMs, 0.5) }
    /// Half the distance between the 25th and 75th percentiles, relative to the median.
    public var spread: Double {
        (BenchResult.percentile(samplesMs, 0.75) - BenchResult.percentile(samplesMs, 0.25)) / 2 / max(medianMs, 1e-12)
    }
    public var gflops: Double? { flops.map { $0 / (medianMs * 1e-3) / 1e9 } }
    public var gbps: Double? { bytes.map { $0 / (medianMs * 1e-3) / 1e9 } }

    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let lo = Int(position.rounded(.down)), hi = Int(position.rounded(.up))
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - Double(lo))
    }

    /// One JSON object on one line.
    public var jsonLine: String {
        var fields: [(String, String)] = [
            ("op", quote(op)), ("device", quote(device)), ("shape", quote(shape)),
            ("median_ms", format(medianMs)), ("spread", format(spread)), ("runs", "\(samplesMs.count)")
        ]
        if let g = gflops { fields.append(("gflops", format(g))) }
        if let g = gbps { fields.append(("gbps", format(g))) }
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { fields.append((k, v)) }
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// A fixed-width line for people.
    public var textLine: String {
        let rate = gflops.map { String(format: "%8.1f GFLOP/s", $0) } ?? gbps.map { String(format: "%8.1f GB/s   ", $0) } ?? ""
        let note = extra.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return String(
            format: "%-20@ %-10@ %-24@ %10.3f ms ±%4.1f%%  ", op as NSString, device as NSString, shape as NSString,
            medianMs, spread * 100) + rate + (note.isEmpty ? "" : "  " + note)
    }

    private func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
    private func format(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }
}

public enum Timing {
    /// Runs `body` `warmup` times, then times it until `minRuns` samples and `minSeconds` have
    /// passed (at most `maxRuns`); `sync` waits for the device before each clock read. A body
    /// shorter than `minSampleMs` runs several times back to back per sample (enqueued without
    /// waiting, as training runs kernels) and each sample is the time per run, so a GPU kernel of
    /// a few microseconds is not measured as the latency of one launch and one wait.
    public static func measure(
        warmup: Int = 2, minRuns: Int = 7, maxRuns: Int = 50, minSeconds: Double = 0.3,
        minSampleMs: Double = 1, sync: () throws -> Void, _ body: () throws -> Void
    ) rethrows -> [Double] {
        for _ in 0..<warmup { try body() }
        try sync()
        let probe = DispatchTime.now().uptimeNanoseconds
        try body()
        try sync()
        let once = Double(DispatchTime.now().uptimeNanoseconds - probe) / 1e6
        let reps = max(1, min(100, Int((minSampleMs / max(once, 1e-6)).rounded(.up))))
        var samples: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        while samples.count < maxRuns {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<reps { try body() }
            try sync()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(reps))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if samples.count >= minRuns && elapsed >= minSeconds { break }
        }
        return samples
    }
}
