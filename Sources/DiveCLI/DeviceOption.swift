// `--device`: one option group for every command that computes, with one help text, and what it
// resolves to. `auto` says on standard error which device it took; under `--distributed` each rank
// of a node takes its own GPU (DeviceRegistry.rankDevice) and says which.
import ArgumentParser
import Dive
import DiveDistributed
import Foundation

struct DeviceOption: ParsableArguments {
    @Option(
        help:
            "cpu, opencl, opencl:N, opencl:P.D, cuda, cuda:N, or auto (the first CUDA device, else an OpenCL GPU, else the CPU). Default: cpu to train and predict; every device to check, tune and bench."
    )
    var device: String?

    /// The device a command runs on: `--device`, else the CPU.
    func one() throws -> Device { try Self.resolve(device ?? "cpu") }

    /// The device of one rank of `--distributed` (`otherwise` when the flag is absent).
    func one(rankOf comm: Communicator, otherwise: String = "cpu") throws -> Device {
        guard comm.size > 1 else { return try Self.resolve(device ?? otherwise) }
        let chosen = try DeviceRegistry.rankDevice(device ?? otherwise, localRank: comm.localRank)
        let backend = try Backends.backend(for: chosen)
        FileHandle.standardError.write(Data("rank \(comm.rank): using \(backend.displayName)\n".utf8))
        return backend.device
    }

    /// The devices a command goes through: `--device`, else every device.
    func all() throws -> [Device] {
        guard let device else { return DeviceRegistry.allDevices() }
        return [try Self.resolve(device)]
    }

    /// The backend of `--device`, else of the CPU.
    func backend() throws -> Backend { try Backends.backend(for: one()) }

    static func resolve(_ text: String) throws -> Device {
        let device = try Device(parsing: text)
        let backend = try Backends.backend(for: device)
        if device == .auto { FileHandle.standardError.write(Data("auto: using \(backend.displayName)\n".utf8)) }
        return backend.device
    }
}
