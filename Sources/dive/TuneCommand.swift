// `dive tune [--device X]`: times the GEMM kernel candidates of every shape class on each OpenCL
// OpenCL or CUDA device now, instead of on first use during training, and caches the choices under DIVE_CACHE.
import ArgumentParser
import Dive
import Foundation

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune", abstract: "Tune the GEMM kernels of OpenCL and CUDA devices ahead of time and cache the choices.")

    @Option(help: "Device (opencl, opencl:N, opencl:P.D, cuda:N, auto); default: every OpenCL and CUDA device.") var device: String?

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingErrors {
            let devices = try resolveDevices(device).filter { $0 != .cpu }
            if devices.isEmpty { print("nothing to tune: the CPU backend runs OpenBLAS"); return }
            for d in devices {
                guard let backend = try Backends.backend(for: d) as? KernelBackend else { continue }
                FileHandle.standardError.write(Data("tuning \(backend.displayName)...\n".utf8))
                let start = Date()
                let chosen = try backend.tuneGemm()
                let classes = chosen.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                print("\(d)  gemm \(classes)  (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
            }
        }
    }
}
