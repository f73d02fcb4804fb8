// TextTokenizer.swift: a text of one's own tokenised with bounded memory, however large: a first
// streaming pass counts the tokens (the vocabulary, with a minimum frequency, is known only at
// its end), a second one hands out their ids in blocks, for a caller to keep in memory
// (`TextCorpus`) or write to a token file (`TokenFile`).
import Foundation

/// How far a pass over a text has got.
public struct TextProgress: Sendable {
    /// 1: counting the tokens; 2: writing their ids.
    public var pass: Int
    /// The bytes read so far in this pass, over all files.
    public var bytesRead: Int
    /// The bytes of all the files.
    public var totalBytes: Int
    /// Seconds since the pass began.
    public var seconds: Double
}

/// A text's files, tokenisation and vocabulary after a first streaming pass; `encode` is the
/// second, which hands the token ids out in blocks.
///
/// Each pass reads the files in chunks (4 MiB) and holds only the counts (first pass) or one
/// block of ids (second), so memory stays bounded by the vocabulary, not the text.
public struct TextTokenizer: Sendable {
    /// The file or folder read, as errors name it.
    public let path: String
    /// The files read: the file itself, or the folder's `.txt` files in name order.
    public let files: [URL]
    /// Characters or words.
    public let tokens: TokenKind
    /// The minimum frequency of the vocabulary.
    public let minFreq: Int
    /// The vocabulary of the whole text (with its token frequencies).
    public let vocab: Vocab
    /// The number of tokens in the text.
    public let count: Int
    /// The bytes of all the files.
    public let totalBytes: Int
    /// The size of the chunks the files are read in.
    let chunkSize: Int

    /// Counts the tokens of a UTF-8 file, or of a folder's `.txt` files, as `TextCorpus` reads
    /// them. Throws `DataError` naming the file: missing, empty, a folder without `.txt` files, a
    /// NUL byte (binary), invalid UTF-8 (with the line), nothing but whitespace, or fewer than two
    /// distinct symbols with the minimum frequency.
    public init(reading url: URL, tokens: TokenKind = .char, minFreq: Int? = nil, progress: ((TextProgress) -> Void)? = nil) throws {
        try self.init(reading: url, tokens: tokens, minFreq: minFreq, chunkSize: TextScanner.defaultChunkSize, progress: progress)
    }

    /// The same, reading `chunkSize` bytes at a time (tests give tiny chunks).
    init(reading url: URL, tokens: TokenKind, minFreq: Int?, chunkSize: Int, progress: ((TextProgress) -> Void)?) throws {
        let minFreq = minFreq ?? TextCorpus.defaultMinFreq(tokens)
        guard minFreq >= 1 else { throw DataError.invalidArgument("the minimum frequency must be at least 1 (got \(minFreq))") }
        precondition(chunkSize >= 1, "a chunk holds at least one byte")
        path = url.path; self.tokens = tokens; self.minFreq = minFreq; self.chunkSize = chunkSize
        files = try TextCorpus.files(url)
        totalBytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
        var counter = Counter()
        try Self.pass(1, files: files, kind: tokens, chunkSize: chunkSize, totalBytes: totalBytes, into: &counter, progress: progress)
        let ranked = ranked(counter.seen, counter.counts).map { TokenCount(token: $0.item, count: $0.count) }
        count = counter.counts.reduce(0, +)
        let unit = tokens == .char ? "character" : "word"
        guard count > 0 else { throw DataError.unusableText(path: path, line: nil, reason: "no \(unit)s to learn (only whitespace)") }
        vocab = Vocab(counts: ranked, minFreq: minFreq)
        let distinct = Set(ranked.lazy.map { [vocab] in vocab[$0.token] })
        guard distinct.count >= 2 else {
            let only = vocab.token(at: distinct.first!)
            throw DataError.unusableText(
                path: path, line: nil,
                reason:
                    "its vocabulary has one symbol (\(only.debugDescription)) with a minimum frequency of \(minFreq); a language model needs at least two: give a longer, more varied text\(minFreq > 1 ? " or a lower --min-freq" : "")"
            )
        }
    }

