// The processes of a data-parallel run and the three collectives training needs: sum a buffer
// across ranks (gradients, epoch metrics), broadcast bytes from rank 0 (the starting state), and
// abort every rank. `Communicator.world()` is MPI's world under `mpirun` when built with the MPI
// trait, and otherwise one process on its own.
import Foundation

public protocol Communicator: AnyObject {
    /// This process's index, 0..<size.
    var rank: Int { get }
    /// Processes in the run.
    var size: Int { get }
    /// This process's index among the run's processes on its node (which GPU it takes).
    var localRank: Int { get }
    /// Replaces `values` on every rank by their sum over ranks (the same bits on every rank).
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
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
    public var isRoot: Bool { rank == 0 }

    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }
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
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func broadcast(_ bytes: inout [UInt8]) throws {}
    public func barrier() throws {}
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(1)
    }
}

public struct DistributedError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

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
        throw DistributedError("--distributed needs a build with MPI: install OpenMPI (apt-get install libopenmpi-dev openmpi-bin) and build with `swift build -c release --traits MPI`")
        #endif
    }
}
