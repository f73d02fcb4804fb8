// Matrix products on OpenCL and CUDA devices (Ops/MatMul.swift): GEMM from Kernels/matmul.cl, one variant per device type. CPU-type devices (PoCL): small
// products run `gemm_small` in one launch, larger ones pack A and B into panels (one launch) and
// run the register-tiled `gemm_tile`. GPUs run `gemm_lt` (local-memory tiles, register blocking,
// one launch; double-buffered slices and vector loads as candidates), and split K over more
// work-groups where C has too few tiles to fill the device (`gemm_splitk_sum` adds the runs). Tile
// shapes are timed on first use per device and shape class (a short timing of each candidate) and
// cached on disk beside the program binaries; `dive tune` does it ahead of time.
import Foundation
import Logging

/// One tile configuration of matmul.cl's packed path: its compile-time defines, the tile rows per
/// group (`gm`) and the work-group width of gemm_tile (`lx`).
struct GemmConfig: Codable, Equatable, CustomStringConvertible {
    var mr: Int, nr: Int, vw: Int, gm: Int, lx: Int
    var options: String { "-D MR=\(mr) -D NR=\(nr) -D VW=\(vw)" }
    var description: String { "\(mr)x\(nr)/v\(vw)/g\(gm)/l\(lx)" }
}

/// One configuration of gemm_lt: block tile TSM×TSN×TSK, WPTM×WPTN results per work-item,
/// double-buffered slices (`db`) and the width of its global loads (`vl`, 1 or 4).
struct LocalTileConfig: Codable, Hashable, CustomStringConvertible {
    var tsm: Int, tsn: Int, tsk: Int, wptm: Int, wptn: Int
    var db = false, vl = 1
    var options: String {
        "-D TSM=\(tsm) -D TSN=\(tsn) -D TSK=\(tsk) -D WPTM=\(wptm) -D WPTN=\(wptn)" + (db ? " -D DB=1" : "")
            + (vl > 1 ? " -D VL=\(vl)" : "")
    }
    var local: (Int, Int, Int) { (tsn / wptn, tsm / wptm, 1) }
    /// Local memory the kernel declares: NBUF × TSK × (TSM + 1 + TSN + 1) floats.
    var localBytes: Int { tsk * (tsm + tsn + 2) * 4 * (db ? 2 : 1) }
    var description: String { "lt\(tsm)x\(tsn)x\(tsk)/\(wptm)x\(wptn)" + (db ? "/db" : "") + (vl > 1 ? "/v\(vl)" : "") }

    /// Whether matmul.cl compiles it: register staging (db, vl > 1) needs each work-item's share of
    /// a slice to be whole vectors.
    var isValid: Bool {
        let items = (tsm / wptm) * (tsn / wptn)
        guard tsm % wptm == 0, tsn % wptn == 0, vl == 1 || vl == 4 else { return false }
        guard db || vl > 1 else { return true }
        return (tsk * tsm) % (items * vl) == 0 && (tsk * tsn) % (items * vl) == 0 && tsk % vl == 0 && tsm % vl == 0 && tsn % vl == 0
    }
}

/// A tuned gemm_lt choice for a shape class: the tile, and whether K is split over work-groups.
struct LocalTileChoice: Codable, Hashable, CustomStringConvertible {
    var tile: LocalTileConfig, splitK: Bool
    var description: String { tile.description + (splitK ? "/splitK" : "") }
}

final class GemmPlanner {
    unowned let backend: KernelBackend
    private(set) var config: GemmConfig?
    private var pack: KernelFunction?, tile: KernelFunction?, small: KernelFunction?, splitSum: KernelFunction?
    /// gemm_lt per shape class, tuned on first use.
    private var localTiles: [ShapeClass: (LocalTileChoice, KernelFunction)] = [:]
    /// gemm_lt per tile configuration, as compiled (tuning and `KernelVariants.gemmTiles`).
    private var localTileKernels: [LocalTileConfig: KernelFunction] = [:]

    static let smallTile = (m: 6, n: 16)
    static let smallOptions = "-D SMR=\(smallTile.m) -D SNR=\(smallTile.n)"

    /// Shape classes of gemm_lt tuning: products too small to fill a GPU with big tiles, skinny
    /// ones (fewer 64×64 tiles of C than compute units, K of 512 or more: the weight gradients of
    /// small batches, whose K is steps × batch; at least 2^24 multiply-adds, since below that a
    /// product is bound by its launch, and split-K's second launch costs more than it fills), and
    /// the rest.
    enum ShapeClass: String, CaseIterable { case small, large, skinny }

    static func shapeClass(_ s: GemmShape, computeUnits: Int) -> ShapeClass {
        let tiles = s.batch * ((s.m + 63) / 64) * ((s.n + 63) / 64)
        if s.k >= 512 && tiles < computeUnits && s.batch * s.m * s.n * s.k >= 1 << 24 { return .skinny }
        return s.batch * s.m * s.n <= 1 << 20 ? .small : .large
    }

