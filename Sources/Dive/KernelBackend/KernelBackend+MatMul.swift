// Matrix products on OpenCL and CUDA devices (Ops/MatMul.swift): GEMM from Kernels/matmul.cl, one variant per device type. CPU-type devices (PoCL): small
// products run `gemm_small` in one launch, larger ones pack A and B into panels (one launch) and
// run the register-tiled `gemm_tile`. GPUs run `gemm_lt` (local-memory tiles, register blocking,
// one launch). Tile shapes are timed on first use per device and shape class (a short timing of
// each candidate) and cached on disk beside the program binaries; `dive tune` does it ahead of time.
import Foundation
import Logging

/// One tile configuration of matmul.cl's packed path: its compile-time defines, the tile rows per
/// group (`gm`) and the work-group width of gemm_tile (`lx`).
struct GemmConfig: Codable, Equatable, CustomStringConvertible {
    var mr: Int, nr: Int, vw: Int, gm: Int, lx: Int
    var options: String { "-D MR=\(mr) -D NR=\(nr) -D VW=\(vw)" }
    var description: String { "\(mr)x\(nr)/v\(vw)/g\(gm)/l\(lx)" }
}

/// One configuration of gemm_lt: block tile TSM×TSN×TSK, WPTM×WPTN results per work-item.
struct LocalTileConfig: Codable, Equatable, CustomStringConvertible {
    var tsm: Int, tsn: Int, tsk: Int, wptm: Int, wptn: Int
    var options: String { "-D TSM=\(tsm) -D TSN=\(tsn) -D TSK=\(tsk) -D WPTM=\(wptm) -D WPTN=\(wptn)" }
    var local: (Int, Int, Int) { (tsn / wptn, tsm / wptm, 1) }
    var description: String { "lt\(tsm)x\(tsn)x\(tsk)/\(wptm)x\(wptn)" }
}

final class GemmPlanner {
    unowned let backend: KernelBackend
    private(set) var config: GemmConfig?
    private var pack: KernelFunction?, tile: KernelFunction?, small: KernelFunction?
    /// gemm_lt per shape class, tuned on first use.
    private var localTiles: [ShapeClass: (LocalTileConfig, KernelFunction)] = [:]

    static let smallTile = (m: 6, n: 16)
    static let smallOptions = "-D SMR=\(smallTile.m) -D SNR=\(smallTile.n)"

    /// Shape classes of gemm_lt tuning: products too small to fill a GPU with big tiles, and the rest.
    enum ShapeClass: String, CaseIterable { case small, large }

    static func shapeClass(_ s: GemmShape) -> ShapeClass { s.batch * s.m * s.n <= 1 << 20 ? .small : .large }

    /// Whether a product is cheaper unpacked, in one launch (measured on PoCL: up to 2^18
    /// multiply-adds, and up to 2^22 when C is at most 64 wide, B transposed or not: the
    /// Transformer's 640×32×32 projections train 4% faster so, seq2seq's 6%).
    static func isSmall(_ s: GemmShape) -> Bool {
        let work = s.m * s.n * s.k
        return s.k == 0 || work <= 1 << 18 || (s.n <= 64 && work <= 1 << 22)
    }

    /// Tile shapes of the packed path worth timing on a CPU-type device (AVX2: 16 vector registers).
    static let packedCandidates = [
        GemmConfig(mr: 6, nr: 16, vw: 8, gm: 32, lx: 4), GemmConfig(mr: 6, nr: 16, vw: 8, gm: 16, lx: 1),
        GemmConfig(mr: 4, nr: 16, vw: 8, gm: 32, lx: 4), GemmConfig(mr: 8, nr: 8, vw: 8, gm: 32, lx: 4)
    ]

