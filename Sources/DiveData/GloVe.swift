// GloVe.swift: pretrained word vectors in GloVe's text format (`token v1 v2 ... vd` per line),
// read as the book's `TokenEmbedding`: a token-to-vector table with zeros for unknown tokens.
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A table of word vectors, any dimension. Index 0 is `<unk>` with a zero vector, so looking up
/// a token that is not in the file gives zeros, as in the book.
public struct TokenEmbedding: Sendable {
    /// The length of every vector.
    public let dimension: Int
    /// Index to token; `idxToToken[0]` is `<unk>`.
    public let idxToToken: [String]
    /// All vectors, `idxToToken.count × dimension`, row-major; row 0 is zeros.
    public let vectors: [Float]
    private let tokenToIdx: [String: Int]

    /// What to do with a token that is not valid UTF-8.
    public enum InvalidUTF8Handling: Sendable {
        /// Throw `DataError.invalidUTF8` naming the file and line.
        case reject
        /// Read the token as Windows-1252. Some copies of GloVe in circulation (among them the
        /// 2445-line sample of glove.6B.50d) were re-encoded that way: `\u{96}` stands for `–`.
        case decodeAsWindows1252
    }

    /// Reads a GloVe text file (e.g. `glove.6B.100d.txt`, or d2l's renamed `vec.txt`).
    ///
    /// As in the book, a first line with fewer than two numbers (a fastText-style `count dim`
    /// header) is skipped, values are parsed as doubles then stored as `Float`, and a token that
    /// appears twice maps to its last vector. Blank lines are skipped. A line whose width differs
    /// from the first vector's, or a value that is not a number, is an error that names the file
    /// and line; so is a token that is not UTF-8 when `invalidUTF8` is `.reject`.
    public init(contentsOf url: URL, invalidUTF8: InvalidUTF8Handling = .decodeAsWindows1252) throws {
        try self.init(file: TextFile.read(url), invalidUTF8: invalidUTF8)
    }

    init(file: TextFile, invalidUTF8: InvalidUTF8Handling) throws {
        var tokens = [Vocab.unknownToken]
        var values: [Float] = []
        var dimension = 0
        var numbers: [Double] = []
        try file.forEachLine { number, line in
            let fields = Self.rstrip(line).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard let first = fields.first, !(fields.count == 1 && first.isEmpty) else { return }  // blank line
            let token: String
            if isValidUTF8(first) {
                token = String(decoding: first, as: UTF8.self)
            } else if invalidUTF8 == .decodeAsWindows1252 {
                token = Self.decodeWindows1252(first)
            } else {
                throw DataError.invalidUTF8(path: file.path, line: number)
            }
            numbers.removeAll(keepingCapacity: true)
            for field in fields.dropFirst() {
                guard let value = Self.parseDouble(field) else {
                    throw DataError.malformedLine(
                        path: file.path, line: number,
                        reason: "\"\(String(decoding: field.prefix(40), as: UTF8.self))\" is not a number")
                }
                numbers.append(value)
            }
            if dimension == 0 {
                if numbers.count <= 1 && number == 1 { return }  // a "count dim" header line
                guard numbers.count > 1 else {
                    throw DataError.malformedLine(
                        path: file.path, line: number,
                        reason: "expected a token followed by its vector")
                }
                dimension = numbers.count
            } else if numbers.count != dimension {
                throw DataError.wrongFieldCount(
                    path: file.path, line: number, expected: dimension + 1,
                    found: fields.count, separator: "single spaces (a token and \(dimension) numbers)")
            }
            tokens.append(token)
            values.append(contentsOf: numbers.lazy.map { Float($0) })
        }
        guard dimension > 0 else { throw DataError.emptyFile(path: file.path) }
        var map: [String: Int] = [:]
        map.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() { map[token] = index }  // later lines win, as in a dict
        self.dimension = dimension
        self.idxToToken = tokens
        self.vectors = [Float](repeating: 0, count: dimension) + values
        self.tokenToIdx = map
    }

    /// The number of rows, `<unk>` included.
    public var count: Int { idxToToken.count }

    /// The row of a token, 0 (`<unk>`) when the file does not have it.
    public func index(of token: String) -> Int { tokenToIdx[token] ?? 0 }

    /// The vector of a token (zeros for an unknown token).
    public func vector(for token: String) -> ArraySlice<Float> {
        let row = index(of: token)
        return vectors[row * dimension..<(row + 1) * dimension]
    }

    /// The vectors of several tokens, `tokens.count × dimension`, row-major.
    public func vectors<Tokens: Sequence>(for tokens: Tokens) -> [Float] where Tokens.Element == String {
        var out: [Float] = []
        for token in tokens { out += vector(for: token) }
        return out
    }

    /// The embedding matrix for a vocabulary, `vocab.count × dimension`: row i is the vector of
    /// `vocab.idxToToken[i]`, zeros where GloVe has no such token (`<pad>`, `<unk>`, capitalised words).
    public func embeddingMatrix(for vocab: Vocab) -> [Float] {
        vectors(for: vocab.idxToToken)
    }

    // MARK: Parsing helpers

    /// Python's `rstrip()` for ASCII whitespace.
    private static func rstrip(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = line.endIndex
        while end > line.startIndex, [0x20, 0x09, 0x0B, 0x0C, 0x0D].contains(line[end - 1]) { end -= 1 }
        return line[line.startIndex..<end]
    }

    /// Windows-1252: Latin-1 except for 0x80...0x9F, which hold typographic characters.
    private static func decodeWindows1252(_ bytes: ArraySlice<UInt8>) -> String {
        let high: [UInt32] = [
            0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
            0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178
        ]
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            let value = (0x80...0x9F).contains(byte) ? high[Int(byte) - 0x80] : UInt32(byte)
            scalars.append(Unicode.Scalar(value)!)
        }
        return String(scalars)
    }

    /// Parses one number with the C library (`strtod`), requiring the whole field to be used.
    private static func parseDouble(_ field: ArraySlice<UInt8>) -> Double? {
        guard !field.isEmpty, field.count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: field.count + 1) { buffer -> Double? in
            for (i, byte) in field.enumerated() { buffer[i] = CChar(bitPattern: byte) }
            buffer[field.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == field.count else { return nil }
            return value
        }
    }
}
