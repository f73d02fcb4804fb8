// The safetensors format: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then raw little-endian
// data. Reading validates everything and names the file and the problem; it never traps.
import Dive
import Foundation

/// A checkpoint or safetensors file that cannot be read or does not fit the model.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The path (or name) of the file at fault.
    public let file: String
    /// What is wrong with it, naming the tensor or metadata entry where there is one.
    public let detail: String
    /// An error about `file` described by `detail`.
    public init(file: String, _ detail: String) { self.file = file; self.detail = detail }
    /// "checkpoint <file>: <detail>", for the person running the program.
    public var description: String { "checkpoint \(file): \(detail)" }
}

/// One tensor of a safetensors file: dtype name ("F32", "F64", "I32", ...), shape and raw bytes.
public struct SafeTensor: Equatable {
    /// The safetensors dtype name, such as "F32", "BF16" or "I32".
    public var dtype: String
    /// The tensor's shape; empty for a scalar.
    public var shape: [Int]
    /// The raw little-endian bytes, row-major.
    public var data: Data

    /// A tensor from its dtype name, shape and raw bytes, taken as they are.
    public init(dtype: String, shape: [Int], data: Data) { self.dtype = dtype; self.shape = shape; self.data = data }

    /// An F32 tensor holding `values` with `shape`.
    public init(_ values: [Float], shape: [Int]) {
        self.init(dtype: "F32", shape: shape, data: values.withUnsafeBytes { Data($0) })
    }

    /// An I32 tensor holding `values` with `shape`.
    public init(_ values: [Int32], shape: [Int]) {
        self.init(dtype: "I32", shape: shape, data: values.withUnsafeBytes { Data($0) })
    }

    /// The values as Float32: F32 as stored, F16, BF16 and F64 (PyTorch's other float types)
    /// converted; nil for integer dtypes.
    public var floats: [Float]? {
        data.withUnsafeBytes { raw -> [Float]? in
            switch dtype {
            case "F32": return Array(raw.bindMemory(to: Float.self))
            case "F64": return raw.bindMemory(to: Double.self).map { Float($0) }
            case "BF16": return raw.bindMemory(to: UInt16.self).map { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) }
            case "F16": return raw.bindMemory(to: UInt16.self).map { Self.half(UInt16(littleEndian: $0)) }
            default: return nil
            }
        }
    }

    /// IEEE binary16 to Float (subnormals, infinities and NaN included), without Float16 (which
    /// not every platform's Swift has).
    static func half(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int(h >> 10) & 0x1F, mantissa = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
        "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8
    ]
}

/// A whole safetensors file in memory.
public struct SafeTensorsFile: Equatable {
    /// The tensors by name.
    public var tensors: [String: SafeTensor]
    /// The header's `__metadata__` string-to-string entries.
    public var metadata: [String: String]

    /// A file from its tensors and metadata (empty by default).
    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    /// The file's bytes: tensors in name order, header padded with spaces to 8 bytes.
    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]]
            offset += t.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names { out.append(tensors[name]!.data) }
        return out
    }

    /// Writes atomically (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        let bytes = try serialized()
        do { try AtomicFile.write(bytes, to: url) } catch let error as AtomicFileError {
            throw CheckpointError(file: url.path, "cannot write: \(error.reason)")
        }
    }

    /// Reads and validates a file: header length, JSON, every dtype, shape and byte range.
    public static func read(from url: URL) throws -> SafeTensorsFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError(file: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path)
    }

    /// Parses and validates the bytes of a safetensors file (header length, JSON, dtypes, shapes and contiguous byte ranges); `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws -> SafeTensorsFile {
        func fail(_ detail: String) -> CheckpointError { CheckpointError(file: file, detail) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let bytes = [UInt8](data)
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(data.count - 8) else {
            throw fail("truncated or not safetensors: header length \(n) exceeds the \(data.count - 8) bytes after it")
        }
        let headerEnd = 8 + Int(n)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
            let header = object as? [String: Any]
        else {
            throw fail("corrupt header: not a JSON object")
        }
        let dataLength = data.count - headerEnd
        var result = SafeTensorsFile()
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: String] else { throw fail("corrupt header: __metadata__ must map strings to strings") }
                result.metadata = meta
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [Any])?.map({ ($0 as? NSNumber)?.intValue ?? -1 }),
                let offsets = (entry["data_offsets"] as? [Any])?.map({ ($0 as? NSNumber)?.intValue ?? -1 }), offsets.count == 2
            else {
                throw fail("corrupt header entry for tensor '\(name)': needs dtype, shape and two data_offsets")
            }
            guard let size = SafeTensor.elementSizes[dtype] else { throw fail("tensor '\(name)' has unknown dtype \(dtype)") }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)' has an invalid shape \(shape)") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw fail("truncated: tensor '\(name)' needs bytes \(begin)..<\(end) but the data section has \(dataLength)")
            }
            // Checked: a hostile shape such as [2^62, 2^62] must be an error, not an overflow trap.
            var count = 1, overflow = false
            for d in shape where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: d) }
            let (bytesNeeded, tooBig) = count.multipliedReportingOverflow(by: size)
            guard !overflow, !tooBig else { throw fail("tensor '\(name)' has a shape \(shape) too large to exist") }
            guard end - begin == bytesNeeded else {
                throw fail("tensor '\(name)' of shape \(shape) \(dtype) needs \(count * size) bytes, has \(end - begin)")
            }
            ranges.append((begin, end, name))
            result.tensors[name] = SafeTensor(dtype: dtype, shape: shape, data: Data(bytes[(headerEnd + begin)..<(headerEnd + end)]))
        }
        ranges.sort { $0.0 < $1.0 }
        var expected = 0
        for (begin, end, name) in ranges {
            guard begin == expected else {
                throw fail("corrupt: tensor '\(name)' starts at byte \(begin), expected \(expected) (gap or overlap)")
            }
            expected = end
        }
        guard expected == dataLength else { throw fail("corrupt: \(dataLength - expected) bytes after the last tensor") }
        return result
    }
}
