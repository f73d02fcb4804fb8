// Data parallelism over a `Communicator`: the starting state broadcast from rank 0, one fused
// all-reduce of every gradient per step, and the epoch's sums reduced. Dropout needs nothing here:
// the model's stream draws each mask for the whole global minibatch and keeps this rank's rows
// (`RandomStream.shard`). One process (`SingleProcess`, `mpirun -np 1`) changes nothing, bit for bit.
import Dive
import DiveData
import DiveDistributed
import DiveNN
import Foundation

final class DataParallel {
    let comm: Communicator
    /// Time and bytes spent in the gradients' all-reduce, for `dive bench models --distributed`.
    private(set) var reduceSeconds = 0.0
    private(set) var reduceBytes = 0
    private(set) var reduceCalls = 0

    init(_ comm: Communicator) { self.comm = comm }

    /// Rank 0's model, optimiser state, dropout stream, step and data position on every rank: rank 0
    /// encodes them as an in-memory checkpoint, every other rank loads it.
    func broadcastStart(
        model: Module, optimizer: Optimizer, step: Int, position: LoaderPosition,
        partial: PartialEpoch?
    ) throws -> (step: Int, position: LoaderPosition, partial: PartialEpoch?) {
        guard comm.size > 1 else { return (step, position, partial) }
        var bytes: [UInt8] = []
        if comm.isRoot {
            var extra = ["position": try Training.json(position)]
            if let partial { extra["epoch_partial"] = try Training.json(partial) }
            let file = try Checkpoint.encode(model: model, optimizer: optimizer, info: CheckpointInfo(step: step, extra: extra))
            bytes = [UInt8](try file.serialized())
        }
        try comm.broadcast(&bytes)
        guard !comm.isRoot else { return (step, position, partial) }
        let source = "rank 0's starting state"
        let file = try SafeTensorsFile.parse(Data(bytes), file: source)
        let info = try Checkpoint.load(file, path: source, into: model, optimizer: optimizer)
        // Rank 0 alone carries the interrupted epoch's summed loss and correct rows into the reduction.
        var theirs = try info.extra["epoch_partial"].map { try Training.decode(PartialEpoch.self, $0, key: "epoch_partial", path: source) }
        theirs?.lossSum = 0
        theirs?.correct = 0
        return (info.step, try Training.decode(LoaderPosition.self, info.extra["position"], key: "position", path: source), theirs)
    }

    /// Host memory for the fused all-reduce, from the parameters' device (pinned on CUDA), and its size in floats.
    private var host: (pointer: UnsafeMutableRawPointer, floats: Int, backend: Backend)?

    deinit { if let host { host.backend.freeHost(host.pointer) } }

    /// Sums every parameter's gradient over the ranks in one fused all-reduce. A parameter that has
    /// no gradient on a rank counts as zero there, and it has one afterwards if any rank had one.
    /// `flag` (a Ctrl-C on this rank) rides along: the result says whether any rank raised it.
    /// The gradients are joined on the device (one copy each), cross to the host in one download
    /// into memory the device copies to at full speed (pinned on CUDA), are summed there, and go
    /// back in one upload; each parameter's gradient is then its slice of the joined tensor.
    func reduceGradients(_ params: [Tensor], flag: Bool) throws -> Bool {
        let t0 = Training.now()
        guard let backend = params.first?.backend else { return flag }
        let sizes = params.map(\.count)
        let total = sizes.reduce(0, +)
        // (gradients..., one presence slot per parameter, the flag)
        let floats = total + params.count + 1
        if let h = host, h.floats < floats || h.backend !== backend { backend.freeHost(h.pointer); host = nil }
        if host == nil { host = (try backend.allocateHost(byteCount: floats * 4), floats, backend) }
        let b = UnsafeMutableBufferPointer(start: host!.pointer.bindMemory(to: Float.self, capacity: floats), count: floats)
        let joined = try Tensor.concat(
            try params.map { p in try (p.grad ?? Tensor.zeros(p.shape, on: backend)).reshaped([p.count]) }, axis: 0)
        try joined.copy(into: UnsafeMutableBufferPointer(rebasing: b[0..<total]))
        for (i, p) in params.enumerated() { b[total + i] = p.grad == nil ? 0 : 1 }
        b[total + params.count] = flag ? 1 : 0
        try comm.allReduceSum(b)
        try backend.upload(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: b[0..<total])), to: joined.storage)
        var offset = 0
        for (i, p) in params.enumerated() {
            if b[total + i] > 0 { p.grad = try joined.slice(axis: 0, offset..<(offset + sizes[i])).reshaped(p.shape) }
            offset += sizes[i]
        }
        reduceSeconds += Training.now() - t0
        reduceBytes += floats * MemoryLayout<Float>.size
        reduceCalls += 1
        return b[total + params.count] > 0
    }

    /// The epoch's sums over every rank (summed loss, correct predictions).
    func reduceSums(_ values: [Double]) throws -> [Double] {
        var v = values
        if comm.size > 1 { try comm.allReduceSum(&v) }
        return v
    }
}
