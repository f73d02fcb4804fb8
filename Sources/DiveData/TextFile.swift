// TextFile.swift: reading a text file as UTF-8 lines, the way Python's text mode does
// (universal newlines), with errors that name the file and the line.
import Foundation

/// The bytes of a text file, split into lines on `\n`, `\r\n` or `\r`.
///
/// The loaders work on these bytes rather than on `String` indices, which keeps the hot loops
/// fast; each line is checked for valid UTF-8 before it becomes a `String`.
struct TextFile {
    /// The path shown in error messages.
    let path: String
    let bytes: [UInt8]

    /// Reads a whole file. A missing, unreadable or empty file is an error.
    static func read(_ url: URL) throws -> TextFile {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.fileNotFound(path: path, hint: "Check the data directory (--data-dir or DIVE_DATA).")
        }
        try requireRegularFile(url)
        // Read in chunks into one array: a big file (SNLI's train split is ~470 MB) is held once.
        var bytes: [UInt8] = []
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber {
                bytes.reserveCapacity(size.intValue)
            }
            while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty { bytes.append(contentsOf: chunk) }
        } catch {
            throw DataError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard !bytes.isEmpty else { throw DataError.emptyFile(path: path) }
        return TextFile(path: path, bytes: bytes)
    }

    /// Calls `body` with each line's 1-based number and its bytes (without the line break).
    /// A final line break does not start an extra empty line, as in Python's `readlines()`.
    func forEachLine(_ body: (_ number: Int, _ line: ArraySlice<UInt8>) throws -> Void) rethrows {
        var start = 0, number = 1, i = 0
        let n = bytes.count
        while i < n {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                try body(number, bytes[start..<i])
                number += 1
                if byte == UInt8(ascii: "\r") && i + 1 < n && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < n { try body(number, bytes[start..<n]) }
    }

    /// Checks that a line is valid UTF-8 without building a string (ASCII lines cost one scan).
    func validate(_ line: ArraySlice<UInt8>, number: Int) throws {
        if line.allSatisfy({ $0 < 0x80 }) { return }
        _ = try decode(line, number: number)
    }

    /// Decodes one line, or throws `invalidUTF8` naming the file and line.
    func decode(_ line: ArraySlice<UInt8>, number: Int) throws -> String {
        guard isValidUTF8(line) else { throw DataError.invalidUTF8(path: path, line: number) }
        return String(decoding: line, as: UTF8.self)
    }

    /// All lines as strings.
    func lines() throws -> [String] {
        var result: [String] = []
        try forEachLine { number, line in result.append(try decode(line, number: number)) }
        return result
    }
}

/// For a UTF-8 lead byte above 0x7F: the number of continuation bytes and the allowed range of the
/// first one (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF); nil for a byte
/// that cannot start a sequence.
func utf8Lead(_ lead: UInt8) -> (count: Int, low: UInt8, high: UInt8)? {
    switch lead {
    case 0xC2...0xDF: return (1, 0x80, 0xBF)
    case 0xE0: return (2, 0xA0, 0xBF)  // no overlong 3-byte forms
    case 0xE1...0xEC, 0xEE...0xEF: return (2, 0x80, 0xBF)
    case 0xED: return (2, 0x80, 0x9F)  // no UTF-16 surrogates
    case 0xF0: return (3, 0x90, 0xBF)  // no overlong 4-byte forms
    case 0xF1...0xF3: return (3, 0x80, 0xBF)
    case 0xF4: return (3, 0x80, 0x8F)  // nothing above U+10FFFF
    default: return nil
    }
}

/// Whether bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
/// U+10FFFF). Written out rather than using `String(validating:)`, which needs macOS 15.
func isValidUTF8<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
    var iterator = bytes.makeIterator()
    while let lead = iterator.next() {
        if lead < 0x80 { continue }
        guard let (count, low, high) = utf8Lead(lead) else { return false }
        guard let first = iterator.next(), first >= low && first <= high else { return false }
        for _ in 1..<count {
            guard let next = iterator.next(), next & 0xC0 == 0x80 else { return false }
        }
    }
    return true
}

/// A data file must be a regular file: reading a FIFO or a device would block or never end.
func requireRegularFile(_ url: URL) throws {
    var info = stat()
    guard stat(url.path, &info) == 0 else { return }  // missing: the reader says so
    let type = info.st_mode & S_IFMT
    guard type == S_IFREG else {
        let what =
            type == S_IFDIR
            ? "a folder" : type == S_IFIFO ? "a FIFO" : type == S_IFCHR || type == S_IFBLK ? "a device" : "not a regular file"
        throw DataError.unreadable(path: url.path, reason: "it is \(what); data files must be regular files")
    }
}
