// Build-tool plugin: turns the package's top-level Kernels/*.cl into one generated Swift file
// (`EmbeddedKernels.swift`) so the `dive` binary carries its OpenCL sources.
import Foundation
import PackagePlugin

@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelsDir = context.package.directoryURL.appendingPathComponent("Kernels")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelsDir.path)) ?? []
        let sources = names.filter { $0.hasSuffix(".cl") || $0.hasSuffix(".h") }.sorted()
            .map { kernelsDir.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedKernels.swift")
        return [.buildCommand(
            displayName: "Embedding \(sources.count) OpenCL kernel files",
            executable: try context.tool(named: "EmbedKernelsTool").url,
            arguments: [output.path] + sources.map(\.path),
            inputFiles: sources,
            outputFiles: [output])]
    }
}
