// The processes of a data-parallel run and the three collectives training needs: sum a buffer
// across ranks (gradients, epoch metrics), broadcast bytes from rank 0 (the starting state), and
// abort every rank. `Communicator.world()` is MPI's world under `mpirun` when built with the MPI
// trait, and otherwise one process on its own.
import Foundation

/// The processes of a data-parallel run and the collectives training needs: all-reduce, broadcast, abort.
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size.
    var rank: Int { get }
    /// Processes in the run.
    var size: Int { get }
    /// This process's index among the run's processes on its node (which GPU it takes).
    var localRank: Int { get }
    /// Replaces `values` on every rank by their sum over ranks (the same bits on every rank).
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `values` on every rank by their sum over ranks, in Float64.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Rank 0's `bytes` on every rank (others pass anything; their array is replaced).
    func broadcast(_ bytes: inout [UInt8]) throws
    /// Waits until every rank arrives, sleeping rather than spinning (so a rank that waits leaves
    /// its core to one that works, as when rank 0 times a one-process baseline).
    func barrier() throws
    /// Ends every rank of the run with `message` on standard error and a non-zero status.
    func abort(_ message: String) -> Never
}

extension Communicator {
    /// Whether this is rank 0, the process that broadcasts the starting state and writes the output.
    public var isRoot: Bool { rank == 0 }

    /// Replaces the array on every rank by its elementwise sum over ranks.
    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }
    /// Replaces the array on every rank by its elementwise sum over ranks.
    public func allReduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// The rows of a global minibatch of `rows` that this rank trains on: a contiguous block,
    /// the first `rows % size` ranks taking one row more.
    public func shard(rows: Int) -> Range<Int> {
        let base = rows / size, extra = rows % size
        let lo = rank * base + min(rank, extra)
        return lo..<(lo + base + (rank < extra ? 1 : 0))
    }
}

/// A run of one process: every collective is the identity.
public final class SingleProcess: Communicator {
    /// Builds the communicator of a run of this process alone.
    public init() {}
    /// Always 0: the only process.
    public var rank: Int { 0 }
    /// Always 1: this process alone.
    public var size: Int { 1 }
    /// Always 0: the only process on its node.
    public var localRank: Int { 0 }
    /// Leaves `values` as they are: the sum over one rank.
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    /// Leaves `values` as they are: the sum over one rank.
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    /// Leaves `bytes` as they are: this process is rank 0.
    public func broadcast(_ bytes: inout [UInt8]) throws {}
    /// Returns at once: there is no other rank to wait for.
    public func barrier() throws {}
    /// Prints "error: <message>" on standard error and exits with status 1.
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(1)
    }
}

/// A failure of the distributed layer: an MPI call, or a build without MPI.
public struct DistributedError: Error, CustomStringConvertible {
    /// The message, e.g. "MPI_Allreduce failed with MPI error 5".
    public var description: String
    /// Builds an error carrying `description` as its message.
    public init(_ description: String) { self.description = description }
}

/// Whether this build can run data-parallel, and the run's communicator.
public enum Distributed {
    /// Whether this build has MPI (the package trait `MPI`).
    public static var isAvailable: Bool {
        #if MPI
            return true
        #else
            return false
        #endif
    }

    /// The processes `mpirun` started (one process without mpirun); an error when the build has no MPI.
    public static func world() throws -> Communicator {
        #if MPI
            return try MPICommunicator.world()
        #else
            throw DistributedError(
                "--distributed needs a build with MPI: install OpenMPI (apt-get install libopenmpi-dev openmpi-bin) and build with `swift build -c release --traits MPI`"
            )
        #endif
    }
}
