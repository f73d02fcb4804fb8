// SentencePairs.swift: sentence pairs of one's own for the translation recipes
// (`dive train seq2seq|bahdanau|transformer --pairs FILE`): tab-separated source and target per
// line, as fra-eng (any language pair; columns after the second ignored), with the book's
// preprocessing unless raw, and both vocabularies built the book's way. A file that cannot be
// trained on is a one-line error naming the file (and the line of a NUL byte, invalid UTF-8 or a
// line without a tab).
import Foundation

/// A file of tab-separated sentence pairs, tokenised, with the source and target vocabularies.
///
/// Each non-empty line is `source<TAB>target[<TAB>anything]`. With the book's preprocessing
/// (`preprocess_nmt`) the text is lower-cased and `,` `.` `!` `?` are split off; raw pairs keep
/// their case and punctuation. Either way a side is split on single spaces (`tokenize_nmt`), and
/// each vocabulary keeps the tokens seen at least twice, with `<pad>`, `<bos>` and `<eos>`.
public struct SentencePairs: Sendable {
    /// The file read, as errors name it.
    public let path: String
    /// Whether the book's preprocessing was applied (false: raw, as given).
    public let preprocessed: Bool
    /// The tokenised source sentences, one per pair.
    public let source: [[String]]
    /// The tokenised target sentences, aligned with `source`.
    public let target: [[String]]
    /// The vocabulary of every pair's source side.
    public let srcVocab: Vocab
    /// The vocabulary of every pair's target side.
    public let tgtVocab: Vocab

    /// The number of pairs.
    public var count: Int { source.count }

    /// Reads `url` (the book's preprocessing unless `raw`). Throws `DataError` naming the file: missing,
    /// empty, a NUL byte (binary), invalid UTF-8 or a line without a tab (with the line), no pairs, or
    /// a side whose vocabulary has fewer than two symbols besides the reserved ones.
    public init(reading url: URL, raw: Bool = false) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DataError.unusableText(path: url.path, line: nil, reason: "no such file")
        }
        let file: TextFile
        do { file = try TextFile.read(url) } catch DataError.emptyFile(let path) {
            throw DataError.unusableText(path: path, line: nil, reason: "the file is empty; give tab-separated sentence pairs")
        }
        let (source, target) = try Translation.tokenizeLines(file, numExamples: nil, preprocessing: !raw, ownPairs: true)
        guard !source.isEmpty else {
            throw DataError.unusableText(path: url.path, line: nil, reason: "no sentence pairs (only empty lines)")
        }
        let srcVocab = Translation.makeVocab(source), tgtVocab = Translation.makeVocab(target)
        for (side, vocab) in [("source", srcVocab), ("target", tgtVocab)] {
            let symbols = vocab.idxToToken.filter { $0 != Vocab.unknownToken && !Translation.reservedTokens.contains($0) }
            guard symbols.count >= 2 else {
                let seen = symbols.first.map { "one token (\($0.debugDescription))" } ?? "no token"
                throw DataError.unusableText(
                    path: url.path, line: nil,
                    reason:
                        "the \(side) sentences have \(seen) seen at least twice (the book's min_freq 2): a vocabulary of \(symbols.count) symbol\(symbols.count == 1 ? "" : "s"); a translation model needs at least two on each side: give more pairs"
                )
            }
        }
        self.path = url.path; preprocessed = !raw
        self.source = source; self.target = target
        self.srcVocab = srcVocab; self.tgtVocab = tgtVocab
    }
}
