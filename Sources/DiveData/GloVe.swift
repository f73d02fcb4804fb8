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

    /// Reads a GloVe text file (e.g. `glove.6B.100d.txt`, or d2l's renamed `vec.txt`).
    ///
    /// As in the book, a first line with fewer than two numbers (a fastText-style `count dim`
    /// header) is skipped, values are parsed as doubles then stored as `Float`, and a token that
    /// appears twice maps to its last vector. Blank lines are skipped. A line whose width differs
    /// from the first vector's, a value that is not a number, or invalid UTF-8 is an error that
    /// names the file and line.
    public init(contentsOf url: URL) throws {
        try self.init(file: TextFile.read(url))
    }

    init(file: TextFile) throws {
        var tokens = [Vocab.unknownToken]
        var values: [Float] = []
        var dimension = 0
        var numbers: [Double] = []
        try file.forEachLine { number, line in
            let fields = Self.rstrip(line).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard let first = fields.first, !(fields.count == 1 && first.isEmpty) else { return }   // blank line
            guard let token = String(validating: first, as: UTF8.self) else {
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
                if numbers.count <= 1 && number == 1 { return }   // a "count dim" header line
                guard numbers.count > 1 else {
                    throw DataError.malformedLine(path: file.path, line: number,
                                                  reason: "expected a token followed by its vector")
                }
                dimension = numbers.count
            } else if numbers.count != dimension {
                throw DataError.wrongFieldCount(path: file.path, line: number, expected: dimension + 1,
                                                found: fields.count, separator: "single spaces (a token and \(dimension) numbers)")
            }
            tokens.append(token)
            values.append(contentsOf: numbers.lazy.map { Float($0) })
        }
        guard dimension > 0 else { throw DataError.emptyFile(path: file.path) }
        var map: [String: Int] = [:]
        map.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() { map[token] = index }   // later lines win, as in a dict
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

    /// Loads `glove.6B.50d` or `glove.6B.100d` from a data directory, downloading and unpacking
    /// it if missing. Stanford's own `glove.6B.<d>d.txt`, placed in the directory, also works.
    public static func load(_ dataset: RemoteDataset = .glove6B100d, dataDirectory: DataDirectory,
                            progress: DownloadProgressHandler? = nil) throws -> TokenEmbedding {
        try TokenEmbedding(contentsOf: dataDirectory.locate(dataset, progress: progress))
    }

    // MARK: Parsing helpers

    /// Python's `rstrip()` for ASCII whitespace.
    private static func rstrip(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = line.endIndex
        while end > line.startIndex, [0x20, 0x09, 0x0B, 0x0C, 0x0D].contains(line[end - 1]) { end -= 1 }
        return line[line.startIndex..<end]
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
