// Whole-sequence recurrences from Kernels/recurrent.cl, in three shapes. `groups` (rnn_seq_fw /
// rnn_seq_bw): a work-group carries a few batch rows through every step, one launch per direction
// and pass (plus one to transpose W_hh). `vectors` (the _v8 kernels, CPU-type devices): one
// work-item per block of rows, float8 vectors. `split` and `persistent` (rnn_split_fw /
// rnn_split_bw): work-groups own hidden units for every row, so a step spreads over the whole
// device; one launch per step, or every step in one launch of resident work-groups meeting at a
// device-wide barrier. `auto` takes the vector kernels on CPU-type devices and, on GPUs, the
// fastest of the others for the shape (Tuner). The step-by-step path (a GEMM and a cell
// launch per step) remains for states too wide for local memory.
import Foundation

/// How one recurrence launches: the kernel family, batch rows per work-group and work-items per group.
struct SequenceLaunch: Equatable {
    var vectors: Bool
    var rows: Int, localSize: Int
    /// The program's compile-time constant.
    var options: String { "-D ROWS=\(rows)" }
    /// The kernels' names: forward, then backward.
    var names: (fw: String, bw: String) { vectors ? ("rnn_seq_fw_v8", "rnn_seq_bw_v8") : ("rnn_seq_fw", "rnn_seq_bw") }
    /// Local memory per group: the rows' state (H; the group kernels only) and gates (G·H).
    func localFloats(hidden: Int, gates: Int) -> (state: Int, gates: Int) { (vectors ? 0 : rows * hidden, rows * gates * hidden) }
}

extension KernelBackend {
    /// The launch shape of `path` for a recurrence on this device, or nil when it cannot run it
    /// (not even one row fits in local memory, or `vectors` with H not a multiple of 8). A GPU gives
    /// each group a few rows: each group streams all of W_hh per step, so more rows per group means
    /// fewer reads per row but fewer groups at work. A CPU device gets one work-item per compute unit.
    func sequenceLaunch(_ path: RecurrentPath, batch: Int, hidden: Int, gates: Int) -> SequenceLaunch? {
        let vectors: Bool
        switch path {
        case .byStep, .split, .persistent: return nil
        case .groups: vectors = false
        case .vectors: vectors = true
        case .auto: vectors = !limits.isGPU && hidden % 8 == 0
        }
        if vectors && hidden % 8 != 0 { return nil }
        var rows =
            vectors ? min(32, (batch + limits.computeUnits - 1) / limits.computeUnits) : (limits.isGPU ? 4 : min(16, (batch + 1) / 2))
        rows = max(1, min(rows, batch))
        while rows & (rows - 1) != 0 { rows &= rows - 1 }  // a power of two: CUDA's PTX has ROWS = 1, 2, 4 … 32
        let budget = limits.localMemoryBytes - 1024
        while rows > 0 && (vectors ? gates : gates + 1) * rows * hidden * 4 > budget { rows /= 2 }
        guard rows > 0 else { return nil }
        return SequenceLaunch(vectors: vectors, rows: rows, localSize: vectors ? 1 : min(limits.isGPU ? 256 : 64, limits.maxWorkGroupSize))
    }

    /// The launch shape of the split kernels for a recurrence, or nil where they cannot run it (the
    /// W_hh slice of one unit does not fit in local memory; `persistent`: the groups it needs are not
    /// all resident at once). Per step, a group per compute unit at least (U = H / compute units);
    /// persistent, the fewest units per group whose groups the device holds at once.
    func splitLaunch(persistent: Bool, batch: Int, hidden: Int, gates: Int) throws -> SplitLaunch? {
        let localSize = min(limits.isGPU ? 256 : 64, limits.maxWorkGroupSize)
        func shape(_ units: Int) -> SplitLaunch {
            SplitLaunch(units: units, groups: (hidden + units - 1) / units, localSize: localSize, persistent: persistent)
        }
        func fits(_ s: SplitLaunch) -> Bool { s.localBytes(batch: batch, hidden: hidden, gates: gates) <= limits.localMemoryBytes - 1024 }
        guard persistent else {
            var s = shape(max(1, hidden / max(limits.computeUnits, 1)))
            while !fits(s) && s.units > 1 { s = shape(s.units / 2) }
            return fits(s) ? s : nil
        }
        let kernels = (try function(.rnn_split_fw), try function(.rnn_split_bw))
        func resident(_ s: SplitLaunch) throws -> Int {
            let bytes = s.localBytes(batch: batch, hidden: hidden, gates: gates)
            return min(
                try runtime.residentGroups(kernels.0, localSize: localSize, localBytes: bytes),
                try runtime.residentGroups(kernels.1, localSize: localSize, localBytes: bytes))
        }
        var s = shape(1)
        for _ in 0..<8 {  // more units per group: more local memory, fewer groups resident
            guard fits(s) else { return nil }
            let most = try resident(s)
            guard most > 0 else { return nil }
            if s.groups <= most { return s }
            let units = (hidden + most - 1) / most
            s = shape(units > s.units ? units : s.units + 1)
        }
        return nil
    }

