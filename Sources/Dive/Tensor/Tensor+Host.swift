// Moving data between the host and a tensor's device: creation from Swift arrays, `toArray`,
// `to(_:)` and scalar reads. These are the only places where tensor data crosses to the host.

extension Tensor {
    /// A Float32 tensor from host values (row-major).
    public convenience init(_ values: [Float], shape: [Int]? = nil, on backend: Backend) throws {
        try self.init(values: values, dtype: .float32, shape: shape ?? [values.count], backend: backend)
    }

    /// A Float64 tensor (CPU backend) from host values.
    public convenience init(_ values: [Double], shape: [Int]? = nil, on backend: Backend) throws {
        try self.init(values: values, dtype: .float64, shape: shape ?? [values.count], backend: backend)
    }

    /// An Int32 tensor (indices, lengths) from host values.
    public convenience init(_ values: [Int32], shape: [Int]? = nil, on backend: Backend) throws {
        try self.init(values: values, dtype: .int32, shape: shape ?? [values.count], backend: backend)
    }

    private convenience init<T>(values: [T], dtype: DType, shape: [Int], backend: Backend) throws {
        let count = shape.reduce(1, *)
        guard count == values.count else {
            throw DiveError.shapeMismatch(op: "Tensor", detail: "\(values.count) values for shape \(shape)")
        }
        if dtype == .float64, !(backend.device == .cpu) {
            throw DiveError.unsupportedDType(op: "Tensor", dtype: dtype, device: backend.displayName)
        }
        let buffer = try backend.allocate(byteCount: count * dtype.byteSize)
        try values.withUnsafeBytes { try backend.upload($0, to: buffer) }
        self.init(shape: shape, dtype: dtype, storage: buffer, backend: backend)
    }

    /// A Float32 tensor holding a copy of `values` (host memory that is not an array: a slice of a
    /// fused buffer).
    public convenience init(copying values: UnsafeBufferPointer<Float>, shape: [Int], on backend: Backend) throws {
        guard shape.reduce(1, *) == values.count else {
            throw DiveError.shapeMismatch(op: "Tensor", detail: "\(values.count) values for shape \(shape)")
        }
        let buffer = try backend.allocate(byteCount: values.count * DType.float32.byteSize)
        try backend.upload(UnsafeRawBufferPointer(values), to: buffer)
        self.init(shape: shape, dtype: .float32, storage: buffer, backend: backend)
    }

    /// A tensor filled with one value.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, on backend: Backend) throws -> Tensor {
        let t = try Tensor.empty(shape, dtype: dtype, on: backend)
        try backend.fill(t, value: value)
        return t
    }

    /// A tensor of the given shape and type filled with 0.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, on backend: Backend) throws -> Tensor {
        try full(shape, 0, dtype: dtype, on: backend)
    }

    /// A tensor of the given shape and type filled with 1.
    public static func ones(_ shape: [Int], dtype: DType = .float32, on backend: Backend) throws -> Tensor {
        try full(shape, 1, dtype: dtype, on: backend)
    }

    /// The contents as Float32 (waits for the device). Int32 and Float64 are converted.
    public func toArray() throws -> [Float] {
        switch dtype {
        case .float32: return try download(Float.self)
        case .float64: return try download(Double.self).map { Float($0) }
        case .int32: return try download(Int32.self).map { Float($0) }
        }
    }

    /// Copies a Float32 tensor's contents into `destination`, which holds `count` values (waits for the device).
    public func copy(into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard dtype == .float32, destination.count == count else {
            throw DiveError.shapeMismatch(op: "copy(into:)", detail: "\(dtype) tensor of \(count) values into \(destination.count) floats")
        }
        try backend.download(storage, to: UnsafeMutableRawBufferPointer(destination))
    }

    /// The contents as Float64 (waits for the device).
    public func toDoubleArray() throws -> [Double] {
        switch dtype {
        case .float32: return try download(Float.self).map { Double($0) }
        case .float64: return try download(Double.self)
        case .int32: return try download(Int32.self).map { Double($0) }
        }
    }

    /// The contents of an Int32 tensor (waits for the device).
    public func toInt32Array() throws -> [Int32] {
        guard dtype == .int32 else {
            throw DiveError.unsupportedDType(op: "toInt32Array", dtype: dtype, device: backend.displayName)
        }
        return try download(Int32.self)
    }

    /// The single value of a one-element tensor, as Double (waits for the device).
    public func item() throws -> Double {
        guard count == 1 else {
            throw DiveError.shapeMismatch(op: "item", detail: "tensor of shape \(shape) has \(count) elements, not 1")
        }
        return try toDoubleArray()[0]
    }

    private func download<T>(_ type: T.Type) throws -> [T] {
        precondition(MemoryLayout<T>.size == dtype.byteSize)
        var out = [T](unsafeUninitializedCapacity: count) { _, n in n = count }
        try out.withUnsafeMutableBytes { try backend.download(storage, to: $0) }
        return out
    }

    /// A copy on another device (Float32 and Int32 tensors; Float64 stays on the CPU).
    /// Gradients flow back to this tensor.
    public func to(_ target: Backend) throws -> Tensor {
        if target === backend { return self }
        let bytes = count * dtype.byteSize
        var host = [UInt8](repeating: 0, count: bytes)
        try host.withUnsafeMutableBytes { try backend.download(storage, to: $0) }
        if dtype == .float64, target.device != .cpu {
            throw DiveError.unsupportedDType(op: "to", dtype: dtype, device: target.displayName)
        }
        let buffer = try target.allocate(byteCount: bytes)
        try host.withUnsafeBytes { try target.upload($0, to: buffer) }
        let out = Tensor(shape: shape, dtype: dtype, storage: buffer, backend: target)
        if Autograd.shouldRecord([self]) {
            let source = backend
            out.record(inputs: [self]) { g in [try g.to(source)] }
        }
        return out
    }

    /// `to(_:)` by device name.
    public func to(_ device: Device) throws -> Tensor { try to(Backends.backend(for: device)) }
}
