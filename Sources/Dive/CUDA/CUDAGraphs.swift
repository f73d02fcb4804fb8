// CUDA graphs for training steps. While a step runs, CUDARuntime records its kernel launches
// instead of issuing them (in its StepRecorder, by the extension below); at the end the step goes
// to the GPU as one graph launch. Graphs are kept per topology (the sequence of kernels with their
// grids, blocks and shared memory), so a step of a new shape, such as the last partial batch, gets
// its own graph. Arguments may change from step to step (learning rate, Adam's bias correction,
// dropout offsets, temporaries' addresses): each replay first updates the nodes whose argument
// bytes differ, so a replay runs exactly the launches the step asked for. None differ once a
// topology has run a few steps: the values that change every step (dropout offsets, the optimiser's
// step size) are read from the runtime's step table rather than passed, the memory pool hands a
// repeated step the same addresses, and a topology keeps a graph for each of the few address sets
// that carried state cycles through (two for the concise models, four for the scratch LSTM's (H, C)
// pairs).
import Foundation
import Logging

/// A launch held back while a step is recorded: its function, shape and argument bytes (16 per
/// argument, as cuLaunchKernel reads them).
struct RecordedLaunch {
    var function: KernelFunction
    var grid: (Int, Int, Int), block: (Int, Int, Int)
    var sharedBytes: Int
    var arguments: [UInt8]
    /// Whether its blocks wait for each other (a cooperative launch, a cooperative node in a graph).
    var cooperative = false

    var topology: [Int] {
        [
            Int(bitPattern: UnsafeRawPointer(function)), grid.0, grid.1, grid.2, block.0, block.1, block.2, sharedBytes, arguments.count,
            cooperative ? 1 : 0
        ]
    }

    /// Calls `body` with the kernelParams array of this launch's arguments.
    func withParams<R>(_ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws -> R) rethrows -> R {
        var copy = arguments
        return try copy.withUnsafeMutableBytes { bytes in
            var pointers = (0..<arguments.count / 16).map { bytes.baseAddress! + $0 * 16 as UnsafeMutableRawPointer? }
            return try pointers.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
        }
    }

    func nodeParams(_ params: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> CUDADriver.KernelNodeParams {
        CUDADriver.KernelNodeParams(
            function: function, gridX: UInt32(grid.0), gridY: UInt32(grid.1), gridZ: UInt32(grid.2),
            blockX: UInt32(block.0), blockY: UInt32(block.1), blockZ: UInt32(block.2),
            sharedBytes: UInt32(sharedBytes), params: params)
    }
}

/// What queuing one step as a graph cost: whether its graph had to be built, and how many nodes'
/// arguments were updated first.
struct GraphReplay {
    var nodes: Int
    var built: Bool
    var updatedNodes: Int
}

/// What CUDARuntime keeps while it records a training step for a graph: the launches held back,
/// the allocations they use and those released meanwhile, the step's values and their device table,
/// and the step graphs.
final class StepRecorder {
    /// The step being recorded for a graph (nil: launches go straight to the stream), the
    /// allocations its launches use (an upload into one issues them first), and allocations
    /// released meanwhile that the pool had no room for (freed once the launches are queued).
    var recording: [RecordedLaunch]?
    var usedAllocations: Set<UInt64> = []
    private var pendingFrees: [UInt64] = []
    /// Guards `pendingFrees`: a buffer's last release may come from any thread.
    private let pendingLock = NSLock()
    /// The values of the step being recorded that change from step to step (dropout offsets, the
    /// optimiser's step size), in the order its launches asked for them, and the device table they
    /// are copied to before the step's launches run: the launches read them there by slot, so a
    /// step's graph replays with the same arguments every time.
    fileprivate var stepValues: [UInt64] = []
    fileprivate var stepTable: UInt64 = 0
    fileprivate static let stepTableEntries = 4096
    /// The table as a buffer the launches bind (never returned to the pool).
    fileprivate var stepTableBuffer: CUDABuffer?
    /// The step graphs, where the driver has the graph API.
    fileprivate lazy var graphs: StepGraphs? = CUDADriver.graphAPI.map { [api] in StepGraphs(api: $0) { try api.check($0, $1) } }
    /// Set once the driver refused a cooperative kernel node in a graph.
    var cooperativeNodesRefused = false
    /// The driver API the step graphs check their calls with.
    private let api: CUDADriver.API