    /// How `path` runs a recurrence of this shape on this device (nil: it cannot); `auto` as the
    /// device's tuner chose. Worked out once per shape and variant (`recurrentLaunches`).
    func recurrentLaunch(_ path: RecurrentPath, cell: CellKind, steps: Int, batch: Int, hidden: Int) throws -> RecurrentLaunch? {
        lock.lock(); defer { lock.unlock() }
        let key = RecurrentKey(path: path, cell: cell, steps: steps, batch: batch, hidden: hidden)
        if let known = recurrentLaunches[key] { return known }
        let launch = try workOutRecurrentLaunch(path, cell: cell, steps: steps, batch: batch, hidden: hidden)
        recurrentLaunches[key] = .some(launch)
        return launch
    }

    private func workOutRecurrentLaunch(_ path: RecurrentPath, cell: CellKind, steps: Int, batch: Int, hidden: Int) throws
        -> RecurrentLaunch?
    {
        let G = cell.gates
        switch path {
        case .byStep: return .byStep
        case .groups, .vectors: return sequenceLaunch(path, batch: batch, hidden: hidden, gates: G).map { .rows($0) }
        case .split, .persistent:
            return try splitLaunch(persistent: path == .persistent, batch: batch, hidden: hidden, gates: G).map { .split($0) }
        case .auto:
            if !limits.isGPU { return sequenceLaunch(.auto, batch: batch, hidden: hidden, gates: G).map { .rows($0) } ?? .byStep }
            return try tunedRecurrence(cell: cell, steps: steps, batch: batch, hidden: hidden)
        }
    }

    /// Whether `path` can run a recurrence of this shape on this device (`vectors` takes H in
    /// multiples of 8; every path needs its state in local memory; `auto` runs every shape).
    public func runs(_ path: RecurrentPath, cell: CellKind, batch: Int, hidden: Int) -> Bool {
        guard path != .auto else { return true }
        lock.lock(); defer { lock.unlock() }
        return ((try? recurrentLaunch(path, cell: cell, steps: 1, batch: batch, hidden: hidden)) ?? nil) != nil
    }

    private func plannedLaunch(_ q: RecurrentSequence) throws -> RecurrentLaunch {
        try requireFloat32(q.gi, q.wHH, q.bHH, q.h0, q.out, op: "recurrentSequence")
        let path = KernelVariants.recurrent
        guard let launch = try recurrentLaunch(path, cell: q.cell, steps: q.steps, batch: q.batch, hidden: q.hidden) else {
            throw DiveError.invalidArgument(
                op: "recurrentSequence",
                detail: "the \(path) kernels cannot run batch \(q.batch), hidden size \(q.hidden) on \(displayName)")
        }
        return launch
    }

    /// The fused kernels for a launch shape (one program per rows-per-group).
    private func sequenceKernels(_ shape: SequenceLaunch) throws -> (fw: KernelFunction, bw: KernelFunction) {
        let key = shape.rows * 2 + (shape.vectors ? 1 : 0)
        if let k = sequenceKernelCache[key] { return k }
        let k = (
            fw: try runtime.function(shape.names.fw, program: "recurrent", options: shape.options),
            bw: try runtime.function(shape.names.bw, program: "recurrent", options: shape.options)
        )
        sequenceKernelCache[key] = k
        return k
    }

    /// The whole forward recurrence by the planned path: row groups, split hidden units, or step by step.
    public func recurrentForward(_ q: RecurrentSequence) throws {
        let launch = try plannedLaunch(q)
        guard q.steps > 0, q.batch > 0 else { return }
        switch launch {
        case .byStep: try recurrentForwardByStep(q)
        case let .rows(shape): try rowsForward(q, shape)
        case let .split(shape): try splitForward(q, shape)
        }
    }

