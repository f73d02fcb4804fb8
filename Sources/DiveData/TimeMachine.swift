// TimeMachine.swift: H. G. Wells' The Time Machine as the book reads it (sections 8.2-8.3):
// line cleaning, the character corpus with its token limit, and the language-model loader.
import Foundation

/// Which edition of the book a pipeline follows where the two differ.
public enum BookEdition: String, Codable, Sendable {
    /// The Chinese 2.0 edition (the primary target).
    case zh
    /// The English v1.0 edition.
    case en
    /// Not an edition: the zh settings trained the way Vaswani et al. train the Transformer
    /// (Adam β2 0.98, ε 1e-9, warmup schedule, label smoothing 0.1). Data pipelines follow zh.
    case paper
}

/// The Time Machine corpus.
public enum TimeMachine {
    /// The cleaning of `read_time_machine` for one line:
    /// `re.sub('[^A-Za-z]+', ' ', line).strip().lower()`.
    public static func cleanLine(_ line: String) -> String { lettersAndSpaces(line, strip: true) }

    /// The en v1.0 `_preprocess`: the whole text as one string,
    /// `re.sub('[^A-Za-z]+', ' ', text).lower()`, with newlines counted as non-letters and no strip.
    public static func cleanWholeText(_ text: String) -> String { lettersAndSpaces(text, strip: false) }

    /// The letters of `text` lowercased, each run of other bytes (including every byte of a
    /// non-ASCII character) as one space; `strip` drops the leading and trailing runs.
    static func lettersAndSpaces(_ text: String, strip: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var inRun = false
        for byte in text.utf8 {
            if let letter = asciiLetterLowercased(byte) {
                if inRun && !(strip && out.isEmpty) { out.append(UInt8(ascii: " ")) }
                inRun = false
                out.append(letter)
            } else {
                inRun = true
            }
        }
        if inRun && !strip { out.append(UInt8(ascii: " ")) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `read_time_machine()`: the cleaned lines of the file (3221 for the book's copy).
    public static func readLines(file: URL) throws -> [String] {
        try TextFile.read(file).lines().map(cleanLine)
    }

    /// The whole file cleaned as one string (en v1.0).
    public static func readWholeText(file: URL) throws -> String {
        let text = try TextFile.read(file)
        _ = try text.lines()  // validates the UTF-8, naming the first bad line
        // Cleaning turns any run of line-break bytes into one space, so `\r\n` needs no special care.
        return cleanWholeText(String(decoding: text.bytes, as: UTF8.self))
    }

    /// `load_corpus_time_machine(max_tokens)`: character indices of the whole text and their
    /// vocabulary. zh: lines are concatenated with no separator and the vocabulary is ordered by
    /// frequency; en: the text is cleaned as a whole and the vocabulary is alphabetical.
    /// The vocabulary is built from the whole text; only the corpus is cut to `maxTokens`.
    ///
    /// The book's copy gives (170580, 28) for zh and (173428, 28) for en.
    public static func loadCorpus(file: URL, maxTokens: Int? = nil, edition: BookEdition = .zh)
        throws -> (corpus: [Int32], vocab: Vocab)
    {
        let tokens: [[String]]
        let ordering: Vocab.Ordering
        switch edition {
        case .zh, .paper:
            tokens = tokenize(try readLines(file: file), as: .char)
            ordering = .frequency
        case .en:
            tokens = tokenize([try readWholeText(file: file)], as: .char)
            ordering = .alphabetical
        }
        let vocab = Vocab(tokens, ordering: ordering)
        var corpus = tokens.joined().map { Int32(vocab[$0]) }
        if let maxTokens, maxTokens > 0, corpus.count > maxTokens { corpus.removeSubrange(maxTokens...) }
        return (corpus, vocab)
    }

    /// `load_data_time_machine(batch_size, num_steps, use_random_iter, max_tokens)`: the minibatch
    /// iterator over the character corpus and its vocabulary. The zh defaults (batch 32,
    /// 35 steps, 10,000 tokens) give 8 minibatches per epoch.
    public static func loadData(
        batchSize: Int, numSteps: Int, useRandomIter: Bool = false, maxTokens: Int? = 10_000,
        file: URL, seed: UInt64 = 0
    ) throws -> (loader: SequenceDataLoader, vocab: Vocab) {
        let (corpus, vocab) = try loadCorpus(file: file, maxTokens: maxTokens)
        let loader = try SequenceDataLoader(
            corpus: corpus, batchSize: batchSize, numSteps: numSteps,
            partitioning: useRandomIter ? .random : .sequential, seed: seed)
        return (loader, vocab)
    }

    /// The lower-case letter for an ASCII letter byte, nil for anything else.
    private static func asciiLetterLowercased(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte + 32
        default: return nil
        }
    }
}
