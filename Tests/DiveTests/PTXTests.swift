import Foundation
import Testing

// The CUDA kernels are Kernels/*.cl compiled to PTX (Kernels/PTX/generate). Every program's
// committed PTX is well formed (PTX version, target and 64-bit addressing; an `.entry` for every
// kernel the OpenCL backend launches from that file, and no call to a function it does not
// define, i.e. every OpenCL built-in was resolved from libclc), and where clang-15 and libclc are
// installed (CI installs them) regenerating it gives the committed bytes, so it is never stale.
// Every compile-time variant the GEMM tuner and the recurrences can ask a CUDA device for has its
// module; the parameter lists read from the PTX are what CUDA launches are checked against (the
// OpenCL launches of `dive check` are checked the same way in DeviceCheckTests), and the check
// refuses a wrong argument list. CUDA launch shapes give kernels the work-items OpenCL would.
@testable import Dive

@Suite("PTX") struct PTXTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kernels = root.appendingPathComponent("Kernels")
    static let programs: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: kernels.path)) ?? [])
        .filter { $0.hasSuffix(".cl") && $0 != "common.cl" }.map { String($0.dropLast(3)) }.sorted()
    static let toolsPresent =
        FileManager.default.isExecutableFile(atPath: "/usr/lib/llvm-15/bin/llc")
        && FileManager.default.fileExists(atPath: "/usr/lib/clc/nvptx64--nvidiacl.bc")

    /// The kernels the OpenCL backend creates by name rather than through `Kernel`, per file.
    static let launchedByName = [
        "matmul": ["gemm_small", "gemm_pack", "gemm_tile", "gemm_lt"],
        "recurrent": ["rnn_seq_fw", "rnn_seq_bw", "rnn_seq_fw_v8", "rnn_seq_bw_v8"]
    ]

    /// Names after `pattern` (a regular expression with one capture group) in `text`.
    func names(_ pattern: String, in text: String) throws -> Set<String> {
        let regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        return Set(
            regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
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
            #expect(
                ptx.contains("\n.version ") && ptx.contains("\n.target sm_52") && ptx.contains("\n.address_size 64"), "\(name).ptx header")
            let entries = try names(#"^\.visible \.entry (\w+)\("#, in: ptx)
            let launched = Set(Kernel.allCases.filter { $0.file == name }.map { "\($0)" } + (Self.launchedByName[name] ?? []))
            #expect(
                !launched.isEmpty && launched.isSubset(of: entries),
                "\(name).ptx lacks kernels the backend launches: \(launched.subtracting(entries).sorted())")
            #expect(source.contains("__kernel"))
            let defined = try names(#"^\.(?:visible |weak )?\.func\s+(?:\([^)]*\)\s*)?(\w+)"#, in: ptx)
            let called = try names(
                #"^\s*(\w+),\s*$"#,
                in: ptx.components(separatedBy: "call.uni").dropFirst().map { $0.split(separator: "\n").prefix(3).joined(separator: "\n") }
                    .joined(separator: "\n"))
            #expect(called.isSubset(of: defined), "\(name).ptx calls functions it does not define: \(called.subtracting(defined).sorted())")
            #expect(!ptx.contains(".extern .func"), "\(name).ptx has unresolved functions")
        }
    }

    /// The persistent recurrences' device-wide barrier needs device-scope fences around its atomics:
    /// libclc lowers OpenCL's mem_fence to membar.cta, so the kernels ask for membar.gl, and it must
    /// be in the PTX of both, between an atomic arrival and the loads that follow.
    @Test func gridBarrierHasDeviceScopeFences() throws {
        let ptx = try String(contentsOf: Self.kernels.appendingPathComponent("PTX/recurrent.ptx"), encoding: .utf8)
        for kernel in ["rnn_split_fw", "rnn_split_bw"] {
            let start = try #require(ptx.range(of: ".entry \(kernel)("), "no \(kernel) in recurrent.ptx")
            let body = ptx[start.upperBound...].prefix { _ in true }
            let end = body.range(of: "\n}\n")?.lowerBound ?? body.endIndex
            let text = String(body[..<end])
            let fences = text.components(separatedBy: "membar.gl;").count - 1
            #expect(fences >= 4, "\(kernel): \(fences) membar.gl (the barrier has four)")
            #expect(text.contains("atom.global.add.u32") && text.contains("atom.global.exch.b32"), "\(kernel): the barrier's atomics")
            #expect(!text.contains("membar.cta"), "\(kernel): a CTA-scope fence where the barrier needs the device's")
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
        let generated = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        let committedFiles = try FileManager.default.contentsOfDirectory(atPath: Self.kernels.appendingPathComponent("PTX").path)
            .filter { $0.hasSuffix(".ptx") }.sorted()
        #expect(generated == committedFiles, "generated and committed PTX files differ: run bash Kernels/PTX/generate")
        #expect(generated.count == Self.programs.count + EmbeddedVariants.lines.count)
        for name in generated {
            let fresh = try Data(contentsOf: out.appendingPathComponent(name))
            let committed = try? Data(contentsOf: Self.kernels.appendingPathComponent("PTX/\(name)"))
            #expect(fresh == committed, "Kernels/PTX/\(name) is stale: run bash Kernels/PTX/generate and commit it")
        }
    }

    /// Kernels/PTX/variants, without comments.
    enum EmbeddedVariants {
        static let lines = ((try? String(contentsOf: PTXTests.kernels.appendingPathComponent("PTX/variants"), encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    @Test func everyVariantACUDADeviceCanAskForIsEmbedded() throws {
        var wanted: [(program: String, options: String, kernels: [String])] = [("matmul", GemmPlanner.smallOptions, ["gemm_small"])]
        wanted += GemmPlanner.packedCandidates.map { ("matmul", $0.options, ["gemm_pack", "gemm_tile"]) }
        wanted += GemmPlanner.allLocalTiles.map { ("matmul", $0.options, ["gemm_lt"]) }
        wanted.append(("matmul", "", ["gemm_lt", "gemm_splitk_sum"]))
        for rows in [1, 2, 4, 8, 16, 32] {
            let options = SequenceLaunch(vectors: false, rows: rows, localSize: 1).options
            wanted.append(("recurrent", options, ["rnn_seq_fw", "rnn_seq_bw", "rnn_seq_fw_v8", "rnn_seq_bw_v8"]))
        }
        wanted += Self.programs.map { ($0, "", []) }
        for w in wanted {
            let ptx = try PTXLibrary.module(program: w.program, options: w.options)
            let entries = PTXLibrary.entries(of: ptx)
            for k in w.kernels { #expect(entries[k] != nil, "\(PTXLibrary.moduleName(program: w.program, options: w.options)) lacks \(k)") }
        }
        #expect(PTXLibrary.moduleName(program: "matmul", options: "-D TSM=64 -D TSN=32") == "matmul@TSM=64,TSN=32")
        #expect(throws: DiveError.self) { try PTXLibrary.module(program: "recurrent", options: "-D ROWS=3") }
    }

    @Test func parameterListsAreReadAndEnforced() throws {
        let sig = PTXLibrary.signatures
        for k in Kernel.allCases { #expect(sig["\(k)"] != nil, "no PTX parameters for \(k)") }
        // axpy(x, y, n, alpha): two addresses, an int and a float.
        #expect(
            sig["axpy"] == [
                .init(bytes: 8, isFloat: false), .init(bytes: 8, isFloat: false),
                .init(bytes: 4, isFloat: false), .init(bytes: 4, isFloat: true)
            ])
        #expect(sig["sm_fw_wg"]?.count == 9)  // x, y, lens, cols, rep, haslens, team, rows, scratch
        // The 16-byte int4 of the broadcast kernels.
        #expect(sig.values.contains { $0.contains(.init(bytes: 16, isFloat: false)) })
        // Variants of one kernel agree on their parameters.
        for text in EmbeddedKernels.ptx.values {
            for (name, params) in PTXLibrary.entries(of: text) { #expect(sig[name] == params, "\(name) differs between modules") }
        }
        try PTXLibrary.check(kernel: "axpy", args: [.buffer(nil), .buffer(nil), .int32(3), .float(1)])
        #expect(throws: DiveError.self) { try PTXLibrary.check(kernel: "axpy", args: [.buffer(nil), .buffer(nil), .int32(3), .int32(1)]) }
        #expect(throws: DiveError.self) { try PTXLibrary.check(kernel: "axpy", args: [.buffer(nil), .buffer(nil), .int32(3)]) }
        #expect(throws: DiveError.self) { try PTXLibrary.check(kernel: "no_such_kernel", args: []) }
        #expect(
            PTXLibrary.entries(of: CUDARuntime.probePTX)["dynamic_shared_base"] == [
                .init(bytes: 8, isFloat: false), .init(bytes: 8, isFloat: false)
            ])
    }

    /// KernelNodeParams is passed to the driver as CUDA_KERNEL_NODE_PARAMS: a function, seven
    /// unsigned ints, then two pointers at 8-byte alignment.
    @Test func graphNodeParametersHaveTheCLayout() {
        #expect(MemoryLayout<CUDADriver.KernelNodeParams>.size == 56)
        #expect(MemoryLayout<CUDADriver.KernelNodeParams>.offset(of: \.sharedBytes) == 32)
        #expect(MemoryLayout<CUDADriver.KernelNodeParams>.offset(of: \.params) == 40)
        #expect(MemoryLayout<CUDADriver.KernelNodeParams>.offset(of: \.extra) == 48)
    }

    @Test func cudaLaunchShapesKeepOpenCLsWorkItems() throws {
        let given = try CUDARuntime.launchShape(global: (512, 4, 1), local: (256, 1, 1), maxBlock: 1024)
        #expect(given.grid == (2, 4, 1) && given.block == (256, 1, 1))
        let picked = try CUDARuntime.launchShape(global: (1000, 3, 2), local: nil, maxBlock: 1024)
        #expect(picked.block == (250, 1, 1) && picked.grid == (4, 3, 2))
        let prime = try CUDARuntime.launchShape(global: (997, 1, 1), local: nil, maxBlock: 1024)
        #expect(prime.block == (1, 1, 1) && prime.grid == (997, 1, 1))
        #expect(try CUDARuntime.launchShape(global: (7, 1, 1), local: nil, maxBlock: 1024).block == (7, 1, 1))
        #expect(throws: DiveError.self) { try CUDARuntime.launchShape(global: (300, 1, 1), local: (256, 1, 1), maxBlock: 1024) }
        #expect(throws: DiveError.self) { try CUDARuntime.launchShape(global: (1, 70000, 1), local: nil, maxBlock: 1024) }
        #expect(throws: DiveError.self) { try CUDARuntime.launchShape(global: (2048, 1, 1), local: (2048, 1, 1), maxBlock: 1024) }
    }
}
