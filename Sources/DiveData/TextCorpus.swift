// TextCorpus.swift: a text of one's own as a language model's token stream (`dive train <lm> --text`):
// one UTF-8 file, or a folder's .txt files in name order joined by a newline; characters or words;
// a vocabulary with a minimum frequency. Text that cannot be trained on is a one-line error naming
// the file (and the line of a NUL byte or of the first invalid UTF-8).
import Foundation

/// A text of one's own as one token stream and its vocabulary.
///
/// Characters are Unicode scalars with the line breaks kept (`\n`, whatever the file used), so a
/// model learns the text's lines too; words are runs of non-whitespace (Python's `str.split()`).
/// The vocabulary is the book's: `<unk>`, then the tokens seen at least `minFreq` times by
/// descending frequency; rarer tokens read as `<unk>`.
public struct TextCorpus: Sendable {
    /// The file or folder read, as errors name it.
    public let path: String
    /// Characters or words.
    public let tokens: TokenKind
    /// The minimum frequency the vocabulary was built with.
    public let minFreq: Int
    /// The vocabulary of the whole text.
    public let vocab: Vocab
    /// The token indices of the whole text.
    public let corpus: [Int32]

    /// The minimum frequency unless one is given: 1 for characters (every character kept, as in the
    /// book), 2 for words (a word seen once reads as `<unk>`, so the model learns `<unk>` too).
    public static func defaultMinFreq(_ tokens: TokenKind) -> Int { tokens == .char ? 1 : 2 }

    /// Reads a UTF-8 file, or the `.txt` files of a folder (sorted by name, a newline between two
    /// files), as `tokens` with a vocabulary of the tokens seen at least `minFreq` times (default
    /// `defaultMinFreq(tokens)`). Throws `DataError` naming the file: missing, empty, a folder
    /// without `.txt` files, a NUL byte (binary), invalid UTF-8 (with the line), or fewer than two
    /// distinct symbols in the corpus.
    public init(reading url: URL, tokens: TokenKind = .char, minFreq: Int? = nil) throws {
        let minFreq = minFreq ?? Self.defaultMinFreq(tokens)
        guard minFreq >= 1 else { throw DataError.invalidArgument("the minimum frequency must be at least 1 (got \(minFreq))") }
        let files = try Self.files(url)
        var stream: [String] = []
        for (k, file) in files.enumerated() {
            if k > 0 && tokens == .char { stream.append("\n") }
            try Self.appendTokens(of: file, as: tokens, to: &stream)
        }
        let unit = tokens == .char ? "character" : "word"
        guard !stream.isEmpty else {
            throw DataError.unusableText(path: url.path, line: nil, reason: "no \(unit)s to learn (only whitespace)")
        }
        let vocab = Vocab(stream, minFreq: minFreq)
        let corpus = stream.map { Int32(vocab[$0]) }
        let distinct = Set(corpus).count
        guard distinct >= 2 else {
            let only = vocab.token(at: Int(corpus[0]))
            throw DataError.unusableText(
                path: url.path, line: nil,
                reason:
                    "its vocabulary has one symbol (\(only.debugDescription)) with a minimum frequency of \(minFreq); a language model needs at least two: give a longer, more varied text\(minFreq > 1 ? " or a lower --min-freq" : "")"
            )
        }
        self.path = url.path; self.tokens = tokens; self.minFreq = minFreq
        self.vocab = vocab; self.corpus = corpus
    }

    /// `url` itself, or a folder's `.txt` files sorted by name (hidden files left out).
    static func files(_ url: URL) throws -> [URL] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw DataError.unusableText(path: url.path, line: nil, reason: "no such file or folder")
        }
        guard isFolder.boolValue else { return [url] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let texts = names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".txt") }.sorted()
        guard !texts.isEmpty else {
            throw DataError.unusableText(
                path: url.path, line: nil, reason: "the folder has no .txt files; give a UTF-8 text file, or a folder of .txt files")
        }
        return texts.map { url.appendingPathComponent($0) }
    }

    /// Appends the tokens of one file: its lines joined by `\n` (characters), or their words.
    static func appendTokens(of url: URL, as kind: TokenKind, to stream: inout [String]) throws {
        let file: TextFile
        do { file = try TextFile.read(url) } catch DataError.emptyFile(let path) {
            throw DataError.unusableText(path: path, line: nil, reason: "the file is empty; give a UTF-8 text with something to learn")
        }
        var first = true
        try file.forEachLine { number, bytes in
            guard !bytes.contains(0) else {
                throw DataError.unusableText(path: file.path, line: number, reason: "a NUL byte: this is a binary file, not UTF-8 text")
            }
            let line = try file.decode(bytes, number: number)
            switch kind {
            case .char:
                if !first { stream.append("\n") }
                stream.append(contentsOf: line.unicodeScalars.lazy.map { String($0) })
            case .word:
                stream.append(contentsOf: splitOnWhitespace(line))
            }
            first = false
        }
    }
}
