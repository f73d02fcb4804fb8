// Translation.swift: the English-French pairs of section 9.5 (`read_data_nmt`, `preprocess_nmt`,
// `tokenize_nmt`, `build_array_nmt`, `load_data_nmt`) and their minibatches.
import Foundation

/// A translation minibatch; arrays are `batchSize × numSteps`, row-major, batch-major.
/// `srcValidLen` and `tgtValidLen` count each row's non-`<pad>` tokens.
public struct TranslationBatch: Equatable, Sendable {
    /// Source token indices (English for fra-eng), `(batchSize, numSteps)` row-major: `<eos>` appended, then truncated or padded with `<pad>`.
    public var src: [Int32]
    /// The number of non-`<pad>` tokens in each source row (`batchSize` values).
    public var srcValidLen: [Int32]
    /// Target token indices (French for fra-eng), `(batchSize, numSteps)` row-major: `<eos>` appended, then truncated or padded with `<pad>`.
    public var tgt: [Int32]
    /// The number of non-`<pad>` tokens in each target row (`batchSize` values).
    public var tgtValidLen: [Int32]
    /// Rows in this batch (the last batch of an epoch may be short).
    public var batchSize: Int
    /// The length every sentence is truncated or padded to.
    public var numSteps: Int

    /// A batch from flattened `(batchSize, numSteps)` source and target indices and their valid lengths.
    public init(src: [Int32], srcValidLen: [Int32], tgt: [Int32], tgtValidLen: [Int32], batchSize: Int, numSteps: Int) {
        self.src = src
        self.srcValidLen = srcValidLen
        self.tgt = tgt
        self.tgtValidLen = tgtValidLen
        self.batchSize = batchSize
        self.numSteps = numSteps
    }
}

/// The sentence pairs as index arrays, with their vocabularies: everything `load_data_nmt` makes.
public struct TranslationDataset: MinibatchDataset, Sendable {
    /// The tokenised sentences, before indexing.
    public let source: [[String]]
    /// The tokenised target sentences (French for fra-eng), before indexing.
    public let target: [[String]]
    /// The vocabulary of the source side (English for fra-eng).
    public let srcVocab: Vocab
    /// The vocabulary of the target side (French for fra-eng).
    public let tgtVocab: Vocab
    /// The length every sentence is truncated or padded to.
    public let numSteps: Int
    /// `count × numSteps` source indices, `<eos>` appended, then truncated or padded.
    public let src: [Int32]
    /// The number of non-`<pad>` tokens in each source row.
    public let srcValidLen: [Int32]
    /// `count × numSteps` target indices, `<eos>` appended, then truncated or padded.
    public let tgt: [Int32]
    /// The number of non-`<pad>` tokens in each target row.
    public let tgtValidLen: [Int32]

    /// Indexes tokenised pairs with the given vocabularies (`build_array_nmt` on both sides).
    public init(source: [[String]], target: [[String]], srcVocab: Vocab, tgtVocab: Vocab, numSteps: Int) {
        self.source = source
        self.target = target
        self.srcVocab = srcVocab
        self.tgtVocab = tgtVocab
        self.numSteps = numSteps
        (src, srcValidLen) = Translation.buildArray(source, vocab: srcVocab, numSteps: numSteps)
        (tgt, tgtValidLen) = Translation.buildArray(target, vocab: tgtVocab, numSteps: numSteps)
    }

    /// The number of sentence pairs.
    public var count: Int { srcValidLen.count }

    /// The pairs at `indices`, in that order.
    public func batch(_ indices: [Int]) -> TranslationBatch {
        var batch = TranslationBatch(
            src: [], srcValidLen: [], tgt: [], tgtValidLen: [],
            batchSize: indices.count, numSteps: numSteps)
        for i in indices {
            batch.src.append(contentsOf: src[i * numSteps..<(i + 1) * numSteps])
            batch.tgt.append(contentsOf: tgt[i * numSteps..<(i + 1) * numSteps])
            batch.srcValidLen.append(srcValidLen[i])
            batch.tgtValidLen.append(tgtValidLen[i])
        }
        return batch
    }
}

/// The book's translation pipeline on Tatoeba's `fra.txt` (tab-separated English and French).
public enum Translation {
    /// The reserved tokens of both vocabularies: `<pad>` = 1, `<bos>` = 2, `<eos>` = 3.
    public static let reservedTokens = ["<pad>", "<bos>", "<eos>"]
    /// `min_freq` of both vocabularies.
    public static let minFreq = 2

