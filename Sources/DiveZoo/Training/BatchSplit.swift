// A minibatch split across the CPU's cores in one process, as the ranks of a data-parallel run
// split it across processes. The rows are cut into shards fixed by the minibatch (32 rows or more
// each, at most 8; an epoch's last, short minibatch in two of 8 or more), never by the cores; a
// minibatch of fewer than 16 rows splits its ops. Each shard runs its forward and backward on a
// worker thread, on its own replica of the model: the replicas' parameters share the model's memory,
// their gradients are their own. The shards' gradients are then summed into the model's in shard
// order and one optimiser step follows, so a run's numbers are the same for any thread count.
// Dropout draws each mask for the whole minibatch and keeps the shard's rows (`RowShard`), as
// under MPI. Tasks that carry state from one minibatch to the next (the language models), and
// devices other than the CPU, split the ops of one step instead.
import Dive
import DiveNN
import Foundation

/// A copy of a task's model for one shard of a minibatch split across the CPU's cores: its
/// parameters share the model's memory (`Module.shareParameters`), its gradients are its own.
public struct ShardReplica<Batch> {
    /// The copy; the trainer sets its random stream and mode to the model's at every step.
    public let model: Module
    /// The loss of rows of a global minibatch of `globalRows` rows, computed on `model`.
    public let loss: (_ rows: Batch, _ globalRows: Int) throws -> StepLoss

    /// A replica computing `loss` on `model`.
    public init(model: Module, loss: @escaping (_ rows: Batch, _ globalRows: Int) throws -> StepLoss) {
        self.model = model
        self.loss = loss
    }
}

/// How a step of a run used the CPU's cores, for `--trace` and `dive bench models`.
public enum CoreUse: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The minibatch's rows split into shards, each run on one thread.
    case batchSplit(shards: Int, threads: Int)
    /// One step's large ops split across threads.
    case opSplit(threads: Int)

    /// "batch split (4 shards on 2 threads)" or "op split (2 threads)".
    public var description: String {
        func threads(_ n: Int) -> String { n == 1 ? "1 thread" : "\(n) threads" }
        switch self {
        case let .batchSplit(shards, n): return "batch split (\(shards) shards on \(threads(n)))"
        case let .opSplit(n): return "op split (\(threads(n)))"
        }
    }
}

private let shardRows = ProcessInfo.processInfo.environment["DIVE_SHARD_ROWS"].flatMap { Int($0) } ?? 32

/// The shards of a task's minibatches and the replicas that run them (shard 0 runs on the model).
final class BatchSplit<Task: TrainingTask> {
    /// Rows a shard keeps at least (`DIVE_SHARD_ROWS`, default 32). Every shard runs every op of
    /// the step, so its fixed cost per op is paid once per shard: on 2 cores, shards of 32 rows
    /// trained seq2seq at 121k–159k tokens/s and shards of 16 at 95k–110k.
    static var minimumRows: Int { shardRows }
    /// The most shards a minibatch is cut into.
    static var maximumShards: Int { 8 }

    let task: Task
    private var replicas: [ShardReplica<Task.Batch>] = []
    /// The most shards a minibatch was cut into so far (the last one of an epoch may have fewer rows).
    private(set) var shards = 1

    private init(_ task: Task, first: ShardReplica<Task.Batch>) {
        self.task = task
        replicas = [first]
    }

    /// The split for `task` on `backend`: nil where the steps split ops instead (not the CPU, or a
    /// task without replicas).
    static func make(_ task: Task, on backend: Backend) throws -> BatchSplit? {
        guard backend is CPUBackend, let first = try task.makeReplica() else { return nil }
        return BatchSplit(task, first: first)
    }

    /// `rows` (of a global minibatch) cut into shards: as many as blocks of `minimumRows` fit, at
    /// most 8; fewer rows than two such blocks (an epoch's last, short minibatch) go into two
    /// shards when each keeps a quarter of `minimumRows` (8 rows), as the ranks of a data-parallel
    /// run split them.
    static func shards(of rows: Range<Int>) -> [Range<Int>] {
        let halves = rows.count >= 2 * max(1, minimumRows / 4) ? 2 : 1
        let n = min(maximumShards, max(halves, rows.count / minimumRows))
        return (0..<n).map { i in (rows.lowerBound + i * rows.count / n)..<(rows.lowerBound + (i + 1) * rows.count / n) }
    }

    /// The forward and backward of `rows` of `batch`, shard by shard across the cores; afterwards
    /// the model's gradients are the shards' summed in shard order. Returns the shards' losses in
    /// shard order. Rows too few for two shards run as they would unsplit, their ops split.
    func forwardBackward(_ batch: Task.Batch, rows: Range<Int>) throws -> [StepLoss] {
        let model = task.model
        let ranges = Self.shards(of: rows)
        shards = max(shards, ranges.count)
        if ranges.count == 1 {
            let whole = rows.count == batch.batchSize
            model.randomStream.shard = whole ? nil : RowShard(rows: rows, globalRows: batch.batchSize)
            let out = try task.loss(whole ? batch : batch.rows(rows), globalRows: batch.batchSize)
            try out.loss.backward()
            return [out]
        }
        while replicas.count < ranges.count - 1 {
            guard let replica = try task.makeReplica() else {
                throw DiveError.invalidArgument(op: "BatchSplit", detail: "\(task.recipe) made no replica for shard \(replicas.count + 1)")
            }
            replicas.append(replica)
        }
        let seed = model.randomStream.seed, offset = model.randomStream.offset
        var modules = [model]
        for replica in replicas.prefix(ranges.count - 1) {
            replica.model.train(model.isTraining)
            replica.model.zeroGrad()
            modules.append(replica.model)
        }
        for (module, range) in zip(modules, ranges) {
            let stream = module.randomStream
            stream.seed = seed
            stream.offset = offset
            stream.shard = RowShard(rows: range, globalRows: batch.batchSize)
        }
        var losses = [StepLoss?](repeating: nil, count: ranges.count)
        try losses.withUnsafeMutableBufferPointer { slots in
            try CPUBackend.forEachShard(ranges.count) { i in
                let shard = batch.rows(ranges[i])
                let out = try i == 0 ? task.loss(shard, globalRows: batch.batchSize) : replicas[i - 1].loss(shard, batch.batchSize)
                try out.loss.backward()
                slots[i] = out
            }
        }
        try Autograd.withoutGrad {
            let params = modules.map(\.parameters)
            for (j, p) in params[0].enumerated() {
                for other in params.dropFirst() {
                    guard let g = other[j].grad else { continue }
                    p.grad = try p.grad.map { try $0 + g } ?? g
                }
            }
        }
        return losses.map { $0! }
    }
}