    /// gemm_lt candidates per shape class (256 or 64 work-items per group).
    static func localTileCandidates(_ c: ShapeClass) -> [LocalTileConfig] {
        switch c {
        case .large:
            return [
                LocalTileConfig(tsm: 128, tsn: 128, tsk: 16, wptm: 8, wptn: 8),
                LocalTileConfig(tsm: 128, tsn: 64, tsk: 16, wptm: 8, wptn: 4),
                LocalTileConfig(tsm: 64, tsn: 64, tsk: 16, wptm: 4, wptn: 4), LocalTileConfig(tsm: 128, tsn: 128, tsk: 8, wptm: 8, wptn: 8)
            ]
        case .small:
            return [
                LocalTileConfig(tsm: 32, tsn: 32, tsk: 16, wptm: 2, wptn: 2), LocalTileConfig(tsm: 64, tsn: 32, tsk: 16, wptm: 4, wptn: 2),
                LocalTileConfig(tsm: 64, tsn: 64, tsk: 16, wptm: 4, wptn: 4), LocalTileConfig(tsm: 32, tsn: 32, tsk: 8, wptm: 4, wptn: 4)
            ]
        }
    }

    init(backend: KernelBackend) { self.backend = backend }

    /// The kernel `auto` runs for a product on this device.
    func chosenVariant(_ s: GemmShape) -> GemmVariant {
        if KernelVariants.gemm != .auto { return KernelVariants.gemm }
        if backend.limits.isGPU { return .localTiles }
        return Self.isSmall(s) ? .small : .packed
    }

    /// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] (+ bias, then ReLU). Call with the backend's lock held.
    func run(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, alpha: Float, beta: Float, bias: Tensor?, relu: Bool) throws {
        guard s.m > 0, s.n > 0, s.batch > 0 else { return }
        switch chosenVariant(s) {
        case .small, .auto: try runSmall(a, b, c, s, alpha: alpha, beta: beta, bias: bias, relu: relu)
        case .packed:
            if s.k == 0 { return try runSmall(a, b, c, s, alpha: alpha, beta: beta, bias: bias, relu: relu) }
            if config == nil { try choose() }
            guard let config else {
                throw DiveError.invalidArgument(op: "matmul", detail: "no packed GEMM was chosen on \(backend.displayName)")
            }
            try runPacked(a, b, c, s, config, alpha: alpha, beta: beta, bias: bias, relu: relu)
        case .localTiles:
            let cls = Self.shapeClass(s)
            if localTiles[cls] == nil { try chooseLocalTiles(cls) }
            guard let tiles = localTiles[cls] else {
                throw DiveError.invalidArgument(op: "matmul", detail: "no local-tile GEMM fits \(backend.displayName)")
            }
            try runLocalTiles(a, b, c, s, tiles, alpha: alpha, beta: beta, bias: bias, relu: relu)
        }
    }