    /// The second pass: the ids of the text's `count` tokens, in order, handed to `consume` in
    /// blocks. Throws `DataError` if the files changed since the first pass (another count).
    public func encode(progress: ((TextProgress) -> Void)? = nil, into consume: (UnsafeBufferPointer<Int32>) throws -> Void) throws {
        let written = try withoutActuallyEscaping(consume) { consume in
            var encoder = Encoder(vocab: vocab, consume: consume)
            try Self.pass(2, files: files, kind: tokens, chunkSize: chunkSize, totalBytes: totalBytes, into: &encoder, progress: progress)
            try encoder.flush()
            return encoder.written
        }
        guard written == count else {
            throw DataError.unusableText(
                path: path, line: nil, reason: "it changed while it was read (\(count) tokens, then \(written)); try again")
        }
    }

    private static func pass<Sink: TextSink>(
        _ number: Int, files: [URL], kind: TokenKind, chunkSize: Int, totalBytes: Int, into sink: inout Sink,
        progress: ((TextProgress) -> Void)?
    ) throws {
        let start = Date()
        try TextScanner(files: files, kind: kind, chunkSize: chunkSize).scan(into: &sink) { read in
            progress?(TextProgress(pass: number, bytesRead: read, totalBytes: totalBytes, seconds: Date().timeIntervalSince(start)))
        }
    }

    /// The first pass's sink: every distinct token in first-seen order and its count.
    private struct Counter: TextSink {
        var seen: [String] = [], counts: [Int] = []
        private var ascii = [Int](repeating: -1, count: 128)
        private var scalars: [UInt32: Int] = [:]
        private var slots: [String: Int] = [:]

        mutating func character(_ scalar: Unicode.Scalar) {
            if scalar.value < 128 {
                let slot = ascii[Int(scalar.value)]
                if slot >= 0 { counts[slot] += 1 } else { ascii[Int(scalar.value)] = add(String(scalar)) }
            } else if let slot = scalars[scalar.value] {
                counts[slot] += 1
            } else {
                scalars[scalar.value] = add(String(scalar))
            }
        }

        mutating func word(_ bytes: UnsafeBufferPointer<UInt8>) { count(String(decoding: bytes, as: UTF8.self)) }

        private mutating func count(_ token: String) {
            if let slot = slots[token] { counts[slot] += 1 } else { slots[token] = add(token) }
        }

        private mutating func add(_ token: String) -> Int {
            seen.append(token); counts.append(1)
            return seen.count - 1
        }
    }

    /// The second pass's sink: ids into a block, handed on when full.
    private struct Encoder: TextSink {
        let vocab: Vocab
        let consume: (UnsafeBufferPointer<Int32>) throws -> Void
        var ascii: [Int32]
        var scalars: [UInt32: Int32] = [:]
        var block: [Int32] = []
        var written = 0

        init(vocab: Vocab, consume: @escaping (UnsafeBufferPointer<Int32>) throws -> Void) {
            self.vocab = vocab; self.consume = consume
            ascii = (0..<128).map { Int32(vocab[String(Unicode.Scalar(UInt8($0)))]) }
            block.reserveCapacity(1 << 16)
        }

        mutating func character(_ scalar: Unicode.Scalar) throws {
            if scalar.value < 128 { return try append(ascii[Int(scalar.value)]) }
            if let id = scalars[scalar.value] { return try append(id) }
            let id = Int32(vocab[String(scalar)])
            scalars[scalar.value] = id
            try append(id)
        }

        mutating func word(_ bytes: UnsafeBufferPointer<UInt8>) throws {
            try append(Int32(vocab[String(decoding: bytes, as: UTF8.self)]))
        }

        private mutating func append(_ id: Int32) throws {
            block.append(id)
            if block.count == 1 << 16 { try flush() }
        }

        mutating func flush() throws {
            try block.withUnsafeBufferPointer { try consume($0) }
            written += block.count
            block.removeAll(keepingCapacity: true)
        }
    }
}
