// TextCorpus.swift: a text of one's own as a language model's token stream (`dive train <lm> --text`):
// one UTF-8 file, or a folder's .txt files in name order joined by a newline; characters or words;
// a vocabulary with a minimum frequency. Text that cannot be trained on is a one-line error naming
// the file (and the line of a NUL byte or of the first invalid UTF-8). Read in two streaming passes
// (`TextTokenizer`); a big text's ids come from a token file (`TokenFile`) mapped into memory.
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
    /// The token indices of the whole text, in memory or mapped from a token file.
    public let corpus: TokenStream

    /// The minimum frequency unless one is given: 1 for characters (every character kept, as in the
    /// book), 2 for words (a word seen once reads as `<unk>`, so the model learns `<unk>` too).
    public static func defaultMinFreq(_ tokens: TokenKind) -> Int { tokens == .char ? 1 : 2 }

    /// Reads a UTF-8 file, or the `.txt` files of a folder (sorted by name, a newline between two
    /// files), as `tokens` with a vocabulary of the tokens seen at least `minFreq` times (default
    /// `defaultMinFreq(tokens)`), in two streaming passes (`TextTokenizer`), the ids kept in
    /// memory. Throws `DataError` naming the file: missing, empty, a folder without `.txt` files,
    /// a NUL byte (binary), invalid UTF-8 (with the line), or fewer than two distinct symbols in
    /// the corpus.
    public init(reading url: URL, tokens: TokenKind = .char, minFreq: Int? = nil) throws {
        try self.init(TextTokenizer(reading: url, tokens: tokens, minFreq: minFreq))
    }

    /// The text a first pass counted, with the ids of its second pass kept in memory.
    public init(_ text: TextTokenizer, progress: ((TextProgress) -> Void)? = nil) throws {
        var filled = 0
        let corpus = try TokenStream(count: text.count) { buffer in
            try text.encode(progress: progress) { ids in
                let room = Swift.max(0, Swift.min(ids.count, buffer.count - filled))  // a text that grew is refused by `encode`
                _ = UnsafeMutableBufferPointer(rebasing: buffer[filled..<(filled + room)]).initialize(from: ids.prefix(room))
                filled += ids.count
            }
            return filled
        }
        self.init(path: text.path, tokens: text.tokens, minFreq: text.minFreq, vocab: text.vocab, corpus: corpus)
    }

    /// A corpus from its parts (a token file's).
    public init(path: String, tokens: TokenKind, minFreq: Int, vocab: Vocab, corpus: TokenStream) {
        self.path = path; self.tokens = tokens; self.minFreq = minFreq
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
}
