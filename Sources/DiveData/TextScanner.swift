// TextScanner.swift: one streaming pass over a text of one's own (`dive train <lm> --text`): its
// files read in chunks of a few MB into one buffer, UTF-8 checked and decoded as it goes (a
// sequence or a word split by a chunk's end is carried into the next), lines counted for errors,
// and the tokens handed to a sink: Unicode scalars with the line breaks as "\n", or words.
import Foundation

/// What a pass over a text does with its tokens.
protocol TextSink {
    /// One character token (a Unicode scalar; every line break reads as "\n").
    mutating func character(_ scalar: Unicode.Scalar) throws
    /// One word token: its UTF-8 bytes (valid, never empty).
    mutating func word(_ bytes: UnsafeBufferPointer<UInt8>) throws
}

/// Reads files as `TextCorpus` reads them (universal newlines; characters: the lines of a file
/// joined by "\n" and the files by "\n"; words: runs of non-whitespace), in chunks of `chunkSize`
/// bytes, with one-line errors naming the file and line: a NUL byte (binary), invalid UTF-8, an
/// empty file.
struct TextScanner {
    /// The chunk size of a pass: 4 MiB.
    static let defaultChunkSize = 4 << 20
    let files: [URL]
    let kind: TokenKind
    let chunkSize: Int

    /// Calls `sink` with every token of the files, and `progress` with the bytes read so far after each chunk.
    func scan<Sink: TextSink>(into sink: inout Sink, progress: (_ bytesRead: Int) -> Void) throws {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize + 4)
        defer { buffer.deallocate() }
        var word: [UInt8] = []
        word.reserveCapacity(256)
        var read = 0
        for (k, file) in files.enumerated() {
            if k > 0 && kind == .char { try sink.character("\n") }
            var state = FileState(path: file.path, kind: kind)
            try requireRegularFile(file)
            let fd = open(file.path, O_RDONLY)
            guard fd >= 0 else { throw DataError.unreadable(path: file.path, reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            var carried = 0, fileBytes = 0
            while true {
                let n = Foundation.read(fd, buffer + carried, chunkSize)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DataError.unreadable(path: file.path, reason: String(cString: strerror(errno)))
                }
                fileBytes += n; read += n
                let available = carried + n, used: Int
                do {
                    used = try state.decode(UnsafeBufferPointer(start: buffer, count: available), atEnd: n == 0, word: &word, sink: &sink)
                } catch is LineGoesOn {
                    throw try state.restOfLine(fd, buffer: buffer, capacity: chunkSize)
                }
                carried = available - used
                if carried > 0 { memmove(buffer, buffer + used, carried) }  // at most 3 bytes
                progress(read)
                if n == 0 { break }
            }
            guard fileBytes > 0 else {
                throw DataError.unusableText(
                    path: file.path, line: nil, reason: "the file is empty; give a UTF-8 text with something to learn")
            }
            if !word.isEmpty { try word.withUnsafeBufferPointer { try sink.word($0) }; word.removeAll(keepingCapacity: true) }
        }
    }

    /// Where a pass is in one file.
    private struct FileState {
        let path: String
        let kind: TokenKind
        /// The line being read, from 1.
        var line = 1
        /// The last byte was "\r" (a "\n" after it is the same line break).
        var afterCR = false
        /// Characters: a line break whose "\n" is written when anything follows it (a final line
        /// break does not start an extra line).
        var pendingNewline = false

        init(path: String, kind: TokenKind) { (self.path, self.kind) = (path, kind) }

        /// Decodes `bytes`, handing tokens to `sink`, and returns how many it used: all of them, or
        /// all but an incomplete UTF-8 sequence at the end, when more of the file follows.
        mutating func decode<Sink: TextSink>(
            _ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool, word: inout [UInt8], sink: inout Sink
        ) throws -> Int {
            let n = bytes.count
            var i = 0
            while i < n {
                let lead = bytes[i]
                if lead == 0x0A || lead == 0x0D {
                    if lead == 0x0A && afterCR { afterCR = false; i += 1; continue }
                    afterCR = lead == 0x0D
                    line += 1
                    if kind == .char {
                        if pendingNewline { try sink.character("\n") }
                        pendingNewline = true
                    } else if !word.isEmpty {
                        try word.withUnsafeBufferPointer { try sink.word($0) }
                        word.removeAll(keepingCapacity: true)
                    }
                    i += 1
                    continue
                }
                afterCR = false
                let length: Int, scalar: UInt32
                if lead < 0x80 {
                    guard lead != 0 else { throw binary() }
                    (length, scalar) = (1, UInt32(lead))
                } else {
                    guard let (count, low, high) = utf8Lead(lead) else { throw invalid(bytes, from: i) }
                    if i + count >= n && !atEnd { return i }  // the rest of the sequence is in the next chunk
                    guard i + count < n, (low...high).contains(bytes[i + 1]) else { throw invalid(bytes, from: i) }
                    var value = UInt32(lead) & (0x7F >> (count + 1))
                    for j in 1...count {
                        let next = bytes[i + j]
                        guard next & 0xC0 == 0x80 else { throw invalid(bytes, from: i) }
                        value = value << 6 | UInt32(next & 0x3F)
                    }
                    (length, scalar) = (count + 1, value)
                }
                let unicode = Unicode.Scalar(scalar)!
                if kind == .char {
                    if pendingNewline { try sink.character("\n"); pendingNewline = false }
                    try sink.character(unicode)
                } else if isPythonWhitespace(unicode) {
                    if !word.isEmpty {
                        try word.withUnsafeBufferPointer { try sink.word($0) }
                        word.removeAll(keepingCapacity: true)
                    }
                } else {
                    word.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + length)]))
                }
                i += length
            }
            return n
        }

        func binary() -> DataError {
            .unusableText(path: path, line: line, reason: "a NUL byte: this is a binary file, not UTF-8 text")
        }

        func invalidUTF8() -> DataError { .invalidUTF8(path: path, line: line) }

        /// Invalid UTF-8 at `start`, or a binary file when a NUL byte follows on the same line
        /// (a line checked whole says binary, as `TextFile`'s lines did); `LineGoesOn` when
        /// the line goes on past the chunk.
        private func invalid(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Error {
            for byte in bytes[start...] {
                if byte == 0 { return binary() }
                if byte == 0x0A || byte == 0x0D { return invalidUTF8() }
            }
            return LineGoesOn()
        }

        /// After invalid UTF-8 on a line that goes on past the chunk: reads on to the line's end,
        /// and returns a binary file's error if a NUL byte comes first, else invalid UTF-8.
        func restOfLine(_ fd: Int32, buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> DataError {
            while true {
                let n = Foundation.read(fd, buffer, capacity)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return invalidUTF8() }
                for byte in UnsafeBufferPointer(start: buffer, count: n) {
                    if byte == 0 { return binary() }
                    if byte == 0x0A || byte == 0x0D { return invalidUTF8() }
                }
            }
        }
    }

    /// Invalid UTF-8 on a line that goes on past the chunk read (the scanner reads on for a NUL byte).
    private struct LineGoesOn: Error {}
}
