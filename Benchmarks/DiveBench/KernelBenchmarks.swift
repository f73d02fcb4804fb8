// `dive bench kernels`: GEMM, softmax, layernorm and attention on each device, with the rooflines
// they are judged by measured in the same process: OpenBLAS GEMM and a host memory copy for the
// CPU backend, an FMA loop and a device-memory copy (Kernels/roofline.cl) for each OpenCL device.
import CBLAS
import Dive
import Foundation

public enum KernelBenchmarks {
    /// Runs every kernel benchmark on each device, calling `emit` as each result arrives.
    /// Each kernel result carries `fraction_of_peak`: GEMM and attention against the FMA peak
    /// (OpenCL) or OpenBLAS of the same shape (CPU), softmax and layernorm (bytes = read + write)
    /// against the device copy (OpenCL) or a host memory copy of the same bytes (CPU).
    public static func run(devices: [Device], quick: Bool = false, emit: (BenchResult) -> Void) throws {
        // References first: OpenBLAS GEMM and memory copies, on the host.
        var hostRooflines: [BenchResult] = []
        for s in gemmShapes(quick) { hostRooflines.append(try openBLASGemm(s)); emit(hostRooflines.last!) }
        for bytes in [4096 * 1024 * 4, 4096 * 256 * 4] { hostRooflines.append(memoryCopy(bytes: bytes)); emit(hostRooflines.last!) }
        for device in devices {
            let b = try Backends.backend(for: device)
            var fmaPeak: BenchResult?, copyPeak: BenchResult?
            if let cl = b as? KernelBackend {
                fmaPeak = try fmaLoop(cl)
                copyPeak = try deviceCopy(cl, bytes: quick ? 64 << 20 : 256 << 20)
                emit(fmaPeak!); emit(copyPeak!)
            }
            func judged(_ r: BenchResult) -> BenchResult {
                let compute = r.op == "gemm" || r.op == "attention"
                let roofline =
                    b is KernelBackend
                    ? (compute ? fmaPeak : copyPeak)
                    : hostRooflines.first { compute ? ($0.op == "gemm" && $0.shape == r.shape) : ($0.op == "copy" && $0.bytes == r.bytes) }
                guard let roof = roofline, let fraction = compute ? ratio(r.gflops, roof.gflops) : ratio(r.gbps, roof.gbps) else {
                    return r
                }
                var judged = r
                judged.extra["fraction_of_peak"] = String(format: "%.4g", fraction)
                judged.extra["roofline"] = "\"\(roof.device) \(roof.op)\""
                return judged
            }
            for s in gemmShapes(quick) { emit(judged(try gemm(b, s))) }
            emit(judged(try softmax(b, rows: 4096, cols: 1024)))
            emit(judged(try layerNorm(b, rows: 4096, cols: 256)))
            for steps in quick ? [10] : [10, 512] { emit(judged(try attention(b, batch: 64, heads: 4, steps: steps, depth: 64))) }
        }
    }

    static func ratio(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b, b > 0 else { return nil }
        return a / b
    }

    /// `fma_peak` (float4 chains) and `fma_peak_w` (float16) over compute units × 2048 work-items
    /// of 64k fused multiply-adds each: the arithmetic roofline is the faster of the two
    /// (FLOP/s = 2 · fused multiply-adds / time).
    static func fmaLoop(_ b: KernelBackend) throws -> BenchResult {
        let items = max(b.limits.computeUnits, 1) * 2048
        let out = try Tensor.empty([items], on: b)
        let runs = try [false, true].map { wide -> BenchResult in
            let iterations = 65536 / KernelBackend.fmaPerIteration(wide: wide)
            var fmas = 0.0
            let samples = try Timing.measure(sync: b.synchronize) {
                fmas = try b.launchFMAPeak(into: out, iterations: iterations, wide: wide)
            }
            return BenchResult(
                op: "fma_peak", device: b.device.description, shape: "\(items) items x \(iterations) iters",
                samplesMs: samples, flops: 2 * fmas,
                extra: ["compute_units": "\(b.limits.computeUnits)", "vector": wide ? "\"float16\"" : "\"float4\""])
        }
        return runs.max { ($0.gflops ?? 0) < ($1.gflops ?? 0) }!
    }

