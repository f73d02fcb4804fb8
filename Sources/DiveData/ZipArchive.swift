// ZipArchive.swift: reading and unpacking zip files (stored or deflated entries, CRC-32
// checked; no Zip64, no encryption), which is all the book's downloads need.
import Foundation

/// A zip archive on disk.
public struct ZipArchive {
    /// One file or folder in the archive, from the central directory.
    public struct Entry: Sendable {
        /// The path inside the archive, `/`-separated; folders end with `/`.
        public var path: String
        /// 0 = stored, 8 = deflated.
        public var method: Int
        public var crc32: UInt32
        public var compressedSize: Int
        public var uncompressedSize: Int
        var localHeaderOffset: Int

        public var isDirectory: Bool { path.hasSuffix("/") }
    }

    public let url: URL
    public let entries: [Entry]
    private let data: Data

    /// Opens an archive and reads its table of contents.
    public init(url: URL) throws {
        self.url = url
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        entries = try Self.readCentralDirectory(data, path: url.path)
    }

    /// The uncompressed bytes of an entry, checked against its size and CRC-32.
    public func contents(of entry: Entry) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(entry.uncompressedSize)
        try stream(entry) { result.append(contentsOf: $0) }
        return result
    }

    /// Unpacks every entry into `directory`, the way `unzip` would, except that macOS metadata
    /// (`__MACOSX/`) is skipped and existing files are kept. Everything is first unpacked into a
    /// hidden folder inside `directory` and moved into place only when all entries check out,
    /// so a corrupt archive leaves the directory as it was.
    public func unpack(into directory: URL) throws {
        let fileManager = FileManager.default
        let staging = directory.appendingPathComponent(".unpack-\(UUID().uuidString)")
        defer { try? fileManager.removeItem(at: staging) }
        do {
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            for entry in entries where !entry.path.hasPrefix("__MACOSX/") {
                let target = staging.appendingPathComponent(try Self.safeRelativePath(entry.path, archive: url.path))
                if entry.isDirectory {
                    try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
                    continue
                }
                try fileManager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard fileManager.createFile(atPath: target.path, contents: nil),
                      let handle = try? FileHandle(forWritingTo: target) else {
                    throw DataError.archive(path: url.path, reason: "cannot write \(target.path)")
                }
                defer { try? handle.close() }
                try stream(entry) { try handle.write(contentsOf: Data($0)) }
            }
            try Self.merge(staging, into: directory)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.archive(path: url.path, reason: error.localizedDescription)
        }
    }

    // MARK: Implementation

    /// Decompresses an entry chunk by chunk, then checks its size and CRC-32.
    private func stream(_ entry: Entry, to sink: (ArraySlice<UInt8>) throws -> Void) throws {
        let path = url.path
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            let header = entry.localHeaderOffset
            guard header + 30 <= bytes.count, Self.uint32(bytes, header) == 0x0403_4B50 else {
                throw DataError.archive(path: path, reason: "bad local header for \(entry.path)")
            }
            let start = header + 30 + Int(Self.uint16(bytes, header + 26)) + Int(Self.uint16(bytes, header + 28))
            guard start + entry.compressedSize <= bytes.count else {
                throw DataError.archive(path: path, reason: "\(entry.path) runs past the end of the file (truncated download?)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<start + entry.compressedSize])
            var crc = CRC32()
            var size = 0
            func checkedSink(_ chunk: ArraySlice<UInt8>) throws {
                crc.update(chunk)
                size += chunk.count
                try sink(chunk)
            }
            switch entry.method {
            case 0: try checkedSink(ArraySlice(payload))
            case 8:
                do { try Inflate.decompress(payload, sink: checkedSink) } catch let error as InflateError {
                    throw DataError.archive(path: path, reason: "\(entry.path): \(error.description)")
                }
            default:
                throw DataError.archive(path: path, reason: "\(entry.path) uses compression method \(entry.method)")
            }
            guard size == entry.uncompressedSize, crc.value == entry.crc32 else {
                throw DataError.archive(path: path, reason: "\(entry.path) is corrupt (size or CRC-32 mismatch)")
            }
        }
    }

    private static func readCentralDirectory(_ data: Data, path: String) throws -> [Entry] {
        try data.withUnsafeBytes { bytes in
            // The end-of-central-directory record is in the last 22 + 65535 bytes.
            let minimum = 22
            guard bytes.count >= minimum else { throw DataError.archive(path: path, reason: "not a zip file (too short)") }
            var end = bytes.count - minimum
            let lowest = max(0, bytes.count - minimum - 65_535)
            while end >= lowest && uint32(bytes, end) != 0x0605_4B50 { end -= 1 }
            guard end >= lowest else { throw DataError.archive(path: path, reason: "not a zip file (no end record)") }
            let count = Int(uint16(bytes, end + 10))
            let directorySize = Int(uint32(bytes, end + 12))
            var offset = Int(uint32(bytes, end + 16))
            if count == 0xFFFF || directorySize == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
                throw DataError.archive(path: path, reason: "Zip64 archives are not supported")
            }
            var entries: [Entry] = []
            for _ in 0..<count {
                guard offset + 46 <= bytes.count, uint32(bytes, offset) == 0x0201_4B50 else {
                    throw DataError.archive(path: path, reason: "corrupt central directory")
                }
                let flags = uint16(bytes, offset + 8)
                let nameLength = Int(uint16(bytes, offset + 28))
                let extraLength = Int(uint16(bytes, offset + 30)), commentLength = Int(uint16(bytes, offset + 32))
                guard offset + 46 + nameLength <= bytes.count else {
                    throw DataError.archive(path: path, reason: "corrupt central directory")
                }
                let name = String(decoding: bytes[offset + 46..<offset + 46 + nameLength], as: UTF8.self)
                if flags & 1 != 0 { throw DataError.archive(path: path, reason: "\(name) is encrypted") }
                entries.append(Entry(
                    path: name, method: Int(uint16(bytes, offset + 10)), crc32: uint32(bytes, offset + 16),
                    compressedSize: Int(uint32(bytes, offset + 20)), uncompressedSize: Int(uint32(bytes, offset + 24)),
                    localHeaderOffset: Int(uint32(bytes, offset + 42))))
                offset += 46 + nameLength + extraLength + commentLength
            }
            return entries
        }
    }

    /// Rejects absolute paths and `..`, which would write outside the target folder.
    private static func safeRelativePath(_ path: String, archive: String) throws -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !path.hasPrefix("/"), !parts.contains(".."), !path.contains("\\"), !parts.isEmpty else {
            throw DataError.archive(path: archive, reason: "unsafe entry path \(path)")
        }
        return parts.joined(separator: "/")
    }

    /// Moves the contents of `source` into `destination`, recursing into folders that exist in
    /// both and leaving files that already exist untouched.
    private static func merge(_ source: URL, into destination: URL) throws {
        let fileManager = FileManager.default
        for name in try fileManager.contentsOfDirectory(atPath: source.path) {
            let from = source.appendingPathComponent(name), to = destination.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: to.path, isDirectory: &isDirectory) {
                var sourceIsDirectory: ObjCBool = false
                _ = fileManager.fileExists(atPath: from.path, isDirectory: &sourceIsDirectory)
                if isDirectory.boolValue && sourceIsDirectory.boolValue { try merge(from, into: to) }
            } else {
                try fileManager.moveItem(at: from, to: to)
            }
        }
    }

    private static func uint16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func uint32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}

/// CRC-32 (the zip/PNG polynomial 0xEDB88320), table-driven.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var c = ~value
        let table = Self.table
        for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        value = ~c
    }
}
