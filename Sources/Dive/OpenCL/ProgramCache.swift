// Building OpenCL programs once per device and process, with their binaries cached on disk
// (keyed by device, driver, options and source hash; written atomically), so a second run
// skips the compiler. Sources, the cache folder and the key's hash are KernelFiles'.
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

    /// The built program of Kernels/`name`.cl with `options` (e.g. "-D MR=8").
    func program(_ name: String, options: String = "") throws -> cl_program {
        let key = name + "|" + options
        lock.lock(); defer { lock.unlock() }
        if let program = programs[key] { return program }
        let source = try KernelFiles.source(named: name)
        let fullOptions = "-cl-std=CL1.2 " + options
        let cacheFile = KernelFiles.cacheDirectory?.appendingPathComponent(
            String(format: "%016llx.bin", KernelFiles.fnv1a([info.platformVersion, info.name, info.driverVersion, fullOptions, source])))
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
        return String(nulTerminated: bytes)
    }

    // MARK: on-disk binaries

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
            size > 0
        else { return }
        var bytes = [UInt8](repeating: 0, count: size)
        let ok: Bool = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(
                program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                &pointer, nil) == CL_SUCCESS
        }
        guard ok else { return }
        try? AtomicFile.write(Data(bytes), to: file)
    }
}