    init(api: CUDADriver.API) {
        self.api = api
    }

    /// While a step is recorded, holds back an allocation released that the pool had no room for
    /// (recorded launches may still use it) and returns true; `takeFrees` hands it on to be freed.
    func deferFree(_ address: UInt64) -> Bool {
        guard recording != nil else { return false }
        pendingLock.withLock { pendingFrees.append(address) }
        return true
    }

    /// Forgets the allocations of launches now queued, and takes those released meanwhile.
    fileprivate func takeFrees() -> [UInt64] {
        usedAllocations.removeAll(keepingCapacity: true)
        return pendingLock.withLock { () -> [UInt64] in
            defer { pendingFrees.removeAll() }; return pendingFrees
        }
    }
}

// MARK: steps as graphs

extension CUDARuntime {
    /// Issues the launches recorded so far one by one (before the host waits or an upload reuses
    /// their memory); the step goes on recording.
    func issueRecorded() throws {
        guard let launches = recorder.recording, !launches.isEmpty else { return }
        try writeStepValues()
        recorder.recording = []
        for l in launches { try issue(l) }
        releaseUsed()
    }

    /// Forgets the allocations of launches now queued, and frees those released meanwhile.
    private func releaseUsed() {
        let frees = recorder.takeFrees()
        if !frees.isEmpty { _ = api.streamSynchronize(stream) }
        for a in frees { _ = api.memFree(a) }
    }

    var recordsSteps: Bool { recorder.graphs != nil }

    func beginStep() {
        if recorder.graphs != nil && recorder.recording == nil {
            recorder.recording = []
            recorder.stepValues.removeAll(keepingCapacity: true)
        }
    }

    func stepSlot(_ value: UInt64) -> (table: Buffer, slot: Int)? {
        guard recorder.recording != nil, recorder.stepValues.count < StepRecorder.stepTableEntries else { return nil }
        if recorder.stepTable == 0 {
            guard let a = try? createAllocation(byteCount: StepRecorder.stepTableEntries * 8) else { return nil }
            recorder.stepTable = a
            recorder.stepTableBuffer = CUDABuffer(address: a, byteCount: StepRecorder.stepTableEntries * 8, owner: self)
        }
        recorder.stepValues.append(value)
        return (recorder.stepTableBuffer!, recorder.stepValues.count - 1)
    }

    /// Copies the step's values so far to the table, ahead of the launches that read them.
    private func writeStepValues() throws {
        guard !recorder.stepValues.isEmpty else { return }
        try recorder.stepValues.withUnsafeBytes { try stage($0, to: recorder.stepTable) }
    }

    /// Queues the recorded step as one graph; returns what that cost (nil: nothing was recorded).
    func endStep() throws -> GraphReplay? {
        guard let launches = recorder.recording, let graphs = recorder.graphs else { return nil }
        recorder.recording = nil
        defer { releaseUsed() }
        guard !launches.isEmpty else { return nil }
        _ = api.setCurrent(context)
        try writeStepValues()
        do {
            return try graphs.launch(launches, on: stream)
        } catch StepGraphs.CooperativeNodeRefused.refused {
            // The driver takes no cooperative kernel node: this step goes launch by launch, and
            // later steps take their cooperative launches outside the graph.
            recorder.cooperativeNodesRefused = true
            Log.device.debug("\(info.name): no cooperative graph nodes; cooperative launches go outside the step graphs")
            for l in launches { try issue(l) }
            return nil
        }
    }

    /// Issues what the step recorded one launch at a time (the step failed part-way).
    func abandonStep() {
        guard recorder.recording != nil else { return }
        try? issueRecorded()
        recorder.recording = nil
        releaseUsed()
    }
}

/// The instantiated graphs of one stream's steps, by topology (at most `capacity` topologies, least
/// recently used dropped first). A topology keeps up to `instances` graphs, and a replay takes the
/// one whose arguments differ least: state carried from step to step (an RNN's hidden state, the
/// parameters' gradients) lives in buffers that take turns, so steps cycle through a few sets of
/// addresses, and one graph per set leaves nothing to update.
final class StepGraphs {
    private struct Graph {
        var graph: OpaquePointer?, exec: OpaquePointer?
        var nodes: [OpaquePointer?]
        var arguments: [[UInt8]]
        var lastUse: Int

