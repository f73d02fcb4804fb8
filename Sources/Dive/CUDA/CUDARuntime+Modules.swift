// CUDARuntime's kernels: PTX modules (Kernels/*.cl through PTXLibrary) JIT-compiled once each, their
// functions with their PTX parameters, and the probe kernel that finds where dynamic shared memory starts.
import Foundation

extension CUDARuntime {
    private func loadModule(_ name: String, ptx: String) throws -> OpaquePointer {
        if let module = modules[name] { return module }
        _ = api.setCurrent(context)
        var module: OpaquePointer?
        var log = [CChar](repeating: 0, count: 16 << 10)
        // CU_JIT_ERROR_LOG_BUFFER (5) and its size (6); option values are passed in pointer-sized slots.
        var options: [Int32] = [5, 6]
        let status = log.withUnsafeMutableBytes { logBytes -> Int32 in
            var values: [UnsafeMutableRawPointer?] = [logBytes.baseAddress, UnsafeMutableRawPointer(bitPattern: logBytes.count)]
            return ptx.withCString { text in api.moduleLoad(&module, text, 2, &options, &values) }
        }
        guard status == 0, let module else {
            throw DiveError.kernelBuild(
                program: "Kernels/PTX/\(name).ptx", device: info.name,
                log: "\(api.name(status)): " + String(nulTerminated: log))
        }
        modules[name] = module
        return module
    }

    func function(_ name: String, program: String, options: String) throws -> KernelFunction {
        let moduleName = PTXLibrary.moduleName(program: program, options: options)
        let ptx = try PTXLibrary.module(program: program, options: options)
        return try function(name, module: loadModule(moduleName, ptx: ptx), ptx: ptx)
    }

    private func function(_ name: String, module: OpaquePointer, ptx: String) throws -> KernelFunction {
        var f: OpaquePointer?
        try api.check(api.moduleFunction(&f, module, name), "cuModuleGetFunction", name)
        if entries[module] == nil { entries[module] = PTXLibrary.entries(of: ptx) }  // each module's text parsed once
        guard let f, let params = entries[module]?[name] else {
            throw DiveError.invalidArgument(op: "CUDA", detail: "kernel \(name) has no entry in its PTX")
        }
        var staticShared: Int32 = 0
        try api.check(api.functionAttribute(&staticShared, Self.functionStaticShared, f), "cuFuncGetAttribute", name)
        functions[f] = (params, Int(staticShared), 48 << 10)
        return f
    }

    /// Where dynamic shared memory starts in the shared window, read back from a kernel that stores
    /// the address of its `extern .shared` array (no static shared memory, like every kernel that
    /// takes __local arguments).
    func probeDynamicSharedBase() throws -> UInt64 {
        let f = try function("dynamic_shared_base", module: loadModule("dynamic_shared_base", ptx: Self.probePTX), ptx: Self.probePTX)
        let out = try allocate(byteCount: 8)
        try enqueue(
            f, name: "dynamic_shared_base", global: (1, 1, 1), local: (1, 1, 1), args: [.buffer(out), .local(bytes: 16)],
            probing: true)
        var base: UInt64 = 0
        try withUnsafeMutableBytes(of: &base) { try download(out, to: $0) }
        return base
    }

    static let probePTX = """
        .version 4.1
        .target sm_52
        .address_size 64
        .extern .shared .align 16 .b8 dive_dynamic_shared[];
        .visible .entry dynamic_shared_base(
            .param .u64 dynamic_shared_base_param_0,
            .param .u64 dynamic_shared_base_param_1
        )
        {
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [dynamic_shared_base_param_0];
            cvta.to.global.u64 %rd2, %rd1;
            mov.u64 %rd3, dive_dynamic_shared;
            st.global.u64 [%rd2], %rd3;
            ret;
        }
        """
}
