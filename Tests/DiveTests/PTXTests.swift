// The CUDA kernels are Kernels/*.cl compiled to PTX (Kernels/PTX/generate). Every program's
// committed PTX is well formed (PTX version, target and 64-bit addressing; an `.entry` for every
// kernel the OpenCL backend launches from that file, and no call to a function it does not
// define, i.e. every OpenCL built-in was resolved from libclc), and where clang-15 and libclc are
// installed (CI installs them) regenerating it gives the committed bytes, so it is never stale.
@testable import Dive
import Foundation
import Testing

@Suite("PTX") struct PTXTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kernels = root.appendingPathComponent("Kernels")
    static let programs: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: kernels.path)) ?? [])
        .filter { $0.hasSuffix(".cl") && $0 != "common.cl" }.map { String($0.dropLast(3)) }.sorted()
    static let toolsPresent = FileManager.default.isExecutableFile(atPath: "/usr/lib/llvm-15/bin/llc")
        && FileManager.default.fileExists(atPath: "/usr/lib/clc/nvptx64--nvidiacl.bc")

    /// The kernels the OpenCL backend creates by name rather than through `Kernel`, per file.
    static let launchedByName = ["matmul": ["gemm_small", "gemm_pack", "gemm_tile", "gemm_lt"],
                                 "recurrent": ["rnn_seq_fw", "rnn_seq_bw", "rnn_seq_fw_v8", "rnn_seq_bw_v8"]]

    /// Names after `pattern` (a regular expression with one capture group) in `text`.
    func names(_ pattern: String, in text: String) throws -> Set<String> {
        let regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        return Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        })
    }

    @Test func everyProgramHasWellFormedPTX() throws {
        #expect(Self.programs.count >= 13, "Kernels/*.cl: \(Self.programs)")
        #expect(Set(Kernel.allCases.map(\.file)).isSubset(of: Set(Self.programs)), "a kernel's file is not in Kernels/")
        for name in Self.programs {
            let source = try String(contentsOf: Self.kernels.appendingPathComponent("\(name).cl"), encoding: .utf8)
            let ptxURL = Self.kernels.appendingPathComponent("PTX/\(name).ptx")
            let ptx = try #require(try? String(contentsOf: ptxURL, encoding: .utf8), "no \(ptxURL.path): run bash Kernels/PTX/generate")
            #expect(ptx.contains("\n.version ") && ptx.contains("\n.target sm_52") && ptx.contains("\n.address_size 64"), "\(name).ptx header")
            let entries = try names(#"^\.visible \.entry (\w+)\("#, in: ptx)
            let launched = Set(Kernel.allCases.filter { $0.file == name }.map { "\($0)" } + (Self.launchedByName[name] ?? []))
            #expect(!launched.isEmpty && launched.isSubset(of: entries),
                    "\(name).ptx lacks kernels the backend launches: \(launched.subtracting(entries).sorted())")
            #expect(source.contains("__kernel"))
            let defined = try names(#"^\.(?:visible |weak )?\.func\s+(?:\([^)]*\)\s*)?(\w+)"#, in: ptx)
            let called = try names(#"^\s*(\w+),\s*$"#, in: ptx.components(separatedBy: "call.uni").dropFirst().map { $0.split(separator: "\n").prefix(3).joined(separator: "\n") }.joined(separator: "\n"))
            #expect(called.isSubset(of: defined), "\(name).ptx calls functions it does not define: \(called.subtracting(defined).sorted())")
            #expect(!ptx.contains(".extern .func"), "\(name).ptx has unresolved functions")
        }
    }

    @Test(.enabled(if: toolsPresent, "clang-15, llvm-15 or libclc-15 not installed")) func committedPTXIsCurrent() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dive-ptx-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.kernels.appendingPathComponent("PTX/generate").path, out.path]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "Kernels/PTX/generate failed")
        for name in Self.programs {
            let fresh = try Data(contentsOf: out.appendingPathComponent("\(name).ptx"))
            let committed = try Data(contentsOf: Self.kernels.appendingPathComponent("PTX/\(name).ptx"))
            #expect(fresh == committed, "Kernels/PTX/\(name).ptx is stale: run bash Kernels/PTX/generate and commit it")
        }
    }
}
