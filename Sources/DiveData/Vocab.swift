// Vocab.swift: the book's `Vocab`, a two-way map between tokens and indices.
// Codable, so a training run can store it in its checkpoint and translate with it later.

/// A vocabulary: `<unk>`, the reserved tokens, then the corpus tokens.
///
/// With `.frequency` ordering (zh 2.0, the default) `<unk>` is 0, the reserved tokens follow,
/// then the tokens by descending frequency, ties in first-seen order. With `.alphabetical`
/// ordering (en v1.0) all of them are sorted by code point and `<unk>` lands wherever it sorts
/// (for The Time Machine: `' '` = 0, `<unk>` = 1, `a` = 2...).
/// Tokens seen fewer than `minFreq` times are left out; looking them up gives `unknownIndex`.
public struct Vocab: Codable, Equatable, Sendable {
    /// How tokens are ordered after `<unk>` and the reserved tokens.
    public enum Ordering: String, Codable, Sendable {
        /// zh 2.0: `<unk>`, reserved, then by descending frequency, ties in first-seen order.
        case frequency
        /// en v1.0: `sorted(set([<unk>] + reserved + kept tokens))`, by Unicode code points.
        case alphabetical
    }

    /// The name of the unknown token.
    public static let unknownToken = "<unk>"

    /// Index to token.
    public private(set) var idxToToken: [String]
    /// The index returned for tokens not in the vocabulary (0 with `.frequency` ordering).
    public let unknownIndex: Int
    /// The corpus counts the vocabulary was built from, most frequent first (including the tokens
    /// below `minFreq`). Not stored by `Codable`: a decoded vocabulary has none.
    public private(set) var tokenFrequencies: [TokenCount]
    private var tokenToIdx: [String: Int]

    /// Builds a vocabulary from tokenised lines (they are flattened first, as in the book).
    public init(_ lines: [[String]], minFreq: Int = 0, reservedTokens: [String] = [], ordering: Ordering = .frequency) {
        self.init(counts: countTokens(lines.joined()), minFreq: minFreq, reservedTokens: reservedTokens, ordering: ordering)
    }

    /// Builds a vocabulary from a flat token stream.
    public init(_ tokens: [String], minFreq: Int = 0, reservedTokens: [String] = [], ordering: Ordering = .frequency) {
        self.init(counts: countTokens(tokens), minFreq: minFreq, reservedTokens: reservedTokens, ordering: ordering)
    }

    /// Builds a vocabulary from counts sorted as `countTokens` sorts them.
    public init(counts: [TokenCount], minFreq: Int = 0, reservedTokens: [String] = [], ordering: Ordering = .frequency) {
        let kept = counts.lazy.filter { $0.count >= minFreq }.map(\.token)
        var tokens: [String]
        switch ordering {
        case .frequency:
            tokens = [Vocab.unknownToken] + reservedTokens + kept
        case .alphabetical:
            tokens = Array(Set([Vocab.unknownToken] + reservedTokens + kept))
            tokens.sort { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        }
        // Keep the first occurrence of each token (a corpus may contain "<unk>" or a reserved token).
        var seen = Set<String>()
        tokens = tokens.filter { seen.insert($0).inserted }
        self.init(idxToToken: tokens)
        tokenFrequencies = counts
    }

    /// Rebuilds a vocabulary from its token list, e.g. one stored in a checkpoint.
    /// `unknownToken` must be in the list (it is added at index 0 when it is not).
    public init(idxToToken: [String], unknownToken: String = Vocab.unknownToken) {
        var tokens = idxToToken
        if !tokens.contains(unknownToken) { tokens.insert(unknownToken, at: 0) }
        var map: [String: Int] = [:]
        map.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() where map[token] == nil { map[token] = index }
        self.idxToToken = tokens
        self.tokenToIdx = map
        self.unknownIndex = map[unknownToken]!
        self.tokenFrequencies = []
    }

    /// The number of tokens, `len(vocab)`.
    public var count: Int { idxToToken.count }

    /// The index of a token, or `unknownIndex` for a token not in the vocabulary.
    public subscript(token: String) -> Int { tokenToIdx[token] ?? unknownIndex }

    /// Indices of a token sequence.
    public func indices<Tokens: Sequence>(_ tokens: Tokens) -> [Int] where Tokens.Element == String {
        tokens.map { self[$0] }
    }

    /// Whether the token has its own index.
    public func contains(_ token: String) -> Bool { tokenToIdx[token] != nil }

    /// The token at an index, or `<unk>` for an index out of range.
    public func token(at index: Int) -> String {
        idxToToken.indices.contains(index) ? idxToToken[index] : idxToToken[unknownIndex]
    }

    /// The book's `to_tokens`.
    public func tokens<Indices: Sequence>(_ indices: Indices) -> [String] where Indices.Element: BinaryInteger {
        indices.map { token(at: Int($0)) }
    }

    // MARK: Codable and Equatable: the token list is the vocabulary.

    private enum CodingKeys: String, CodingKey { case idxToToken, unknownToken }

    /// Decodes the token list and unknown token (`<unk>` when absent) and rebuilds the index map; frequencies are not restored.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let tokens = try container.decode([String].self, forKey: .idxToToken)
        let unknown = try container.decodeIfPresent(String.self, forKey: .unknownToken) ?? Vocab.unknownToken
        self.init(idxToToken: tokens, unknownToken: unknown)
    }

    /// Encodes the token list and the unknown token only, not the token frequencies.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(idxToToken, forKey: .idxToToken)
        try container.encode(idxToToken[unknownIndex], forKey: .unknownToken)
    }

    /// Two vocabularies are equal when their token lists and unknown indices match, whatever their frequencies.
    public static func == (lhs: Vocab, rhs: Vocab) -> Bool {
        lhs.idxToToken == rhs.idxToToken && lhs.unknownIndex == rhs.unknownIndex
    }
}
