// Building OpenCL programs once per device and process, with their binaries cached on disk
// (keyed by device, driver, options and source hash; written atomically), so a second run
// skips the compiler. Sources come from the embedded Kernels/*.cl, or from the folder named by
// DIVE_KERNELS while developing.
import COpenCL
import Foundation
import Logging

final class ProgramCache {
    private let context: cl_context
    private let info: OpenCLDeviceInfo
    private var programs: [String: cl_program] = [:]
    private let lock = NSLock()

    init(context: cl_context, info: OpenCLDeviceInfo) {
        self.context = context
        self.info = info
    }

    deinit { for program in programs.values { clReleaseProgram(program) } }

    /// The source of program `name`: Kernels/common.cl (the helpers every program shares), then
    /// Kernels/`name`.cl.
    static func source(named name: String) throws -> String {
        try file("common") + "\n" + file(name)
    }

    private static func file(_ name: String) throws -> String {
        if let dir = ProcessInfo.processInfo.environment["DIVE_KERNELS"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("\(name).cl")
            return try String(contentsOf: url, encoding: .utf8)
        }
        guard let text = EmbeddedKernels.sources[name] else {
            throw DiveError.invalidArgument(op: "OpenCL", detail: "no kernel file '\(name).cl' was embedded at build time")
        }
        return text
    }

    /// The built program of Kernels/`name`.cl with `options` (e.g. "-D MR=8").
    func program(_ name: String, options: String = "") throws -> cl_program {
        let key = name + "|" + options
        lock.lock(); defer { lock.unlock() }
        if let program = programs[key] { return program }
        let source = try Self.source(named: name)
        let fullOptions = "-cl-std=CL1.2 " + options
        let cacheFile = Self.cacheDirectory?.appendingPathComponent(
            String(format: "%016llx.bin", Self.fnv1a([info.platformVersion, info.name, info.driverVersion, fullOptions, source])))
        if let file = cacheFile, let program = try? loadBinary(file, options: fullOptions) {
            Log.device.debug("\(name).cl for \(info.name): cached binary \(file.path)")
            programs[key] = program
            return program
        }
        Log.device.debug("building \(name).cl for \(info.name) (\(fullOptions))")
        let program = try buildFromSource(name: name, source: source, options: fullOptions)
        if let file = cacheFile { saveBinary(program, to: file) }
        programs[key] = program
        return program
    }

    private func buildFromSource(name: String, source: String, options: String) throws -> cl_program {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context, 1, &pointer, &length, &status)
        }
        try clCheck(status, "clCreateProgramWithSource(\(name))")
        guard let program else { throw DiveError.openCL(call: "clCreateProgramWithSource", code: status, detail: name) }
        var device: cl_device_id? = info.id
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        if built != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            throw DiveError.kernelBuild(program: "\(name).cl", device: info.name, log: log)
        }
        return program
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, info.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        guard size > 1 else { return "(the compiler left no log)" }
        var bytes = [CChar](repeating: 0, count: size)
        clGetProgramBuildInfo(program, info.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return String(cString: bytes)
    }

    // MARK: on-disk binaries

    /// $DIVE_CACHE, else $XDG_CACHE_HOME/dive, else ~/.cache/dive; then /kernels.
    static let cacheDirectory: URL? = {
        let env = ProcessInfo.processInfo.environment
        let base: URL
        if let dir = env["DIVE_CACHE"], !dir.isEmpty {
            base = URL(fileURLWithPath: dir)
        } else if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg).appendingPathComponent("dive")
        } else {
            base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/dive")
        }
        let dir = base.appendingPathComponent("kernels")
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch { return nil }
        return dir
    }()

    private func loadBinary(_ file: URL, options: String) throws -> cl_program? {
        guard let data = try? Data(contentsOf: file), !data.isEmpty else { return nil }
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var device: cl_device_id? = info.id
        let program: cl_program? = data.withUnsafeBytes { raw in
            var pointer: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            var length = raw.count
            return clCreateProgramWithBinary(context, 1, &device, &length, &pointer, &binaryStatus, &status)
        }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS, let program else { return nil }
        guard clBuildProgram(program, 1, &device, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    /// Writes the program binary to a temporary file, syncs it and renames it into place, so a
    /// reader never sees half a file even with two processes racing.
    private func saveBinary(_ program: cl_program, to file: URL) {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS,
              size > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: size)
        let ok: Bool = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                                    &pointer, nil) == CL_SUCCESS
        }
        guard ok else { return }
        try? AtomicFile.write(Data(bytes), to: file)
    }

    /// 64-bit FNV-1a over the parts, separated by NUL.
    static func fnv1a(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0) &* 0x100_0000_01b3
        }
        return hash
    }
}
