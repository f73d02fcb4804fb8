// `DeviceTrace`: what a device's work cost, as its backend counts it: kernel launches per op
// family (the Kernels/*.cl file), host↔device transfers (count, bytes, how many blocked the host)
// waits for the queue to drain, and on CUDA the graphs steps went out as. Take two snapshots and
// subtract to cost a step or an epoch.

/// Counters of a device's work so far (launches, work-groups, transfers, waits, CUDA graphs).
public struct DeviceTrace: Codable, Equatable, Sendable {
    /// Host↔device copies in one direction.
    public struct Transfers: Codable, Equatable, Sendable {
        /// The number of copies, how many of them blocked the host, and the bytes copied.
        public var count = 0, blocking = 0, bytes = 0
        /// Builds a record of no copies.
        public init() {}
    }

    /// Kernel launches per op family ("matmul", "recurrent", "elementwise", ...: the Kernels/*.cl file).
    public var launches: [String: Int] = [:]
    /// The work-groups (CUDA: blocks) those launches ran, per op family: over `launches`, how much
    /// of the device one launch can keep busy.
    public var workGroups: [String: Int] = [:]
    /// Host-to-device copies and device-to-host copies.
    public var uploads = Transfers(), downloads = Transfers()
    /// Waits for every queued operation (clFinish, cuStreamSynchronize).
    public var waits = 0
    /// Training steps queued as one CUDA graph (their kernels are counted in `launches` too).
    public var graphs = 0
    /// The kernels those graphs ran (the rest of `launches` went one by one: before a wait, or an
    /// upload into memory the step's kernels had used); graphs built (a new topology); and nodes
    /// whose arguments changed since their graph's last replay, each updated before it.
    public var graphNodes = 0, graphBuilds = 0, graphNodeUpdates = 0

    /// Builds an empty trace: no launches, transfers, waits or graphs.
    public init() {}

    /// Kernel launches summed over every op family.
    public var totalLaunches: Int { launches.values.reduce(0, +) }

    /// The cost between an earlier snapshot and this one.
    public static func - (a: DeviceTrace, b: DeviceTrace) -> DeviceTrace {
        var d = DeviceTrace()
        for (family, n) in a.launches where n - (b.launches[family] ?? 0) != 0 { d.launches[family] = n - (b.launches[family] ?? 0) }
        for (family, n) in a.workGroups where n - (b.workGroups[family] ?? 0) != 0 {
            d.workGroups[family] = n - (b.workGroups[family] ?? 0)
        }
        d.uploads = a.uploads - b.uploads
        d.downloads = a.downloads - b.downloads
        d.waits = a.waits - b.waits
        d.graphs = a.graphs - b.graphs
        d.graphNodes = a.graphNodes - b.graphNodes
        d.graphBuilds = a.graphBuilds - b.graphBuilds
        d.graphNodeUpdates = a.graphNodeUpdates - b.graphNodeUpdates
        return d
    }

    /// Work-groups per launch of each op family.
    public var workGroupsPerLaunch: [String: Double] {
        launches.reduce(into: [:]) { r, e in if e.value > 0 { r[e.key] = Double(workGroups[e.key] ?? 0) / Double(e.value) } }
    }

    /// One line per figure, divided by `per` (minibatches): launches by family, largest first; then
    /// each family's work-groups per launch beside the device's `computeUnits`, where given.
    public func report(per: Int, unit: String = "minibatch", computeUnits: Int? = nil) -> [String] {
        let n = Double(max(per, 1))
        func f(_ x: Int) -> String { String(format: x % max(per, 1) == 0 ? "%.0f" : "%.1f", Double(x) / n) }
        let families = launches.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return [
            "launches per \(unit): \(f(totalLaunches)) (" + families.map { "\($0.key) \(f($0.value))" }.joined(separator: ", ") + ")",
            "uploads per \(unit): \(f(uploads.count)) (\(f(uploads.bytes)) bytes, \(f(uploads.blocking)) blocking)",
            "downloads per \(unit): \(f(downloads.count)) (\(f(downloads.bytes)) bytes, \(f(downloads.blocking)) blocking)",
            "waits per \(unit): \(f(waits))"
        ]
            + (computeUnits.map { cu in
                [
                    "work-groups per launch (the device has \(cu) compute units): "
                        + families.map { "\($0.key) " + String(format: "%.0f", workGroupsPerLaunch[$0.key] ?? 0) }.joined(separator: ", ")
                ]
            } ?? [])
            + (graphs > 0
                ? [
                    "graphs per \(unit): \(f(graphs)) (\(f(graphNodes)) of the kernels above, queued as one graph; "
                        + "\(f(graphBuilds)) built, \(f(graphNodeUpdates)) nodes updated)"
                ] : [])
    }
}

extension DeviceTrace.Transfers {
    static func - (a: Self, b: Self) -> Self {
        var d = Self()
        d.count = a.count - b.count; d.blocking = a.blocking - b.blocking; d.bytes = a.bytes - b.bytes
        return d
    }
}
