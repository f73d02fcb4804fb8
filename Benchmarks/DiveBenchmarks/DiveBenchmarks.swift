// Kernel and training-step microbenchmarks for `swift package benchmark` (ordo-one's
// package-benchmark: percentiles, allocations, baselines to compare against). The bodies are
// DiveBench's `Workloads`, the same ones `dive bench` times against its rooflines, on the CPU
// backend and on the first OpenCL device when there is one.
import Benchmark
import Dive
import DiveBench
import DiveNN

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))
    var devices = [Device.cpu]
    if let first = DeviceRegistry.allDevices().first(where: { $0 != Device.cpu }) { devices.append(first) }
    for device in devices {
        guard let b = try? Backends.backend(for: device) else { continue }
        let workloads = [
            try? Workloads.gemm(b, m: 256, n: 256, k: 256),
            try? Workloads.gemm(b, m: 1024, n: 1024, k: 1024),
            try? Workloads.softmax(b, rows: 4096, cols: 1024),
            try? Workloads.layerNorm(b, rows: 4096, cols: 256),
            try? Workloads.languageModelStep(.gru, b),
            try? Workloads.languageModelStep(.lstm, b)
        ].compactMap { $0 }
        for w in workloads {
            Benchmark("\(w.name) \(device)") { benchmark in
                for _ in benchmark.scaledIterations { try w.body() }
                try w.sync()
            }
        }
    }
}