    /// `copy_bw` of `bytes` into another buffer as float4s: the bandwidth roofline (read + write).
    static func deviceCopy(_ b: KernelBackend, bytes: Int) throws -> BenchResult {
        let x = try Tensor.zeros([bytes / 4], on: b), y = try Tensor.empty([bytes / 4], on: b)
        let samples = try Timing.measure(sync: b.synchronize) { try b.launchCopy(x, into: y) }
        return BenchResult(
            op: "copy", device: b.device.description, shape: "\(bytes >> 20) MiB", samplesMs: samples,
            bytes: 2 * Double(bytes))
    }

    struct GemmCase { let m, n, k: Int; var label: String { m == n && n == k ? "\(m)^3" : "\(m)x\(k) * \(k)x\(n)" } }

    static func gemmShapes(_ quick: Bool) -> [GemmCase] {
        let all = [
            GemmCase(m: 256, n: 256, k: 256), GemmCase(m: 512, n: 512, k: 512),
            GemmCase(m: 1024, n: 1024, k: 1024), GemmCase(m: 4096, n: 1024, k: 256),
            GemmCase(m: 2048, n: 2048, k: 2048)
        ]
        return quick ? Array(all.prefix(1)) : all
    }

    static func random(_ n: Int, seed: UInt64) -> [Float] {
        (0..<n).map { CounterRNG.uniform(seed: seed, counter: UInt64($0)) * 2 - 1 }
    }

    static func gemm(_ b: Backend, _ s: GemmCase) throws -> BenchResult {
        let w = try Workloads.gemm(b, m: s.m, n: s.n, k: s.k)
        let samples = try Timing.measure(sync: w.sync, w.body)
        return BenchResult(
            op: "gemm", device: b.device.description, shape: s.label, samplesMs: samples,
            flops: 2 * Double(s.m) * Double(s.n) * Double(s.k))
    }

