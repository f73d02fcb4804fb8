// The book's zip archives, read with ZIPFoundation: the entries, one entry's bytes, and unpacking
// that never leaves a half-written folder (every entry is checked against its CRC-32 in a staging
// folder first) and never writes outside the target (absolute paths, `..` and links are refused).
import Foundation
import ZIPFoundation

/// A zip archive on disk, read through ZIPFoundation: its entries, one entry's CRC-checked bytes, and safe unpacking.
public struct ZipArchive {
    /// One entry of the archive's central directory: a file or a folder.
    public struct Entry: Sendable {
        /// The path inside the archive ('/'-separated; folders end in '/').
        public var path: String
        /// 0 stored, 8 deflated.
        public var method: Int
        /// Whether the entry is a folder (its path ends in '/').
        public var isDirectory: Bool { path.hasSuffix("/") }
    }

    /// The archive file.
    public let url: URL
    /// The entries of the archive's directory, in archive order.
    public let entries: [Entry]
    private let archive: Archive

    /// Reads the archive's directory; a file that is not a zip is an error naming it.
    public init(url: URL) throws {
        self.url = url
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw DataError.unreadable(path: url.path, reason: "no such file, or not readable")
        }
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw DataError.archive(path: url.path, reason: "not a zip file (\(error))")
        }
        entries = archive.map { Entry(path: $0.path, method: $0.isCompressed ? 8 : 0) }
    }

    /// The uncompressed bytes of `entry`, checked against its CRC-32.
    public func contents(of entry: Entry) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try stream(entry) { bytes += $0 }
        return bytes
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
                    let handle = try? FileHandle(forWritingTo: target)
                else {
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

    /// Passes the entry's bytes to `sink` chunk by chunk, then checks their CRC-32 against the archive's.
    private func stream(_ entry: Entry, _ sink: ([UInt8]) throws -> Void) throws {
        guard let e = archive[entry.path], e.type == .file else {
            throw DataError.archive(path: url.path, reason: "\(entry.path) is not a file entry (links are not unpacked)")
        }
        do {
            let crc = try archive.extract(e, skipCRC32: false) { try sink([UInt8]($0)) }
            guard crc == e.checksum else {
                throw DataError.archive(path: url.path, reason: "\(entry.path) is corrupt (CRC-32 mismatch)")
            }
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.archive(path: url.path, reason: "\(entry.path) is corrupt (\(error))")
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
}