    private func runSmall(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, alpha: Float, beta: Float, bias: Tensor?, relu: Bool)
        throws
    {
        if small == nil {
            small = try backend.runtime.function("gemm_small", program: "matmul", options: Self.smallOptions)
        }
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        let global = ((s.m + Self.smallTile.m - 1) / Self.smallTile.m, (s.n + Self.smallTile.n - 1) / Self.smallTile.n, s.batch)
        try backend.launchLocked(small!, name: "gemm_small", family: "matmul", global: global, local: nil) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(0); try k.int(lda); try k.int(s.strideA)
            try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(0); try k.int(ldb); try k.int(s.strideB)
            try k.buffer(c); try k.int(0); try k.int(s.n); try k.int(s.strideC)
            try k.buffer(bias); try k.int((bias == nil ? 0 : 1) | (relu ? 2 : 0))
        }
    }

    private func runPacked(
        _ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, _ cfg: GemmConfig,
        alpha: Float, beta: Float, bias: Tensor?, relu: Bool
    ) throws {
        let pm = (s.m + cfg.mr - 1) / cfg.mr, pn = (s.n + cfg.nr - 1) / cfg.nr
        let batchA = s.strideA == 0 ? 1 : s.batch, batchB = s.strideB == 0 ? 1 : s.batch
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        let kChunks = max(1, (s.k + 255) / 256)
        // Scratch panels come from the pool and go back when these tensors die.
        let ap = try Tensor.empty([batchA * pm * s.k * cfg.mr], on: backend)
        let bp = try Tensor.empty([batchB * pn * s.k * cfg.nr], on: backend)
        try backend.launchLocked(
            pack!, name: "gemm_pack", family: "matmul", global: (kChunks, max(pm, pn), batchA + batchB),
            local: nil
        ) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.int(batchA)
            try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(0); try k.int(lda); try k.int(s.strideA)
            try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(0); try k.int(ldb); try k.int(s.strideB)
            try k.buffer(ap); try k.buffer(bp)
        }
        let gm = min(cfg.gm, pm), groups = (pm + gm - 1) / gm
        let width = (gm * pn + cfg.lx - 1) / cfg.lx * cfg.lx
        try backend.launchLocked(tile!, name: "gemm_tile", family: "matmul", global: (width, groups, s.batch), local: (cfg.lx, 1, 1)) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.buffer(ap); try k.int(s.strideA == 0 ? 0 : pm * s.k * cfg.mr)
            try k.buffer(bp); try k.int(s.strideB == 0 ? 0 : pn * s.k * cfg.nr)
            try k.buffer(c); try k.int(0); try k.int(s.n); try k.int(s.strideC); try k.int(gm)
            try k.buffer(bias); try k.int((bias == nil ? 0 : 1) | (relu ? 2 : 0))
        }
    }

    private func runLocalTiles(
        _ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, _ entry: (LocalTileConfig, KernelFunction),
        alpha: Float, beta: Float, bias: Tensor?, relu: Bool
    ) throws {
        let (cfg, kernel) = entry
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        let local = cfg.local
        let global = ((s.n + cfg.tsn - 1) / cfg.tsn * local.0, (s.m + cfg.tsm - 1) / cfg.tsm * local.1, s.batch)
        try backend.launchLocked(kernel, name: "gemm_lt", family: "matmul", global: global, local: local) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(lda); try k.int(s.strideA)
            try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(ldb); try k.int(s.strideB)
            try k.buffer(c); try k.int(s.n); try k.int(s.strideC)
            try k.buffer(bias); try k.int((bias == nil ? 0 : 1) | (relu ? 2 : 0))
        }
    }

    private func use(_ cfg: GemmConfig) throws {
        pack = try backend.runtime.function("gemm_pack", program: "matmul", options: cfg.options)
        tile = try backend.runtime.function("gemm_tile", program: "matmul", options: cfg.options)
        config = cfg
    }

    private func localTileKernel(_ cfg: LocalTileConfig) throws -> KernelFunction {
        try backend.runtime.function("gemm_lt", program: "matmul", options: cfg.options)
    }

    // MARK: tuning

    /// Where this device's tuned configuration of `what` is kept.
    private func tuningFile(_ what: String) -> URL? { backend.tuningFile(program: "matmul", "gemm-tuning-" + what) }
    private func time(_ body: () throws -> Void) throws -> Double { try backend.medianTime(body) }

    /// Loads the cached choice of the packed path, or times every candidate on a 512³ product and
    /// caches the fastest.
    private func choose(retime: Bool = false) throws {
        if !retime, let file = tuningFile("packed"), let data = try? Data(contentsOf: file),
            let cached = try? JSONDecoder().decode(GemmConfig.self, from: data)
        {
            try use(cached)
            backend.tuned.append(TunedChoice(family: "gemm", shape: "packed", seconds: [:], chosen: cached.description, cached: true))
            return
        }
        let n = 512
        let a = try Tensor.full([n, n], 0.5, on: backend), b = try Tensor.full([n, n], 0.25, on: backend)
        let c = try Tensor.empty([n, n], on: backend)
        let shape = GemmShape(m: n, n: n, k: n)
        var best: (GemmConfig, Double)?
        var seconds: [String: Double] = [:]
        for candidate in Self.packedCandidates {
            guard (try? use(candidate)) != nil else { continue }  // a variant the compiler rejects is skipped
            let median = try time { try runPacked(a, b, c, shape, candidate, alpha: 1, beta: 0, bias: nil, relu: false) }
            seconds[candidate.description] = median
            if best == nil || median < best!.1 { best = (candidate, median) }
        }
        guard let (chosen, _) = best else {
            throw DiveError.kernelBuild(program: "matmul.cl", device: backend.limits.name, log: "no GEMM tile configuration compiled")
        }
        try use(chosen)
        backend.tuned.append(
            TunedChoice(family: "gemm", shape: "packed \(n)x\(n)x\(n)", seconds: seconds, chosen: chosen.description, cached: false))
        Log.device.debug("GEMM tuned: packed \(chosen)")
        if let file = tuningFile("packed"), let data = try? JSONEncoder().encode(chosen) { try? AtomicFile.write(data, to: file) }
    }

    /// Loads the cached gemm_lt choice for a shape class, or times each candidate that fits the
    /// device on the class's representative product (2048×2048×512 large, 1120×1024×256 small:
    /// the book's LSTM gates) and caches the fastest.
    private func chooseLocalTiles(_ cls: ShapeClass, retime: Bool = false) throws {
        let fits = Self.localTileCandidates(cls).filter {
            let (x, y, _) = $0.local
            return x * y <= backend.limits.maxWorkGroupSize && ($0.tsk * ($0.tsm + $0.tsn + 2) * 4) <= backend.limits.localMemoryBytes
        }
        if !retime, let file = tuningFile("lt-\(cls.rawValue)"), let data = try? Data(contentsOf: file),
            let cached = try? JSONDecoder().decode(LocalTileConfig.self, from: data), fits.contains(cached)
        {
            localTiles[cls] = (cached, try localTileKernel(cached))
            backend.tuned.append(TunedChoice(family: "gemm", shape: cls.rawValue, seconds: [:], chosen: cached.description, cached: true))
            return
        }
        let (m, n, k) = cls == .large ? (2048, 2048, 512) : (1120, 1024, 256)
        let a = try Tensor.full([m, k], 0.5, on: backend), b = try Tensor.full([k, n], 0.25, on: backend)
        let c = try Tensor.empty([m, n], on: backend)
        let shape = GemmShape(m: m, n: n, k: k)
        var best: (LocalTileConfig, KernelFunction, Double)?
        var seconds: [String: Double] = [:]
        for candidate in fits {
            guard let kernel = try? localTileKernel(candidate) else { continue }
            let median = try time { try runLocalTiles(a, b, c, shape, (candidate, kernel), alpha: 1, beta: 0, bias: nil, relu: false) }
            seconds[candidate.description] = median
            if best == nil || median < best!.2 { best = (candidate, kernel, median) }
        }
        guard let (chosen, kernel, _) = best else {
            throw DiveError.kernelBuild(program: "matmul.cl", device: backend.limits.name, log: "no gemm_lt configuration compiled")
        }
        localTiles[cls] = (chosen, kernel)
        backend.tuned.append(
            TunedChoice(
                family: "gemm", shape: "\(cls.rawValue) \(m)x\(n)x\(k)", seconds: seconds,
                chosen: chosen.description, cached: false))
        Log.device.debug("GEMM tuned: local tiles \(chosen) for \(cls.rawValue) products")
        if let file = tuningFile("lt-\(cls.rawValue)"), let data = try? JSONEncoder().encode(chosen) {
            try? AtomicFile.write(data, to: file)
        }
    }

    /// Tunes every shape class of this device's variant now (`dive tune`; `retime`: even those
    /// chosen or cached already); returns what was chosen.
    func tuneAll(retime: Bool = false) throws -> [String: String] {
        if backend.limits.isGPU {
            for cls in ShapeClass.allCases where retime || localTiles[cls] == nil { try chooseLocalTiles(cls, retime: retime) }
            return Dictionary(uniqueKeysWithValues: localTiles.map { ($0.key.rawValue, $0.value.0.description) })
        }
        if retime || config == nil { try choose(retime: retime) }
        return ["packed": config!.description]
    }
}

extension KernelBackend {
    /// Float32 GEMM with the fused bias and ReLU epilogue through the device's tuned GEMM plan.
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, shape: GemmShape, alpha: Float, beta: Float, bias: Tensor?, relu: Bool)
        throws
    {
        try requireFloat32(a, b, c, op: "gemm")
        if let bias { try requireFloat32(bias, op: "gemm") }
        lock.lock(); defer { lock.unlock() }
        try gemmPlan.run(a, b, c, shape, alpha: alpha, beta: beta, bias: bias, relu: relu)
    }

    /// Times the GEMM candidates of every shape class now and caches the choices (`dive tune`;
    /// `retime`: even where a choice is cached).
    public func tuneGemm(retime: Bool = false) throws -> [String: String] {
        lock.lock(); defer { lock.unlock() }
        return try gemmPlan.tuneAll(retime: retime)
    }
}
