// CUDA graphs for training steps. While a step runs, CUDARuntime records its kernel launches
// instead of issuing them; at the end the step goes to the GPU as one graph launch. Graphs are
// kept per topology (the sequence of kernels with their grids, blocks and shared memory), so a
// step of a new shape, such as the last partial batch, gets its own graph. Arguments may change
// from step to step (learning rate, Adam's bias correction, dropout offsets, temporaries' addresses):
// each replay first updates the nodes whose argument bytes differ, so a replay runs exactly the
// launches the step asked for. None differ once a topology has run a few steps: the values that
// change every step (dropout offsets, the optimiser's step size) are read from the runtime's step
// table rather than passed, the memory pool hands a repeated step the same addresses, and a
// topology keeps a graph for each of the few address sets that carried state cycles through
// (two for the concise models, four for the scratch LSTM's (H, C) pairs).
import Foundation

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