    /// cblas_sgemm on host arrays, with OpenBLAS's own threads: the GEMM roofline.
    static func openBLASGemm(_ s: GemmCase) throws -> BenchResult {
        let a = random(s.m * s.k, seed: 1), x = random(s.k * s.n, seed: 2)
        var c = [Float](repeating: 0, count: s.m * s.n)
        let samples = CPUBackend.withOpenBLASThreads {
            Timing.measure(sync: {}) {
                c.withUnsafeMutableBufferPointer { cp in
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(s.m), blasint(s.n), blasint(s.k),
                        1, a, blasint(s.k), x, blasint(s.n), 0, cp.baseAddress, blasint(s.n))
                }
            }
        }
        return BenchResult(
            op: "gemm", device: "openblas", shape: s.label, samplesMs: samples,
            flops: 2 * Double(s.m) * Double(s.n) * Double(s.k),
            extra: ["threads": "\(CPUBackend.shared.blasThreads)"])
    }

    /// memcpy split across the CPU backend's threads: the bandwidth roofline for row ops of the
    /// same size (read + write of `bytes`).
    static func memoryCopy(bytes: Int) -> BenchResult {
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { src.deallocate(); dst.deallocate() }
        memset(src, 1, bytes); memset(dst, 0, bytes)
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let chunk = (bytes / threads + 63) / 64 * 64
        // The threads get the buffers as addresses (Sendable); each copies its own chunk.
        let from = UInt(bitPattern: src), to = UInt(bitPattern: dst)
        let samples = Timing.measure(
            sync: {},
            {
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let start = t * chunk, end = min(bytes, start + chunk)
                    guard start < end, let s = UnsafeRawPointer(bitPattern: from), let d = UnsafeMutableRawPointer(bitPattern: to) else {
                        return
                    }
                    memcpy(d + start, s + start, end - start)
                }
            })
        return BenchResult(
            op: "copy", device: "host", shape: "\(bytes / 4) floats", samplesMs: samples,
            bytes: 2 * Double(bytes), extra: ["threads": "\(threads)"])
    }

    static func softmax(_ b: Backend, rows: Int, cols: Int) throws -> BenchResult {
        try rowOp("softmax", b, rows: rows, cols: cols, Workloads.softmax)
    }

    static func layerNorm(_ b: Backend, rows: Int, cols: Int) throws -> BenchResult {
        try rowOp("layernorm", b, rows: rows, cols: cols, Workloads.layerNorm)
    }

    /// Times the row op `workload` builds on (rows, cols), its bytes a read and a write of the matrix.
    static func rowOp(
        _ op: String, _ b: Backend, rows: Int, cols: Int, _ workload: (Backend, Int, Int) throws -> Workload
    ) throws -> BenchResult {
        let w = try workload(b, rows, cols)
        let samples = try Timing.measure(sync: w.sync, w.body)
        return BenchResult(
            op: op, device: b.device.description, shape: "\(rows)x\(cols)", samplesMs: samples,
            bytes: 2 * Double(rows * cols * 4))
    }

    /// Masked attention of `heads` heads as batch·heads independent (steps × depth) problems,
    /// with valid lengths; FLOPs count the two GEMMs.
    static func attention(_ b: Backend, batch: Int, heads: Int, steps: Int, depth: Int) throws -> BenchResult {
        let bh = batch * heads
        let q = try Tensor(random(bh * steps * depth, seed: 5), shape: [bh, steps, depth], on: b)
        let k = try Tensor(random(bh * steps * depth, seed: 6), shape: [bh, steps, depth], on: b)
        let v = try Tensor(random(bh * steps * depth, seed: 7), shape: [bh, steps, depth], on: b)
        let lens = try Tensor((0..<bh).map { Int32(steps - ($0 % 3)) }, on: b)
        let out = try Tensor.empty([bh, steps, depth], on: b), w = try Tensor.empty([bh, steps, steps], on: b)
        let dims = AttentionDims(batch: bh, queries: steps, keys: steps, depth: depth, valueDepth: depth)
        let samples = try Timing.measure(minRuns: steps > 100 ? 3 : 7, sync: b.synchronize) {
            try b.attention(q: q, k: k, v: v, validLens: lens, scale: 1 / Float(depth).squareRoot(), into: out, weights: w, dims: dims)
        }
        return BenchResult(
            op: "attention", device: b.device.description,
            shape: "b\(batch) h\(heads) t\(steps) d\(depth)", samplesMs: samples,
            flops: 4 * Double(bh) * Double(steps) * Double(steps) * Double(depth))
    }
}

extension KernelBenchmarks {
    /// Each result as a fraction of the roofline it was judged by in this run (`fraction_of_peak`).
    public static func summary(_ results: [BenchResult]) -> String {
        var lines = ["", "against the rooflines measured in this run:"]
        for r in results {
            guard let f = r.extra["fraction_of_peak"], let fraction = Double(f), let roof = r.extra["roofline"] else { continue }
            let rate = r.gflops.map { String(format: "%.1f GFLOP/s", $0) } ?? r.gbps.map { String(format: "%.1f GB/s", $0) } ?? ""
            let what = "\(r.op) \(r.shape)".padding(toLength: 34, withPad: " ", startingAt: 0)
            let device = r.device.padding(toLength: 9, withPad: " ", startingAt: 0)
            lines.append(
                "  \(what) on \(device) " + String(format: "%5.1f%%", 100 * fraction)
                    + " of \(roof.replacingOccurrences(of: "\"", with: "")) (\(rate))")
        }
        return lines.joined(separator: "\n")
    }
}
