// Runs the GRU/LSTM forward and training-step benchmark once per device when DIVE_BENCH_RECURRENT=1 (it takes
// seconds per device); otherwise a one-step smoke run on a tiny shape keeps it compiling and working.
import Dive
import DiveBench
import Foundation
import Testing

@Suite("DiveNNBench", .serialized) struct BenchmarkSmokeTests {
    @Test func recurrentTrainingStepBenchmark() throws {
        let full = ProcessInfo.processInfo.environment["DIVE_BENCH_RECURRENT"] == "1"
        let results =
            full
            ? try RecurrentBenchmarks.run(devices: allDevices)
            : try RecurrentBenchmarks.run(devices: allDevices, batch: 2, steps: 3, hidden: 8, minSeconds: 0)
        #expect(results.count == 4 * allDevices.count)  // GRU and LSTM, forward and training step
        for r in results {
            print(r.textLine)
            #expect(Double(r.extra["tokens_per_s"] ?? "") ?? 0 > 0)
        }
    }
}