    /// How many runs of K a split-K product of `s` with `tile` uses: enough work-groups for two per
    /// compute unit (at least 2 when `forced`), at most one per TSK slice and 16 in all, and no empty run.
    static func splits(_ s: GemmShape, _ tile: LocalTileConfig, computeUnits: Int, forced: Bool) -> Int {
        let slices = (s.k + tile.tsk - 1) / tile.tsk
        let tiles = max(1, s.batch * ((s.m + tile.tsm - 1) / tile.tsm) * ((s.n + tile.tsn - 1) / tile.tsn))
        let wanted = min(16, slices, max(forced ? 2 : 1, (2 * computeUnits + tiles - 1) / tiles))
        guard wanted > 1 else { return 1 }
        let perSplit = (slices + wanted - 1) / wanted
        return (slices + perSplit - 1) / perSplit
    }

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

    /// gemm_lt candidates per shape class (256 or 64 work-items per group): plain tiles, and the same
    /// tiles double-buffered with 16-byte loads; the large class also a 128×256 tile of 8×16 per item.
    /// Skinny products time each candidate with K split and unsplit.
    static func localTileCandidates(_ c: ShapeClass) -> [LocalTileConfig] {
        func lt(_ m: Int, _ n: Int, _ k: Int, _ wm: Int, _ wn: Int, staged: Bool = false) -> LocalTileConfig {
            LocalTileConfig(tsm: m, tsn: n, tsk: k, wptm: wm, wptn: wn, db: staged, vl: staged ? 4 : 1)
        }
        switch c {
        case .large:
            return [
                lt(128, 128, 16, 8, 8), lt(128, 64, 16, 8, 4), lt(64, 64, 16, 4, 4), lt(128, 128, 8, 8, 8),
                lt(128, 128, 16, 8, 8, staged: true), lt(128, 64, 16, 8, 4, staged: true), lt(128, 128, 8, 8, 8, staged: true),
                lt(128, 256, 8, 8, 16, staged: true)
            ]
        case .small:
            return [
                lt(32, 32, 16, 2, 2), lt(64, 32, 16, 4, 2), lt(64, 64, 16, 4, 4), lt(32, 32, 8, 4, 4),
                lt(64, 64, 16, 4, 4, staged: true), lt(32, 32, 8, 4, 4, staged: true)
            ]
        case .skinny:
            return [lt(64, 64, 16, 4, 4), lt(32, 32, 8, 4, 4), lt(64, 64, 16, 4, 4, staged: true), lt(32, 32, 8, 4, 4, staged: true)]
        }
    }