        /// The nodes whose arguments differ from those of `launches`.
        func changedNodes(_ launches: [RecordedLaunch]) -> [Int] {
            launches.indices.filter { !sameBytes(launches[$0].arguments, arguments[$0]) }
        }
    }

    /// The driver refused to make a kernel node cooperative (the graph was not built).
    enum CooperativeNodeRefused: Error { case refused }

    static let capacity = 8, instances = 4
    private let api: CUDADriver.GraphAPI
    private let check: (Int32, String) throws -> Void
    private var graphs: [[Int]: [Graph]] = [:]
    private var uses = 0

    init(api: CUDADriver.GraphAPI, check: @escaping (Int32, String) throws -> Void) {
        self.api = api
        self.check = check
    }

    deinit {
        for g in graphs.values.joined() { _ = api.destroyExec(g.exec); _ = api.destroy(g.graph) }
    }

    /// Launches `launches` on `stream` as one graph: the cached graph of their topology that needs
    /// the fewest updates, with those made, or a new one.
    func launch(_ launches: [RecordedLaunch], on stream: OpaquePointer?) throws -> GraphReplay {
        let topology = launches.flatMap(\.topology)
        uses += 1
        var kept = graphs[topology] ?? []
        let changed = kept.map { $0.changedNodes(launches) }
        if let best = changed.indices.min(by: { changed[$0].count < changed[$1].count }),
            changed[best].isEmpty || kept.count >= Self.instances
        {
            var g = kept[best]
            for i in changed[best] {
                let l = launches[i]
                try l.withParams { p in
                    var params = l.nodeParams(p)
                    try check(
                        withUnsafePointer(to: &params) { api.setKernelNodeParams(g.exec, g.nodes[i], $0) }, "cuGraphExecKernelNodeSetParams"
                    )
                }
                g.arguments[i] = l.arguments
            }
            g.lastUse = uses
            kept[best] = g
            graphs[topology] = kept
            try check(api.launch(g.exec, stream), "cuGraphLaunch")
            return GraphReplay(nodes: launches.count, built: false, updatedNodes: changed[best].count)
        }
        let g = try build(launches)
        if kept.isEmpty && graphs.count >= Self.capacity,
            let oldest = graphs.min(by: { $0.value.map(\.lastUse).max()! < $1.value.map(\.lastUse).max()! })
        {
            for old in oldest.value { _ = api.destroyExec(old.exec); _ = api.destroy(old.graph) }
            graphs[oldest.key] = nil
        }
        graphs[topology] = kept + [g]
        try check(api.launch(g.exec, stream), "cuGraphLaunch")
        return GraphReplay(nodes: launches.count, built: true, updatedNodes: 0)
    }

    /// A graph of the launches, each depending on the one before (the order the stream would run them).
    private func build(_ launches: [RecordedLaunch]) throws -> Graph {
        var graph: OpaquePointer?
        try check(api.create(&graph, 0), "cuGraphCreate")
        var nodes: [OpaquePointer?] = []
        nodes.reserveCapacity(launches.count)
        do {
            for l in launches {
                var node: OpaquePointer?
                var previous = nodes.last ?? nil
                try l.withParams { p in
                    var params = l.nodeParams(p)
                    let status = withUnsafePointer(to: &params) { api.addKernelNode(&node, graph, &previous, nodes.isEmpty ? 0 : 1, $0) }
                    try check(status, "cuGraphAddKernelNode")
                }
                if l.cooperative, let setAttribute = CUDADriver.cooperativeAPI?.setNodeAttribute {
                    // CU_KERNEL_NODE_ATTRIBUTE_COOPERATIVE (2); the value is a 64-byte union whose `int cooperative` comes first.
                    var value = [Int32](repeating: 0, count: 16)
                    value[0] = 1
                    guard value.withUnsafeBytes({ setAttribute(node, 2, $0.baseAddress!) }) == 0 else {
                        throw CooperativeNodeRefused.refused
                    }
                }
                nodes.append(node)
            }
            var exec: OpaquePointer?
            try check(api.instantiate(&exec, graph, 0), "cuGraphInstantiateWithFlags")
            return Graph(graph: graph, exec: exec, nodes: nodes, arguments: launches.map(\.arguments), lastUse: uses)
        } catch {
            _ = api.destroy(graph)
            throw error
        }
    }
}

/// Whether two argument blocks are equal, compared as memory (Array's == goes byte by byte).
private func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count
        && (a.isEmpty || a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } })
}
