// GEMM on OpenCL (Kernels/gemm.cl). Small products run `gemm_small` in one launch; larger ones
// pack A and B into panels and run the register-tiled `gemm_tile`. The tile shape is tuned once
// per device (a short timing of each candidate) and cached on disk beside the program binaries.
import COpenCL
import Foundation

/// One tile configuration of gemm.cl: its compile-time defines, the tile rows per group (`gm`)
/// and the work-group width of gemm_tile (`lx`).
struct GemmConfig: Codable, Equatable, CustomStringConvertible {
    var mr: Int, nr: Int, vw: Int, gm: Int, lx: Int
    var options: String { "-D MR=\(mr) -D NR=\(nr) -D VW=\(vw)" }
    var description: String { "\(mr)x\(nr)/v\(vw)/g\(gm)/l\(lx)" }
}

final class GemmPlanner {
    unowned let backend: OpenCLBackend
    private(set) var config: GemmConfig?
    private var packA: cl_kernel?, packB: cl_kernel?, tile: cl_kernel?, small: cl_kernel?

    static let smallTile = (m: 6, n: 16)

    /// Whether a product is cheaper unpacked, in one launch (measured on PoCL: up to 2^18
    /// multiply-adds, and up to 2^22 when B is read row-wise and is at most 64 wide).
    static func isSmall(_ s: GemmShape) -> Bool {
        let work = s.m * s.n * s.k
        return s.k == 0 || work <= 1 << 18 || (!s.transB && s.n <= 64 && work <= 1 << 22)
    }

    /// Tile shapes worth timing on a CPU-type device (AVX2: 16 vector registers) and on a GPU.
    static func candidates(isGPU: Bool) -> [GemmConfig] {
        if isGPU {
            return [GemmConfig(mr: 4, nr: 8, vw: 4, gm: 8, lx: 16), GemmConfig(mr: 4, nr: 4, vw: 4, gm: 16, lx: 32)]
        }
        return [GemmConfig(mr: 6, nr: 16, vw: 8, gm: 32, lx: 4), GemmConfig(mr: 6, nr: 16, vw: 8, gm: 16, lx: 1),
                GemmConfig(mr: 4, nr: 16, vw: 8, gm: 32, lx: 4), GemmConfig(mr: 8, nr: 8, vw: 8, gm: 32, lx: 4)]
    }

    init(backend: OpenCLBackend) { self.backend = backend }

    /// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b]. Call with the backend's lock held.
    func run(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, alpha: Float, beta: Float) throws {
        guard s.m > 0, s.n > 0, s.batch > 0 else { return }
        if Self.isSmall(s) {
            try runSmall(a, b, c, s, alpha: alpha, beta: beta)
        } else {
            if config == nil { try choose() }
            try runPacked(a, b, c, s, config!, alpha: alpha, beta: beta)
        }
    }