    /// Every gemm_lt candidate of every class, once each (what `KernelVariants.gemmTiles` may name).
    static let allLocalTiles: [LocalTileConfig] = ShapeClass.allCases.flatMap(localTileCandidates).reduce(into: []) {
        if !$0.contains($1) { $0.append($1) }
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
        case .localTiles, .splitK:
            let (choice, kernel) = try localTileChoice(for: s)
            let forced = KernelVariants.gemm == .splitK
            let splits =
                forced || choice.splitK ? Self.splits(s, choice.tile, computeUnits: backend.limits.computeUnits, forced: forced) : 1
            try runLocalTiles(a, b, c, s, choice.tile, kernel, splits: splits, alpha: alpha, beta: beta, bias: bias, relu: relu)
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

    /// gemm_lt with `cfg`; with `splits` > 1, each run of K into a scratch product, then
    /// gemm_splitk_sum adds them in order into C with the epilogue.
    private func runLocalTiles(
        _ a: Tensor, _ b: Tensor, _ c: Tensor, _ s: GemmShape, _ cfg: LocalTileConfig, _ kernel: KernelFunction, splits: Int,
        alpha: Float, beta: Float, bias: Tensor?, relu: Bool
    ) throws {
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        let local = cfg.local, epilogue = (bias == nil ? 0 : 1) | (relu ? 2 : 0)
        let partial = splits > 1 ? try Tensor.empty([s.batch * splits * s.m * s.n], on: backend) : nil  // (batch, splits, m, n)
        let global = ((s.n + cfg.tsn - 1) / cfg.tsn * local.0, (s.m + cfg.tsm - 1) / cfg.tsm * local.1, s.batch * splits)
        try backend.launchLocked(kernel, name: "gemm_lt", family: "matmul", global: global, local: local) { k in
            try k.int(s.m); try k.int(s.n); try k.int(s.k); try k.float(alpha); try k.float(beta)
            try k.int(s.transA ? 1 : 0); try k.buffer(a); try k.int(lda); try k.int(s.strideA)
            try k.int(s.transB ? 1 : 0); try k.buffer(b); try k.int(ldb); try k.int(s.strideB)
            try k.buffer(c); try k.int(s.n); try k.int(s.strideC)
            try k.buffer(bias); try k.int(epilogue); try k.int(splits); try k.buffer(partial)
        }
        guard let partial else { return }
        if splitSum == nil { splitSum = try backend.runtime.function("gemm_splitk_sum", program: "matmul", options: "") }
        let sum = ((s.n + 63) / 64 * 64, s.m, s.batch)
        try backend.launchLocked(splitSum!, name: "gemm_splitk_sum", family: "matmul", global: sum, local: (64, 1, 1)) { k in
            try k.int(s.m); try k.int(s.n); try k.int(splits); try k.float(alpha); try k.float(beta)
            try k.buffer(partial); try k.buffer(c); try k.int(s.n); try k.int(s.strideC)
            try k.buffer(bias); try k.int(epilogue)
        }
    }

    /// The gemm_lt tile for `s`: the one `KernelVariants.gemmTiles` forces, else its shape class's
    /// tuned choice (timed on first use on a GPU; on a CPU-type device, where gemm_lt runs only when
    /// forced, the class's first candidate that fits).
    private func localTileChoice(for s: GemmShape) throws -> (LocalTileChoice, KernelFunction) {
        if let name = KernelVariants.gemmTiles {
            guard let tile = Self.allLocalTiles.first(where: { $0.description == name }) else {
                throw DiveError.invalidArgument(op: "matmul", detail: "no gemm_lt candidate is named \(name)")
            }
            guard fits(tile) else {
                throw DiveError.invalidArgument(
                    op: "matmul",
                    detail: "\(name) needs \(tile.localBytes) bytes of local memory and \(tile.local.0 * tile.local.1) work-items per "
                        + "group; \(backend.displayName) has \(backend.limits.localMemoryBytes) and \(backend.limits.maxWorkGroupSize)")
            }
            return (LocalTileChoice(tile: tile, splitK: false), try localTileKernel(tile))
        }
        let cls = Self.shapeClass(s, computeUnits: backend.limits.computeUnits)
        if localTiles[cls] == nil { try chooseLocalTiles(cls) }
        guard let tiles = localTiles[cls] else {
            throw DiveError.invalidArgument(op: "matmul", detail: "no local-tile GEMM fits \(backend.displayName)")
        }
        return tiles
    }

    private func fits(_ t: LocalTileConfig) -> Bool {
        t.local.0 * t.local.1 <= backend.limits.maxWorkGroupSize && t.localBytes <= backend.limits.localMemoryBytes
    }

    private func use(_ cfg: GemmConfig) throws {
        pack = try backend.runtime.function("gemm_pack", program: "matmul", options: cfg.options)
        tile = try backend.runtime.function("gemm_tile", program: "matmul", options: cfg.options)
        config = cfg
    }

    private func localTileKernel(_ cfg: LocalTileConfig) throws -> KernelFunction {
        if let kernel = localTileKernels[cfg] { return kernel }
        let kernel = try backend.runtime.function("gemm_lt", program: "matmul", options: cfg.options)
        localTileKernels[cfg] = kernel
        return kernel
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
    /// device on the class's representative product and caches the fastest: 2048×2048×512 large,
    /// 1120×1024×256 small (the book's LSTM gates), 256×1024×1120 with A transposed skinny (the LSTM's
    /// W_hh gradient, each tile with K split and unsplit). A CPU-type device takes the first that fits.
    private func chooseLocalTiles(_ cls: ShapeClass, retime: Bool = false) throws {
        let fitting = Self.localTileCandidates(cls).filter(fits)
        let choices = fitting.flatMap { tile in
            cls == .skinny
                ? [LocalTileChoice(tile: tile, splitK: false), LocalTileChoice(tile: tile, splitK: true)]
                : [LocalTileChoice(tile: tile, splitK: false)]
        }
        if !backend.limits.isGPU, let first = choices.first {
            localTiles[cls] = (first, try localTileKernel(first.tile))
            return
        }
        if !retime, let file = tuningFile("lt-\(cls.rawValue)"), let data = try? Data(contentsOf: file),
            let cached = try? JSONDecoder().decode(LocalTileChoice.self, from: data), choices.contains(cached)
        {
            localTiles[cls] = (cached, try localTileKernel(cached.tile))
            backend.tuned.append(TunedChoice(family: "gemm", shape: cls.rawValue, seconds: [:], chosen: cached.description, cached: true))
            return
        }
        let (m, n, k, transA) =
            cls == .large ? (2048, 2048, 512, false) : cls == .small ? (1120, 1024, 256, false) : (256, 1024, 1120, true)
        let a = try Tensor.full([m * k], 0.5, on: backend), b = try Tensor.full([k, n], 0.25, on: backend)
        let c = try Tensor.empty([m, n], on: backend)
        let shape = GemmShape(m: m, n: n, k: k, transA: transA)
        var best: (LocalTileChoice, KernelFunction, Double)?
        var seconds: [String: Double] = [:]
        for choice in choices {
            guard let kernel = try? localTileKernel(choice.tile) else { continue }  // a variant the compiler rejects is skipped
            let splits = choice.splitK ? Self.splits(shape, choice.tile, computeUnits: backend.limits.computeUnits, forced: false) : 1
            let median = try time {
                try runLocalTiles(a, b, c, shape, choice.tile, kernel, splits: splits, alpha: 1, beta: 0, bias: nil, relu: false)
            }
            seconds[choice.description] = median
            if best == nil || median < best!.2 { best = (choice, kernel, median) }
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