    /// `preprocess_nmt`: U+202F and U+00A0 become spaces, the text is lower-cased, and a space is
    /// inserted before `,` `.` `!` `?` when the character before it is not a space.
    public static func preprocess(_ text: String) -> String {
        var out: [UInt8] = []
        var previous: Unicode.Scalar? = nil
        appendPreprocessed(text, previous: &previous, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `tokenize_nmt(text, num_examples)` on preprocessed text: line `i` (from 0) is read while
    /// `i <= numExamples`, so 600 gives 601 pairs (nil or 0 reads every line). Each line is split
    /// on tabs, then each side on single spaces (empty tokens kept, as Python's `split(' ')`).
    /// Empty lines are skipped; a line without exactly one tab is an error naming `path` and line.
    public static func tokenize(_ text: String, numExamples: Int? = nil, path: String = "<text>")
        throws -> (source: [[String]], target: [[String]])
    {
        try tokenizeLines(TextFile(path: path, bytes: Array(text.utf8)), numExamples: numExamples, preprocessing: false)
    }

    /// `truncate_pad`: cuts a line to `numSteps` tokens or right-pads it with `padding`.
    public static func truncatePad<T>(_ line: [T], numSteps: Int, padding: T) -> [T] {
        line.count >= numSteps
            ? Array(line.prefix(numSteps))
            : line + [T](repeating: padding, count: numSteps - line.count)
    }

    /// `build_array_nmt`: indexes each line, appends `<eos>`, then truncates or pads to `numSteps`
    /// (so a long line loses its `<eos>`). A row's valid length is its number of non-`<pad>` indices.
    public static func buildArray(_ lines: [[String]], vocab: Vocab, numSteps: Int) -> (array: [Int32], validLen: [Int32]) {
        let pad = Int32(vocab["<pad>"]), eos = Int32(vocab["<eos>"])
        var array: [Int32] = []
        array.reserveCapacity(lines.count * numSteps)
        var validLen: [Int32] = []
        validLen.reserveCapacity(lines.count)
        for line in lines {
            let row = truncatePad(line.map { Int32(vocab[$0]) } + [eos], numSteps: numSteps, padding: pad)
            array += row
            validLen.append(Int32(row.lazy.filter { $0 != pad }.count))
        }
        return (array, validLen)
    }

    /// The source side of `predict_seq2seq`: `sentence.lower().split(' ')` indexed, `<eos>`
    /// appended, then truncated or padded to `numSteps`. As in the book, `validLength` is the
    /// length with `<eos>` before truncation (the sentence is not otherwise preprocessed, so
    /// punctuation must already be spaced: "go ." rather than "go."). `lowercase` false keeps the
    /// case, for a vocabulary with capitals (pairs read with `--raw`).
    public static func encodeSource(_ sentence: String, vocab: Vocab, numSteps: Int, lowercase: Bool = true)
        -> (indices: [Int32], validLength: Int32)
    {
        let tokens = (lowercase ? sentence.lowercased() : sentence).split(separator: " ", omittingEmptySubsequences: false).map(
            String.init)
        let indices = tokens.map { Int32(vocab[$0]) } + [Int32(vocab["<eos>"])]
        return (truncatePad(indices, numSteps: numSteps, padding: Int32(vocab["<pad>"])), Int32(indices.count))
    }

    /// `read_data_nmt` + `preprocess_nmt` + `tokenize_nmt` on a file, in one pass over its bytes.
    public static func readTokens(file: URL, numExamples: Int? = nil) throws -> (source: [[String]], target: [[String]]) {
        try tokenizeLines(try TextFile.read(file), numExamples: numExamples, preprocessing: true)
    }

    /// A vocabulary built the book's way: `min_freq` 2 and `<pad>`, `<bos>`, `<eos>` reserved.
    public static func makeVocab(_ lines: [[String]]) -> Vocab {
        Vocab(lines, minFreq: minFreq, reservedTokens: reservedTokens)
    }

    /// `load_data_nmt` up to the loader: tokens, both vocabularies and the index arrays.
    public static func loadDataset(file: URL, numSteps: Int, numExamples: Int? = 600) throws -> TranslationDataset {
        let (source, target) = try readTokens(file: file, numExamples: numExamples)
        return TranslationDataset(
            source: source, target: target, srcVocab: makeVocab(source),
            tgtVocab: makeVocab(target), numSteps: numSteps)
    }

    /// `load_data_nmt(batch_size, num_steps, num_examples)`: shuffled minibatches (reshuffled each
    /// epoch, last batch possibly short) and the two vocabularies, needed later to translate.
    public static func loadData(batchSize: Int, numSteps: Int, numExamples: Int? = 600, file: URL, seed: UInt64 = 0)
        throws -> (loader: DataLoader<TranslationDataset>, srcVocab: Vocab, tgtVocab: Vocab)
    {
        let dataset = try loadDataset(file: file, numSteps: numSteps, numExamples: numExamples)
        let loader = try DataLoader(dataset, batchSize: batchSize, shuffle: true, seed: seed)
        return (loader, dataset.srcVocab, dataset.tgtVocab)
    }

    // MARK: Implementation

    /// Splits a file into (source, target) token lists, preprocessing each line on the way if asked.
    /// `ownPairs` (a file of one's own, `SentencePairs`): columns after the second are ignored, and
    /// a line without a tab or with a NUL byte is an `unusableText` error naming its line.
    static func tokenizeLines(_ file: TextFile, numExamples: Int?, preprocessing: Bool, ownPairs: Bool = false) throws
        -> (source: [[String]], target: [[String]])
    {
        var source: [[String]] = [], target: [[String]] = []
        var previous: Unicode.Scalar? = nil  // the character before the current one in the whole text
        var processed: [UInt8] = []
        let limit = (numExamples ?? 0) > 0 ? numExamples! : Int.max
        try file.forEachLine { number, bytes in
            if number - 1 > limit { return }  // Python: `if i > num_examples: break`
            if ownPairs && bytes.contains(0) {
                throw DataError.unusableText(path: file.path, line: number, reason: "a NUL byte: this is a binary file, not UTF-8 text")
            }
            processed.removeAll(keepingCapacity: true)
            if bytes.allSatisfy({ $0 < 0x80 }) {
                // ASCII (most lines): valid UTF-8 as it is, and preprocessed byte by byte.
                if preprocessing {
                    for byte in bytes { appendPreprocessedASCII(UInt32(byte), previous: &previous, to: &processed) }
                } else {
                    processed += bytes
                }
            } else {
                let text = try file.decode(bytes, number: number)
                if preprocessing { appendPreprocessed(text, previous: &previous, to: &processed) } else { processed += bytes }
            }
            if preprocessing { previous = "\n" }  // the line break that followed this line in the text
            if processed.isEmpty { return }  // the book drops lines without exactly two fields
            let fields = processed.lazy.filter { $0 == UInt8(ascii: "\t") }.count + 1
            guard fields == 2 || (ownPairs && fields > 2) else {
                if ownPairs {
                    throw DataError.unusableText(
                        path: file.path, line: number,
                        reason:
                            "no tab: each line is a source sentence, a tab and its translation (further tab-separated columns are ignored)")
                }
                throw DataError.wrongFieldCount(path: file.path, line: number, expected: 2, found: fields, separator: "a tab")
            }
            let tab = processed.firstIndex(of: UInt8(ascii: "\t"))!
            let end = processed[(tab + 1)...].firstIndex(of: UInt8(ascii: "\t")) ?? processed.endIndex
            source.append(splitOnSpaces(processed[..<tab]))
            target.append(splitOnSpaces(processed[(tab + 1)..<end]))
        }
        return (source, target)
    }

    /// Python's `s.split(' ')` on UTF-8 bytes: every single space separates, empty pieces are kept.
    private static func splitOnSpaces(_ bytes: ArraySlice<UInt8>) -> [String] {
        var tokens: [String] = []
        var start = bytes.startIndex
        for i in bytes.indices where bytes[i] == UInt8(ascii: " ") {
            tokens.append(String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        tokens.append(String(decoding: bytes[start...], as: UTF8.self))
        return tokens
    }

    /// Preprocesses one ASCII character (`value` < 0x80); see `appendPreprocessed`.
    @inline(__always)
    private static func appendPreprocessedASCII(_ value: UInt32, previous: inout Unicode.Scalar?, to out: inout [UInt8]) {
        var value = value
        if value >= 0x41 && value <= 0x5A { value += 32 }  // ASCII lower case
        switch value {
        case 0x2C, 0x2E, 0x21, 0x3F:  // , . ! ?
            if let previous, previous != " " { out.append(0x20) }
        default: break
        }
        out.append(UInt8(value))
        previous = Unicode.Scalar(UInt8(value))
    }

    /// Appends the preprocessed UTF-8 of `text` to `out`. `previous` is the last character
    /// written before (nil at the very start of the text) and is updated.
    private static func appendPreprocessed(_ text: String, previous: inout Unicode.Scalar?, to out: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            var value = scalar.value
            if value == 0x202F || value == 0xA0 { value = 0x20 }  // narrow and ordinary no-break spaces
            if value < 0x80 {
                appendPreprocessedASCII(value, previous: &previous, to: &out)
            } else {
                // Full Unicode lower-casing, as Python's str.lower() (one character may become several).
                for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                    UTF8.encode(lower) { out.append($0) }
                    previous = lower
                }
            }
        }
    }
}
