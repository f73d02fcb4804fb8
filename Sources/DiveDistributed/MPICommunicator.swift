// The communicator over MPI's world (OpenMPI), built with the package trait `MPI`. MPI is
// initialised once per process and finalised at exit; errors abort the whole run (MPI's default
// handler), so a failing rank never leaves the others waiting.
#if MPI
    import CMPI
    import Foundation

    /// The communicator over MPI's world (OpenMPI), initialised once and finalised at exit (trait `MPI`).
    public final class MPICommunicator: Communicator {
        /// This process's rank in MPI's world.
        public let rank: Int
        /// The number of processes in MPI's world.
        public let size: Int
        /// This rank's index among the ranks on its node.
        public private(set) lazy var localRank = Int(dive_mpi_local_rank(comm))
        private let comm: MPI_Comm

        // Safe: read and written only while holding `lock`.
        nonisolated(unsafe) private static var shared: MPICommunicator?
        private static let lock = NSLock()

        /// MPI's world, initialised on first use.
        public static func world() throws -> MPICommunicator {
            lock.lock(); defer { lock.unlock() }
            if let shared { return shared }
            var initialised: Int32 = 0
            MPI_Initialized(&initialised)
            if initialised == 0 {
                guard MPI_Init(nil, nil) == MPI_SUCCESS else { throw DistributedError("MPI_Init failed") }
                atexit {
                    var finalised: Int32 = 0; MPI_Finalized(&finalised); if finalised == 0 { MPI_Finalize() }
                }
            }
            guard let comm = dive_mpi_comm_world() else { throw DistributedError("MPI has no world communicator") }
            var rank: Int32 = 0, size: Int32 = 0
            MPI_Comm_rank(comm, &rank)
            MPI_Comm_size(comm, &size)
            let world = MPICommunicator(comm: comm, rank: Int(rank), size: Int(size))
            shared = world
            return world
        }

        private init(comm: MPI_Comm, rank: Int, size: Int) {
            self.comm = comm; self.rank = rank; self.size = size
        }

        /// Sums `values` over every rank in place with MPI_Allreduce.
        public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
            try check(
                MPI_Allreduce(
                    dive_mpi_in_place(), values.baseAddress, Int32(values.count), dive_mpi_float(),
                    dive_mpi_sum(), comm), "MPI_Allreduce")
        }

        /// Sums `values` over every rank in place with MPI_Allreduce.
        public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
            try check(
                MPI_Allreduce(
                    dive_mpi_in_place(), values.baseAddress, Int32(values.count), dive_mpi_double(),
                    dive_mpi_sum(), comm), "MPI_Allreduce")
        }

        /// Sends rank 0's byte count, then its bytes in chunks of at most 1 GiB, with MPI_Bcast.
        public func broadcast(_ bytes: inout [UInt8]) throws {
            var count = Int64(bytes.count)
            try check(MPI_Bcast(&count, 1, dive_mpi_int64(), 0, comm), "MPI_Bcast")
            if rank != 0 { bytes = [UInt8](repeating: 0, count: Int(count)) }
            // MPI counts are Int32: send in chunks of at most 1 GiB.
            var offset = 0
            while offset < Int(count) {
                let n = min(Int(count) - offset, 1 << 30)
                try bytes.withUnsafeMutableBytes {
                    try check(MPI_Bcast($0.baseAddress! + offset, Int32(n), dive_mpi_byte(), 0, comm), "MPI_Bcast")
                }
                offset += n
            }
        }

        /// Waits for every rank with MPI_Ibarrier, polling every 2 ms so a waiting rank sleeps.
        public func barrier() throws {
            var request: MPI_Request? = nil
            try check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier")
            var done: Int32 = 0
            while done == 0 {
                try check(MPI_Test(&request, &done, dive_mpi_status_ignore()), "MPI_Test")
                if done == 0 { usleep(2_000) }
            }
        }

        /// Prints the message with this rank on standard error and aborts every rank with MPI_Abort.
        public func abort(_ message: String) -> Never {
            FileHandle.standardError.write(Data("error (rank \(rank) of \(size)): \(message)\n".utf8))
            MPI_Abort(comm, 1)
            exit(1)
        }

        private func check(_ code: Int32, _ call: String) throws {
            guard code == MPI_SUCCESS else { throw DistributedError("\(call) failed with MPI error \(code)") }
        }
    }
#endif
