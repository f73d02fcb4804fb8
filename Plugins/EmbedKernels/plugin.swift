// Build-tool plugin: turns the package's top-level Kernels/*.cl and their PTX (Kernels/PTX/*.ptx)
// into one generated Swift file (`EmbeddedKernels.swift`), so the `dive` binary carries its OpenCL
// sources and the CUDA driver's input.
import Foundation
import PackagePlugin

@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelsDir = context.package.directoryURL.appendingPathComponent("Kernels")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelsDir.path)) ?? []
        let ptxDir = kernelsDir.appendingPathComponent("PTX")
        let ptxNames = (try? FileManager.default.contentsOfDirectory(atPath: ptxDir.path)) ?? []
        let sources =
            names.filter { $0.hasSuffix(".cl") || $0.hasSuffix(".h") }.sorted().map { kernelsDir.appendingPathComponent($0) }
            + ptxNames.filter { $0.hasSuffix(".ptx") }.sorted().map { ptxDir.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedKernels.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(sources.count) kernel files (OpenCL C and PTX)",
                executable: try context.tool(named: "EmbedKernelsTool").url,
                arguments: [output.path] + sources.map(\.path),
                inputFiles: sources,
                outputFiles: [output])
        ]
    }
}
