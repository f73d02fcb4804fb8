// Tokenize.swift: splitting lines into word or character tokens (the book's `tokenize`),
// and counting tokens and n-grams the way Python's `Counter` plus a stable sort does.

/// The two tokenisations of the book's `tokenize(lines, token)`.
public enum TokenKind: String, Codable, Sendable {
    /// `line.split()`: runs of whitespace separate tokens; empty tokens never appear.
    case word
    /// `list(line)`: one token per Unicode scalar (a Python `str` character).
    case char
}

/// Splits each line into tokens, like the book's `tokenize`.
public func tokenize(_ lines: [String], as kind: TokenKind = .word) -> [[String]] {
    lines.map { line in
        switch kind {
        case .word: return splitOnWhitespace(line)
        case .char: return line.unicodeScalars.map { String($0) }
        }
    }
}

/// Python's `str.split()` without arguments: splits on runs of whitespace, drops empty pieces.
public func splitOnWhitespace(_ text: String) -> [String] {
    // Fast path for ASCII text: split the UTF-8 bytes directly.
    let asciiTokens: [String]? =
        text.utf8.withContiguousStorageIfAvailable { bytes -> [String]? in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            var tokens: [String] = []
            var start = -1
            for i in 0..<bytes.count {
                if isPythonWhitespace(Unicode.Scalar(bytes[i])) {
                    if start >= 0 { tokens.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)) }
                    start = -1
                } else if start < 0 {
                    start = i
                }
            }
            if start >= 0 { tokens.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self)) }
            return tokens
        } ?? nil
    if let asciiTokens { return asciiTokens }

    var tokens: [String] = []
    var current = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if isPythonWhitespace(scalar) {
            if !current.isEmpty { tokens.append(String(current)); current = String.UnicodeScalarView() }
        } else {
            current.append(scalar)
        }
    }
    if !current.isEmpty { tokens.append(String(current)) }
    return tokens
}

/// Python's `str.isspace()`: Unicode White_Space plus the ASCII separators U+001C...U+001F.
func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20: return true
        default: return false
        }
    }
    return scalar.properties.isWhitespace
}

/// A token and the number of times it occurs.
public struct TokenCount: Codable, Equatable, Sendable {
    /// The token itself.
    public var token: String
    /// How many times the token occurs.
    public var count: Int
    /// Pairs `token` with its number of occurrences.
    public init(token: String, count: Int) {
        self.token = token
        self.count = count
    }
}

/// Counts items and sorts them by descending count, ties in first-seen order.
/// This is `sorted(Counter(items).items(), key=lambda x: x[1], reverse=True)` in Python,
/// whose `Counter` keeps insertion order and whose sort is stable.
func countFrequencies<Item: Hashable, Items: Sequence>(_ items: Items) -> [(item: Item, count: Int)]
where Items.Element == Item {
    var slot: [Item: Int] = [:]
    var seen: [Item] = []
    var counts: [Int] = []
    for item in items {
        if let index = slot[item] {
            counts[index] += 1
        } else {
            slot[item] = seen.count
            seen.append(item)
            counts.append(1)
        }
    }
    return ranked(seen, counts)
}

/// Items in first-seen order with their counts, sorted by descending count, ties in first-seen order.
func ranked<Item>(_ seen: [Item], _ counts: [Int]) -> [(item: Item, count: Int)] {
    // Sorting indices with an explicit tie-break on first-seen order keeps this stable
    // whatever sort algorithm the standard library uses.
    let order = seen.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
    return order.map { (seen[$0], counts[$0]) }
}

/// Token counts, most frequent first, ties in first-seen order.
public func countTokens<Tokens: Sequence>(_ tokens: Tokens) -> [TokenCount] where Tokens.Element == String {
    countFrequencies(tokens).map { TokenCount(token: $0.item, count: $0.count) }
}

/// An n-gram (n consecutive tokens) and its number of occurrences.
public struct NGramCount: Equatable, Sendable {
    /// The n consecutive tokens of the n-gram, in order.
    public var tokens: [String]
    /// How many times the n-gram occurs in the stream.
    public var count: Int
    /// Pairs an n-gram's tokens with its number of occurrences.
    public init(tokens: [String], count: Int) {
        self.tokens = tokens
        self.count = count
    }
}

/// Counts the n-grams of a token stream (section 8.3's bigram and trigram tables):
/// most frequent first, ties in first-seen order.
public func ngramFrequencies(_ tokens: [String], n: Int) -> [NGramCount] {
    guard n > 0, tokens.count >= n else { return [] }
    let grams = (0...(tokens.count - n)).lazy.map { Array(tokens[$0..<$0 + n]) }
    return countFrequencies(grams).map { NGramCount(tokens: $0.item, count: $0.count) }
}