    private func runSmall(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, alpha: Float, beta: Float) throws {
        if small == nil {
            let options = "-D SMR=\(Self.smallTile.m) -D SNR=\(Self.smallTile.n)"
            small = try backend.makeKernel("gemm_small", program: backend.programs.program("gemm", options: options))
        }
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        let global = ((s.m + Self.smallTile.m - 1) / Self.smallTile.m, (s.n + Self.smallTile.n - 1) / Self.smallTile.n, s.batch)
        try backend.launchLocked(small!, name: "gemm_small", global: global, local: nil) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(0); try k.int(lda); try k.int(s.strideA)
            try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(0); try k.int(ldb); try k.int(s.strideB)
            try k.buffer(c); try k.int(0); try k.int(s.n); try k.int(s.strideC)
        }
    }

    private func runPacked(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, _ cfg: GemmConfig,
                           alpha: Float, beta: Float) throws {
        let pm = (s.m + cfg.mr - 1) / cfg.mr, pn = (s.n + cfg.nr - 1) / cfg.nr
        let batchA = s.strideA == 0 ? 1 : s.batch, batchB = s.strideB == 0 ? 1 : s.batch
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        let kChunks = max(1, (s.k + 255) / 256)
        // Scratch panels come from the pool and go back when these tensors die.
        let ap = try Tensor.empty([batchA * pm * s.k * cfg.mr], on: backend)
        let bp = try Tensor.empty([batchB * pn * s.k * cfg.nr], on: backend)
        try backend.launchLocked(packA!, name: "gemm_pack_a", global: (kChunks, pm, batchA), local: nil) { k in
            try k.int(s.m); try k.int(s.k); try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(0); try k.int(lda)
            try k.int(s.strideA); try k.buffer(ap)
        }
        try backend.launchLocked(packB!, name: "gemm_pack_b", global: (kChunks, pn, batchB), local: nil) { k in
            try k.int(s.n); try k.int(s.k); try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(0); try k.int(ldb)
            try k.int(s.strideB); try k.buffer(bp)
        }
        let gm = min(cfg.gm, pm), groups = (pm + gm - 1) / gm
        let width = (gm * pn + cfg.lx - 1) / cfg.lx * cfg.lx
        try backend.launchLocked(tile!, name: "gemm_tile", global: (width, groups, s.batch), local: (cfg.lx, 1, 1)) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.buffer(ap); try k.int(s.strideA == 0 ? 0 : pm * s.k * cfg.mr)
            try k.buffer(bp); try k.int(s.strideB == 0 ? 0 : pn * s.k * cfg.nr)
            try k.buffer(c); try k.int(0); try k.int(s.n); try k.int(s.strideC); try k.int(gm)
        }
    }

    private func use(_ cfg: GemmConfig) throws {
        let program = try backend.programs.program("gemm", options: cfg.options)
        packA = try backend.makeKernel("gemm_pack_a", program: program)
        packB = try backend.makeKernel("gemm_pack_b", program: program)
        tile = try backend.makeKernel("gemm_tile", program: program)
        config = cfg
    }

    // MARK: tuning

    /// Where this device's tuned configuration is kept.
    private var tuningFile: URL? {
        let info = backend.info
        guard let source = try? ProgramCache.source(named: "gemm") else { return nil }
        return ProgramCache.cacheDirectory?.appendingPathComponent(String(
            format: "gemm-tuning-%016llx.json", ProgramCache.fnv1a([info.platformVersion, info.name, info.driverVersion, source])))
    }

    /// Loads the cached choice, or times every candidate on a 512³ product and caches the fastest.
    private func choose() throws {
        if let file = tuningFile, let data = try? Data(contentsOf: file),
           let cached = try? JSONDecoder().decode(GemmConfig.self, from: data) {
            try use(cached)
            return
        }
        let n = 512
        let a = try Tensor.full([n, n], 0.5, on: backend), b = try Tensor.full([n, n], 0.25, on: backend)
        let c = try Tensor.empty([n, n], on: backend)
        let shape = GemmShape(m: n, n: n, k: n)
        var best: (GemmConfig, Double)?
        for candidate in Self.candidates(isGPU: backend.info.isGPU) {
            guard (try? use(candidate)) != nil else { continue }   // a variant the compiler rejects is skipped
            var times: [Double] = []
            for run in 0..<4 {
                let start = DispatchTime.now().uptimeNanoseconds
                try runPacked(a, b, c, shape, candidate, alpha: 1, beta: 0)
                try clCheck(clFinish(backend.queue), "clFinish")
                if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start)) }
            }
            let median = times.sorted()[times.count / 2]
            if best == nil || median < best!.1 { best = (candidate, median) }
        }
        guard let (chosen, _) = best else {
            throw DiveError.kernelBuild(program: "gemm.cl", device: backend.info.name, log: "no GEMM tile configuration compiled")
        }
        try use(chosen)
        if let file = tuningFile, let data = try? JSONEncoder().encode(chosen) { try? AtomicFile.write(data, to: file) }
    }
}

extension OpenCLBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, shape: GemmShape, alpha: Float, beta: Float) throws {
        try requireFloat32(a, b, c, op: "gemm")
        lock.lock(); defer { lock.unlock() }
        try gemmPlan.run(a, b, c, shape, alpha: alpha, beta: beta)
    }

    /// The GEMM tile configuration in use (tuned on first use), e.g. "6x16/v8/g16".
    public func gemmConfiguration() throws -> String {
        lock.lock(); defer { lock.unlock() }
        if gemmPlan.config == nil {
            let x = try Tensor.zeros([128, 128], on: self)
            try gemmPlan.run(x, x, try Tensor.empty([128, 128], on: self), GemmShape(m: 128, n: 128, k: 128), alpha: 1, beta: 0)
        }
        return gemmPlan.config!.description
    }
}
