// The PTX of Kernels/*.cl, as Kernels/PTX/generate wrote it and the build embedded it: which
// module holds a kernel built with given -D options, and each kernel's parameter list. Every CUDA
// launch's arguments are checked against that list (a wrong size would be read as garbage, not
// refused); tests check every OpenCL launch the same way, since the same ops set both.
import Foundation

enum PTXLibrary {
    /// One `.param` of a kernel entry: its size in bytes and whether it is a float.
    struct Param: Equatable, CustomStringConvertible {
        var bytes: Int
        var isFloat: Bool
        var description: String { isFloat ? "f\(bytes * 8)" : "b\(bytes * 8)" }
    }

    /// Checks every launch of a KernelBackend against the PTX, whatever its runtime: tests, and any
    /// run with DIVE_CHECK_PTX=1 (CI runs the whole suite so).
    @TaskLocal static var checkingEveryLaunch = ProcessInfo.processInfo.environment["DIVE_CHECK_PTX"] == "1"

    /// The embedded module for Kernels/`program`.cl built with `options` ("-D ROWS=4"), named as
    /// `generate` names it ("recurrent@ROWS=4").
    static func moduleName(program: String, options: String) -> String {
        let defines = options.split(separator: " ").filter { $0 != "-D" }
        return defines.isEmpty ? program : program + "@" + defines.joined(separator: ",")
    }

    static func module(program: String, options: String) throws -> String {
        let name = moduleName(program: program, options: options)
        guard let text = EmbeddedKernels.ptx[name] else {
            throw DiveError.invalidArgument(
                op: "CUDA",
                detail: "no PTX for \(program).cl with '\(options)' (Kernels/PTX/\(name).ptx); "
                    + "add the variant to Kernels/PTX/variants and run Kernels/PTX/generate")
        }
        return text
    }

    /// Every kernel entry of every embedded module, by name (a name's variants share one list).
    static let signatures: [String: [Param]] = {
        var all: [String: [Param]] = [:]
        for text in EmbeddedKernels.ptx.values { all.merge(entries(of: text)) { first, _ in first } }
        return all
    }()

    /// The kernel entries of one PTX module and their parameters.
    static func entries(of ptx: String) -> [String: [Param]] {
        var result: [String: [Param]] = [:]
        var current: String?
        var params: [Param] = []
        for line in ptx.split(separator: "\n", omittingEmptySubsequences: true) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if current == nil, text.hasPrefix(".visible .entry "), let open = text.firstIndex(of: "(") {
                current = String(text[text.index(text.startIndex, offsetBy: 16)..<open])
                params = []
                if text.hasSuffix("()") { result[current!] = []; current = nil }
            } else if let name = current {
                if text.hasPrefix(".param") {
                    params.append(param(text))
                } else if text.hasPrefix(")") {
                    result[name] = params
                    current = nil
                }
            }
        }
        return result
    }

    /// ".param .u32 k_param_3," or ".param .align 16 .b8 k_param_4[16]".
    private static func param(_ text: String) -> Param {
        let words = text.split(separator: " ")
        if let open = text.lastIndex(of: "["), let close = text.lastIndex(of: "]"),
            let count = Int(text[text.index(after: open)..<close])
        {
            return Param(bytes: count, isFloat: false)
        }
        let type = words.last { $0.hasPrefix(".") && $0 != ".param" } ?? ""
        let bits = Int(type.dropFirst(2)) ?? 0
        return Param(bytes: bits / 8, isFloat: type.hasPrefix(".f"))
    }

    /// What an argument must be declared as: a buffer or local array is a 64-bit address.
    static func param(for arg: KernelArg) -> Param {
        switch arg {
        case .buffer, .local, .uint64: return Param(bytes: 8, isFloat: false)
        case .int32: return Param(bytes: 4, isFloat: false)
        case .float: return Param(bytes: 4, isFloat: true)
        case .int4: return Param(bytes: 16, isFloat: false)
        }
    }

    /// Throws unless `args` match the parameters `kernel` declares, one for one.
    static func check(kernel: String, args: [KernelArg], params: [Param]? = nil) throws {
        guard let declared = params ?? signatures[kernel] else {
            throw DiveError.invalidArgument(op: "CUDA", detail: "kernel \(kernel) is in no PTX module; run Kernels/PTX/generate")
        }
        let given = args.map(param(for:))
        guard given == declared else {
            throw DiveError.invalidArgument(
                op: kernel,
                detail: "arguments (\(given.map(\.description).joined(separator: " "))) "
                    + "do not match the PTX parameters (\(declared.map(\.description).joined(separator: " ")))")
        }
    }
}
