// Writes the OpenCL sources given on the command line into one Swift file as a dictionary
// from file name (without extension) to source text. Used by the EmbedKernels plugin.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write("usage: EmbedKernelsTool OUTPUT.swift FILE.cl...\n".data(using: .utf8)!)
    exit(2)
}
var out = "// Generated from Kernels/*.cl by the EmbedKernels plugin. Do not edit.\n"
out += "enum EmbeddedKernels {\n    static let sources: [String: String] = [\n"
for path in arguments.dropFirst(2) {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    // A raw string with enough #s that the source cannot terminate it.
    var hashes = "#"
    while text.contains("\"\"\"" + hashes) { hashes += "#" }
    let name = url.deletingPathExtension().lastPathComponent
    out += "        \"\(name)\": \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes),\n"
}
out += "    ]\n}\n"
try out.write(to: URL(fileURLWithPath: arguments[1]), atomically: true, encoding: .utf8)
