// TokenFile.swift: a tokenised text on disk, so that a big text is read once: a 64-byte header
// (magic, version, tokenisation, minimum frequency, token count, vocabulary size, the source's
// fingerprint), the vocabulary as JSON, the ids as little-endian Int32, and a checksum. Opening
// one checks all of it (size, header, checksum, every id in the vocabulary) and maps the ids.
import Foundation

/// The token file of a text: written from a `TextTokenizer`'s second pass, opened as a `TextCorpus`
/// whose ids are mapped from the file.
///
/// Layout (little-endian): `DIVETOKS`, version (u32, 1), tokens (u32: 0 characters, 1 words),
/// minimum frequency (u64), token count n (u64), vocabulary bytes m (u64), the source's 20-byte
/// fingerprint and 4 zero bytes; the vocabulary's tokens as a JSON array (m bytes, zero-padded to
/// a multiple of 4); n Int32 ids; a u64 checksum of the padded vocabulary and ids (as u32 words)
/// and `TOKSEND\0`.
public enum TokenFile {
    static let magic = Array("DIVETOKS".utf8), end = Array("TOKSEND\0".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 64, trailerBytes = 16

    /// What identifies a text's state: SHA-1 over each file's absolute path, size, modification
    /// time (ns), first and last MiB. A text whose fingerprint differs is read anew.
    public static func fingerprint(of url: URL) throws -> (digest: [UInt8], bytes: Int) {
        var digest = FileDigest(), total = 0
        digest.update(Array("dive-text-\(version)".utf8))
        for file in try TextCorpus.files(url) {
            var info = stat()
            guard stat(file.path, &info) == 0 else { throw DataError.unreadable(path: file.path, reason: String(cString: strerror(errno))) }
            #if canImport(Darwin)
                let mtime = info.st_mtimespec
            #else
                let mtime = info.st_mtim
            #endif
            let size = Int(info.st_size)
            total += size
            digest.update(Array("\0\(file.standardizedFileURL.path)\0\(size)\0\(mtime.tv_sec).\(mtime.tv_nsec)\0".utf8))
            guard info.st_mode & S_IFMT == S_IFREG, let handle = try? FileHandle(forReadingFrom: file) else { continue }
            defer { try? handle.close() }
            digest.update((try? handle.read(upToCount: 1 << 20)) ?? Data())
            if size > 1 << 20 {
                try? handle.seek(toOffset: UInt64(max(1 << 20, size - (1 << 20))))
                digest.update((try? handle.read(upToCount: 1 << 20)) ?? Data())
            }
        }
        return (Array(digest.hexDigest().utf8).hexBytes(), total)
    }

    /// Writes the token file of `text` through `write` (e.g. `AtomicFile.write(to:)`'s), running
    /// the text's second pass.
    public static func write(
        _ text: TextTokenizer, fingerprint: [UInt8], progress: ((TextProgress) -> Void)? = nil,
        to write: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        precondition(fingerprint.count == 20, "a fingerprint is 20 bytes")
        var vocab = Array(try JSONEncoder().encode(text.vocab.idxToToken))
        let vocabBytes = vocab.count
        vocab += [UInt8](repeating: 0, count: (4 - vocabBytes % 4) % 4)
        var header = magic
        header.appendLittleEndian(version)
        header.appendLittleEndian(UInt32(text.tokens == .char ? 0 : 1))
        for field in [text.minFreq, text.count, vocabBytes] { header.appendLittleEndian(UInt64(field)) }
        header += fingerprint + [0, 0, 0, 0]
        try header.withUnsafeBytes(write)
        try vocab.withUnsafeBytes(write)
        var checksum = Checksum()
        checksum.add(vocab)
        try text.encode(progress: progress) { ids in
            checksum.add(ids)
            #if _endian(big)
                try ids.map(\.littleEndian).withUnsafeBytes(write)
            #else
                try write(UnsafeRawBufferPointer(ids))
            #endif
        }
        var trailer: [UInt8] = []
        trailer.appendLittleEndian(checksum.value)
        try (trailer + end).withUnsafeBytes(write)
    }

    /// The corpus of the token file at `url`, its ids mapped from the file, if it is whole and
    /// holds `fingerprint`'s text tokenised as `tokens` with `minFreq`; `path`: the text's path,
    /// as errors name it. Throws `DataError.unreadable` saying what is wrong otherwise (another
    /// text or tokenisation, a short file, a bad checksum, an id outside the vocabulary).
    public static func open(_ url: URL, path: String, fingerprint: [UInt8], tokens: TokenKind, minFreq: Int) throws -> TextCorpus {
        func bad(_ reason: String) -> DataError { .unreadable(path: url.path, reason: reason) }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch { throw bad(error.localizedDescription) }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: headerBytes)) ?? Data())
        guard header.count == headerBytes, Array(header[0..<8]) == magic else { throw bad("not a token file") }
        guard header.littleEndian(UInt32.self, at: 8) == version else { throw bad("another version") }
        guard header.littleEndian(UInt32.self, at: 12) == (tokens == .char ? 0 : 1),
            header.littleEndian(UInt64.self, at: 16) == UInt64(minFreq)
        else { throw bad("another tokenisation") }
        guard Array(header[40..<60]) == fingerprint else { throw bad("another text, or the text has changed") }
        let count = Int(truncatingIfNeeded: header.littleEndian(UInt64.self, at: 24))
        let vocabBytes = Int(truncatingIfNeeded: header.littleEndian(UInt64.self, at: 32))
        let padded = vocabBytes + (4 - vocabBytes % 4) % 4
        let size = (try? handle.seekToEnd()).map(Int.init) ?? -1
        guard count >= 0, vocabBytes >= 0, count < Int.max / 8, vocabBytes < Int.max / 8,
            size == headerBytes + padded + 4 * count + trailerBytes
        else { throw bad("its size (\(size) bytes) is not what its header says: it is truncated or corrupt") }
        try? handle.seek(toOffset: UInt64(headerBytes))
        let vocabData = (try? handle.read(upToCount: padded)) ?? Data()
        try? handle.seek(toOffset: UInt64(size - trailerBytes))
        let trailer = [UInt8]((try? handle.read(upToCount: trailerBytes)) ?? Data())
        guard vocabData.count == padded, trailer.count == trailerBytes, Array(trailer[8...]) == end else { throw bad("it is truncated") }
        guard let tokenList = try? JSONDecoder().decode([String].self, from: vocabData.prefix(vocabBytes)), tokenList.count >= 2 else {
            throw bad("its vocabulary is corrupt")
        }
        let vocab = Vocab(idxToToken: tokenList)
        guard vocab.count == tokenList.count else { throw bad("its vocabulary is corrupt") }
        var checksum = Checksum()
        checksum.add(Array(vocabData))
        let ids = try TokenStream.mapping(url, offset: headerBytes + padded, count: count)
        // Read in windows, each dropped from memory after it is checked, so that a check of a big
        // file does not keep it resident.
        var largest: UInt32 = 0
        for start in stride(from: 0, to: count, by: 1 << 22) {
            let window = TokenStream(rebasing: ids[start..<min(count, start + 1 << 22)])
            window.withUnsafeBufferPointer { buffer in
                checksum.add(buffer)
                for id in buffer { largest = max(largest, UInt32(bitPattern: id)) }
            }
            window.release()
        }
        guard checksum.value == trailer.littleEndian(UInt64.self, at: 0) else { throw bad("its checksum does not match: it is corrupt") }
        guard count == 0 || Int(largest) < vocab.count else { throw bad("an id (\(largest)) is outside its vocabulary of \(vocab.count)") }
        return TextCorpus(path: path, tokens: tokens, minFreq: minFreq, vocab: vocab, corpus: ids)
    }

    /// A Fletcher-style checksum of u32 words (order matters), as fast as memory reads them.
    struct Checksum {
        private var a: UInt64 = 1, b: UInt64 = 0

        /// Adds ids (their values, whatever the host's byte order).
        mutating func add(_ ids: UnsafeBufferPointer<Int32>) {
            for id in ids {
                a &+= UInt64(UInt32(bitPattern: id))
                b &+= a
            }
        }

        /// Adds bytes (a multiple of 4) as little-endian u32 words.
        mutating func add(_ bytes: [UInt8]) {
            for k in stride(from: 0, to: bytes.count, by: 4) {
                a &+= UInt64(bytes.littleEndian(UInt32.self, at: k))
                b &+= a
            }
        }

        var value: UInt64 { b &* 0x9E37_79B9_7F4A_7C15 ^ a }
    }
}

extension [UInt8] {
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate func littleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var value = T.zero
        Swift.withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: self[offset..<(offset + MemoryLayout<T>.size)]) }
        return T(littleEndian: value)
    }

    /// 40 hex digits as their 20 bytes.
    fileprivate func hexBytes() -> [UInt8] {
        stride(from: 0, to: count, by: 2).map { UInt8(String(decoding: self[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }
}