    /// The whole backward recurrence by the same planned path as the forward.
    public func recurrentBackward(
        _ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor
    ) throws {
        let launch = try plannedLaunch(q)
        if case .byStep = launch { return try recurrentBackwardByStep(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh) }
        try requireFloat32(gradOut, dh, dGi, dGh, op: "recurrentSequence backward")
        guard q.steps > 0, q.batch > 0 else { return }
        switch launch {
        case .byStep: break
        case let .rows(shape): try rowsBackward(q, shape, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        case let .split(shape): try splitBackward(q, shape, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        }
    }

    private func rowsForward(_ q: RecurrentSequence, _ shape: SequenceLaunch) throws {
        let G = q.cell.gates, H = q.hidden
        let wT = try Tensor.empty([H, G * H], on: self)  // (H, G·H)
        try copyStrided(q.wHH, into: wT, layout: try StridedLayout.make(shape: [H, G * H], srcStrides: [1, H], dstStrides: [G * H, 1]))
        try rowsLaunch(q, shape, backward: false, buffers: [q.gi, wT, q.bHH, q.h0, q.cells, q.out, q.saved])
    }

    private func rowsBackward(
        _ q: RecurrentSequence, _ shape: SequenceLaunch, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor
    ) throws {
        try rowsLaunch(
            q, shape, backward: true, buffers: [q.saved, q.h0, q.cells, q.out, gradOut, dh, dc, dGi, dGh, q.wHH])
    }

    /// One launch of the fused row-group kernel, forward or backward, over q's batch: `buffers` in
    /// order, then the cell, steps, batch, hidden size and direction, then the local memory.
    private func rowsLaunch(_ q: RecurrentSequence, _ shape: SequenceLaunch, backward: Bool, buffers: [Tensor?]) throws {
        let local = shape.localFloats(hidden: q.hidden, gates: q.cell.gates)
        let groups = (q.batch + shape.rows - 1) / shape.rows
        lock.lock(); defer { lock.unlock() }
        let kernels = try sequenceKernels(shape)
        try launchLocked(
            backward ? kernels.bw : kernels.fw, name: backward ? shape.names.bw : shape.names.fw, family: "recurrent",
            global: (groups * shape.localSize, 1, 1), local: (shape.localSize, 1, 1)
        ) { a in
            for buffer in buffers { try a.buffer(buffer) }
            try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(q.hidden); try a.int(q.reverse ? 1 : 0)
            if !shape.vectors { try a.local(floats: local.state) }
            try a.local(floats: local.gates)
        }
    }

    /// rnn_split_fw over every step: once per step, or once for all (persistent).
    private func splitForward(_ q: RecurrentSequence, _ shape: SplitLaunch) throws {
        lock.lock(); defer { lock.unlock() }
        let k = try function(.rnn_split_fw), sync = try gridSync.get()
        let local = shape.localFloats(batch: q.batch, hidden: q.hidden, gates: q.cell.gates)
        func run(first: Int, count: Int) throws {
            try launchLocked(
                k, name: "rnn_split_fw", family: "recurrent", global: (shape.groups * shape.localSize, 1, 1),
                local: (shape.localSize, 1, 1), resident: shape.persistent
            ) { a in
                try a.buffer(q.gi); try a.buffer(q.wHH); try a.buffer(q.bHH); try a.buffer(q.h0); try a.buffer(q.cells)
                try a.buffer(q.out); try a.buffer(q.saved); try a.buffer(sync)
                try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(q.hidden); try a.int(q.reverse ? 1 : 0)
                try a.int(shape.units); try a.int(first); try a.int(count)
                try a.local(floats: local.weights); try a.local(floats: local.products)
            }
        }
        if shape.persistent { try run(first: 0, count: q.steps) } else { for s in 0..<q.steps { try run(first: s, count: 1) } }
    }

    /// rnn_split_bw over every step in reverse, then h0's gradient: once per step and once more, or
    /// once for all (persistent).
    private func splitBackward(
        _ q: RecurrentSequence, _ shape: SplitLaunch, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor
    ) throws {
        lock.lock(); defer { lock.unlock() }
        let k = try function(.rnn_split_bw), sync = try gridSync.get()
        let local = shape.localFloats(batch: q.batch, hidden: q.hidden, gates: q.cell.gates)
        func run(first: Int, count: Int, finish: Bool) throws {
            try launchLocked(
                k, name: "rnn_split_bw", family: "recurrent", global: (shape.groups * shape.localSize, 1, 1),
                local: (shape.localSize, 1, 1), resident: shape.persistent
            ) { a in
                try a.buffer(q.saved); try a.buffer(q.h0); try a.buffer(q.cells); try a.buffer(q.out); try a.buffer(gradOut)
                try a.buffer(dh); try a.buffer(dc); try a.buffer(dGi); try a.buffer(dGh); try a.buffer(q.wHH); try a.buffer(sync)
                try a.int(q.cell.rawValue); try a.int(q.steps); try a.int(q.batch); try a.int(q.hidden); try a.int(q.reverse ? 1 : 0)
                try a.int(shape.units); try a.int(first); try a.int(count); try a.int(finish ? 1 : 0)
                try a.local(floats: local.weights); try a.local(floats: local.products)
            }
        }
        if shape.persistent {
            try run(first: q.steps - 1, count: q.steps, finish: true)
        } else {
            for s in (0..<q.steps).reversed() { try run(first: s, count: 1, finish: false) }
            try run(first: -1, count: 0, finish: true)
        }
    }
}

extension KernelBackend {
    /// The recurrence candidates `auto` times on GPUs.
    static let recurrentCandidates: [RecurrentPath] = [.groups, .split, .persistent]

    /// The launch `auto` takes on a GPU for this shape: the fastest candidate that can run it
    /// (Tuner), or the step-by-step path where none can. `retime`: time them even where a choice
    /// is made or cached (`dive tune`).
    func tunedRecurrence(cell: CellKind, steps: Int, batch: Int, hidden: Int, retime: Bool = false) throws -> RecurrentLaunch {
        lock.lock(); defer { lock.unlock() }
        var runnable: [RecurrentPath: RecurrentLaunch] = [:]
        for p in Self.recurrentCandidates {
            if let l = try recurrentLaunch(p, cell: cell, steps: steps, batch: batch, hidden: hidden) { runnable[p] = l }
        }
        let names = Self.recurrentCandidates.filter { runnable[$0] != nil }.map(\.rawValue)
        let pick = try tuner.choose(
            family: "recurrent", shape: "\(cell) T=\(steps) B=\(batch) H=\(hidden)", program: "recurrent",
            candidates: names, retime: retime
        ) { name in
            try KernelVariants.$recurrent.withValue(RecurrentPath(rawValue: name)!) {
                try timeRecurrence(cell: cell, steps: steps, batch: batch, hidden: hidden)
            }
        }
        return pick.flatMap { RecurrentPath(rawValue: $0) }.flatMap { runnable[$0] } ?? .byStep
    }

    /// Median seconds of a forward and backward of this shape with the variant in force.
    private func timeRecurrence(cell: CellKind, steps T: Int, batch B: Int, hidden H: Int) throws -> Double {
        let G = cell.gates
        func filled(_ shape: [Int], _ v: Double) throws -> Tensor { try Tensor.full(shape, v, on: self) }
        let q = RecurrentSequence(
            cell: cell, steps: T, batch: B, hidden: H, reverse: false,
            gi: try filled([T, B, G * H], 0.01), wHH: try filled([G * H, H], 0.01), bHH: try filled([G * H], 0),
            h0: try filled([B, H], 0), cells: cell == .lstm ? try filled([T + 1, B, H], 0) : nil,
            out: try filled([T, B, H], 0), saved: try filled([T, B, 4 * H], 0))
        let gradOut = try filled([T, B, H], 0.01), dh = try filled([B, H], 0), dc = cell == .lstm ? try filled([B, H], 0) : nil
        let dGi = try filled([T, B, G * H], 0), dGh = try filled([T, B, G * H], 0)
        return try medianTime {
            try recurrentForward(q)
            try recurrentBackward(q, gradOut: gradOut, dh: dh, dc: dc, dGi: dGi, dGh: dGh)
        }
    }

    /// Times the recurrence candidates for a shape now, even where a choice is cached (`dive
    /// tune`), and keeps the fastest; returns the choice, or nil where fewer than two can run it.
    public func tuneRecurrence(_ cell: CellKind, steps: Int, batch: Int, hidden: Int) throws -> TunedChoice? {
        guard limits.isGPU else { return nil }  // CPU-type devices run the vector kernels
        return try tuner.retimed {
            recurrentLaunches[RecurrentKey(path: .auto, cell: cell, steps: steps, batch: batch, hidden: hidden)] = nil
            _ = try tunedRecurrence(cell: cell, steps: steps, batch: batch, hidden: hidden, retime: true)
        }
    }
}

/// A recurrence's shape and variant, as `recurrentLaunches` keeps its launch.
struct RecurrentKey: Hashable {
    var path: RecurrentPath, cell: CellKind, steps, batch, hidden: Int
}

/// How the split kernels launch: hidden units per work-group, work-groups, work-items per group,
/// and whether every step runs in one launch (persistent).
struct SplitLaunch: Equatable, Codable {
    var units, groups, localSize: Int
    var persistent: Bool
    /// Local memory per group: the group's W_hh entries (G·U·H) and its products (max(L, B·G·U)).
    func localFloats(batch: Int, hidden: Int, gates: Int) -> (weights: Int, products: Int) {
        (gates * units * hidden, max(localSize, batch * gates * units))
    }
    func localBytes(batch: Int, hidden: Int, gates: Int) -> Int {
        let f = localFloats(batch: batch, hidden: hidden, gates: gates)
        return 4 * (f.weights + f.products) + 32
    }
}

/// How a recurrence runs on a kernel device.
enum RecurrentLaunch: Equatable {
    case byStep
    case rows(SequenceLaunch)
    case split(SplitLaunch)
}
