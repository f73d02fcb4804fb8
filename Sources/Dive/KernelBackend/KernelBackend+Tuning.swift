// What the tuned op families share (GEMM in KernelBackend+MatMul.swift, recurrences in
// KernelBackend+RecurrentSequence.swift): timing a candidate on the device, and the file under
// DIVE_CACHE that keeps a choice per device, driver and kernel source.
import Foundation

extension KernelBackend {
    /// Where a tuned choice named `what` is cached: per device and driver (`tuningIdentity`) and
    /// per text of Kernels/<program>.cl, so an edited kernel is tuned again. Nil without a cache.
    func tuningFile(program: String, _ what: String) -> URL? {
        guard let source = try? KernelFiles.source(named: program) else { return nil }
        return KernelFiles.cacheDirectory?.appendingPathComponent(
            String(
                format: "%@-%016llx.json", what, KernelFiles.fnv1a(runtime.tuningIdentity + [source])))
    }

    /// Median seconds of three timed runs of `body` after one warm-up (the queue drained around each).
    func medianTime(_ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for run in 0..<4 {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            try runtime.finish()
            if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return times.sorted()[times.count / 2]
    }
}
