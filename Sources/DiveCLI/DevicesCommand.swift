// `dive devices`: every OpenCL platform and device, and the CPU backend.
import ArgumentParser
import Dive
import Foundation

struct DevicesCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List the devices Dive can run on.")

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingErrors {
            let cpu = CPUBackend.shared
            print(
                "cpu          CPU backend: \(cpu.blasDescription); vector kernels \(cpu.kernelPath); \(ProcessInfo.processInfo.activeProcessorCount) cores, GEMMs split across them with one OpenBLAS thread each"
            )
            for line in DeviceRegistry.cudaLines() { print(line) }
            let devices = DeviceRegistry.openCLDevices
            if devices.isEmpty { print("(no OpenCL platform found: install an OpenCL driver, e.g. pocl-opencl-icd)") }
            for d in devices {
                print("opencl:\(d.globalIndex)     \(d.name)")
                print(
                    "             platform \(d.platformIndex) (opencl:\(d.platformIndex).\(d.deviceIndex)): \(d.platformName), \(d.platformVersion)"
                )
                print(
                    "             type \(d.typeName), \(d.computeUnits) compute units, global memory \(Self.gib(d.globalMemoryBytes)), "
                        + "local memory \(d.localMemoryBytes / 1024) KiB, max work-group \(d.maxWorkGroupSize)")
                print(
                    "             \(d.openCLCVersion), driver \(d.driverVersion), fp16 \(d.supportsFP16 ? "yes" : "no"), fp64 \(d.supportsFP64 ? "yes" : "no")"
                )
            }
        }
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
}
