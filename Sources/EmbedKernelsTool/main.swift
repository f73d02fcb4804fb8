// Writes the kernel files given on the command line into one Swift file: OpenCL sources (.cl, .h)
// in `sources` and PTX in `ptx`, each a dictionary from file name (without extension) to text.
// Used by the EmbedKernels plugin.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write("usage: EmbedKernelsTool OUTPUT.swift FILE.cl|FILE.ptx...\n".data(using: .utf8)!)
    exit(2)
}

/// `files` as dictionary entries from name to text.
func entries(_ files: [URL]) throws -> String {
    var out = ""
    for url in files {
        let text = try String(contentsOf: url, encoding: .utf8)
        // A raw string with enough #s that the source cannot terminate it.
        var hashes = "#"
        while text.contains("\"\"\"" + hashes) { hashes += "#" }
        let name = url.deletingPathExtension().lastPathComponent
        out += "        \"\(name)\": \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes),\n"
    }
    return out.isEmpty ? "        :\n" : out
}

let files = arguments.dropFirst(2).map { URL(fileURLWithPath: $0) }
var out = "// Generated from Kernels/*.cl and Kernels/PTX/*.ptx by the EmbedKernels plugin. Do not edit.\n"
out += "enum EmbeddedKernels {\n    static let sources: [String: String] = [\n"
out += try entries(files.filter { $0.pathExtension != "ptx" })
out += "    ]\n    static let ptx: [String: String] = [\n"
out += try entries(files.filter { $0.pathExtension == "ptx" })
out += "    ]\n}\n"
try out.write(to: URL(fileURLWithPath: arguments[1]), atomically: true, encoding: .utf8)
