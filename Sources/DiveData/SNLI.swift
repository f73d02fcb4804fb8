// SNLI.swift: the Stanford Natural Language Inference corpus as section 15.4 reads it
// (`read_snli`, `SNLIDataset`, `load_data_snli`), from the official .txt or .jsonl files.
import Foundation

/// The three SNLI classes, numbered as the book numbers them.
public enum SNLILabel: Int, Codable, CaseIterable, Sendable {
    case entailment = 0
    case contradiction = 1
    case neutral = 2

    /// The label for a `gold_label` string; nil for `-` (no annotator consensus) or anything else.
    public init?(name: String) {
        switch name {
        case "entailment": self = .entailment
        case "contradiction": self = .contradiction
        case "neutral": self = .neutral
        default: return nil
        }
    }

    /// The `gold_label` string of this label, as in the official files.
    public var name: String {
        switch self {
        case .entailment: return "entailment"
        case .contradiction: return "contradiction"
        case .neutral: return "neutral"
        }
    }
}

/// The splits of the official release.
public enum SNLISplit: String, Codable, CaseIterable, Sendable {
    case train, dev, test
}

/// Premise/hypothesis pairs with their labels (`read_snli`'s three lists).
public struct SNLIExamples: Equatable, Sendable {
    /// The premise sentences, with the parse brackets removed by `SNLI.extractText`.
    public var premises: [String]
    /// The hypothesis sentences, cleaned the same way and aligned with `premises`.
    public var hypotheses: [String]
    /// The gold label of each premise/hypothesis pair.
    public var labels: [SNLILabel]

    /// Examples from three aligned lists (empty by default, to be appended to while reading).
    public init(premises: [String] = [], hypotheses: [String] = [], labels: [SNLILabel] = []) {
        self.premises = premises
        self.hypotheses = hypotheses
        self.labels = labels
    }

    /// The number of premise/hypothesis pairs.
    public var count: Int { labels.count }

    /// How many examples carry each label, in label order (entailment, contradiction, neutral).
    public var labelCounts: [Int] {
        var counts = [0, 0, 0]
        for label in labels { counts[label.rawValue] += 1 }
        return counts
    }
}

/// An SNLI minibatch: premises and hypotheses are `batchSize × numSteps`, row-major.
public struct SNLIBatch: Equatable, Sendable {
    /// Premise token indices, `(batchSize, numSteps)` row-major.
    public var premises: [Int32]
    /// Hypothesis token indices, `(batchSize, numSteps)` row-major.
    public var hypotheses: [Int32]
    /// The `batchSize` class indices (`SNLILabel.rawValue`).
    public var labels: [Int32]
    /// The number of pairs in the batch.
    public var batchSize: Int
    /// The padded length of every premise and hypothesis.
    public var numSteps: Int

    /// A batch from flattened `(batchSize, numSteps)` premise and hypothesis indices and `batchSize` labels.
    public init(premises: [Int32], hypotheses: [Int32], labels: [Int32], batchSize: Int, numSteps: Int) {
        self.premises = premises
        self.hypotheses = hypotheses
        self.labels = labels
        self.batchSize = batchSize
        self.numSteps = numSteps
    }
}

/// `SNLIDataset`: word indices of every premise and hypothesis, truncated or padded to `numSteps`.
public struct SNLIDataset: MinibatchDataset, Sendable {
    /// The word vocabulary shared by premises and hypotheses (given, or built over the training examples).
    public let vocab: Vocab
    /// The length every premise and hypothesis is truncated or padded to.
    public let numSteps: Int
    /// `count × numSteps` premise indices.
    public let premises: [Int32]
    /// `count × numSteps` hypothesis indices.
    public let hypotheses: [Int32]
    /// The class index (`SNLILabel.rawValue`) of each example.
    public let labels: [Int32]

    /// Tokenises on whitespace, case kept. Without a vocabulary, builds one over premises and
    /// hypotheses with `min_freq` 5 and `<pad>` reserved (the book's training set).
    public init(_ examples: SNLIExamples, numSteps: Int, vocab: Vocab? = nil) {
        let premiseTokens = tokenize(examples.premises, as: .word)
        let hypothesisTokens = tokenize(examples.hypotheses, as: .word)
        let vocab = vocab ?? Vocab(premiseTokens + hypothesisTokens, minFreq: 5, reservedTokens: ["<pad>"])
        let pad = Int32(vocab["<pad>"])
        func pack(_ lines: [[String]]) -> [Int32] {
            lines.flatMap { Translation.truncatePad($0.map { Int32(vocab[$0]) }, numSteps: numSteps, padding: pad) }
        }
        self.vocab = vocab
        self.numSteps = numSteps
        premises = pack(premiseTokens)
        hypotheses = pack(hypothesisTokens)
        labels = examples.labels.map { Int32($0.rawValue) }
    }

    /// The number of examples.
    public var count: Int { labels.count }

    /// Gathers the premises, hypotheses and labels of the examples at `indices` into one `(indices.count, numSteps)` batch.
    public func batch(_ indices: [Int]) -> SNLIBatch {
        var batch = SNLIBatch(premises: [], hypotheses: [], labels: [], batchSize: indices.count, numSteps: numSteps)
        for i in indices {
            batch.premises.append(contentsOf: premises[i * numSteps..<(i + 1) * numSteps])
            batch.hypotheses.append(contentsOf: hypotheses[i * numSteps..<(i + 1) * numSteps])
            batch.labels.append(labels[i])
        }
        return batch
    }
}

/// Reading SNLI files.
public enum SNLI {
    /// The columns `read_snli` uses, by their header names.
    static let labelColumn = "gold_label"
    static let premiseColumn = "sentence1_binary_parse"
    static let hypothesisColumn = "sentence2_binary_parse"

    /// `extract_text`: removes `(` and `)`, collapses runs of two or more whitespace characters
    /// into one space, and strips the ends.
    public static func extractText(_ parse: String) -> String {
        var scalars: [Unicode.Scalar] = []
        var whitespaceRun: [Unicode.Scalar] = []
        func flushWhitespace() {
            if whitespaceRun.count >= 2 { scalars.append(" ") } else { scalars += whitespaceRun }
            whitespaceRun.removeAll()
        }
        for scalar in parse.unicodeScalars where scalar != "(" && scalar != ")" {
            if isPythonWhitespace(scalar) {
                whitespaceRun.append(scalar)
            } else {
                flushWhitespace()
                scalars.append(scalar)
            }
        }
        flushWhitespace()
        // strip()
        let start = scalars.firstIndex { !isPythonWhitespace($0) } ?? scalars.endIndex
        let end = scalars.lastIndex { !isPythonWhitespace($0) }.map { $0 + 1 } ?? start
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start..<end])
        return String(text)
    }

    /// Reads one official file: `.jsonl` (one JSON object per line) or the tab-separated `.txt`
    /// with its header. Examples whose `gold_label` is `-` are dropped. Any malformed line, a row
    /// with the wrong number of fields, or a file without examples, is an error naming the line.
    public static func read(file: URL) throws -> SNLIExamples {
        let text = try TextFile.read(file)
        return file.pathExtension.lowercased() == "jsonl" ? try readJSONLines(text) : try readTabSeparated(text)
    }

    /// Reads `snli_1.0_<split>.txt` from a folder, or `snli_1.0_<split>.jsonl` if there is no `.txt`.
    /// The book uses train and test.
    public static func read(directory: URL, split: SNLISplit) throws -> SNLIExamples {
        let base = directory.appendingPathComponent("snli_1.0_\(split.rawValue)")
        let txt = base.appendingPathExtension("txt"), jsonl = base.appendingPathExtension("jsonl")
        if FileManager.default.fileExists(atPath: txt.path) { return try read(file: txt) }
        if FileManager.default.fileExists(atPath: jsonl.path) { return try read(file: jsonl) }
        throw DataError.fileNotFound(
            path: txt.path, hint: "Put the SNLI 1.0 files (snli_1.0_train.txt, snli_1.0_test.txt) in \(directory.path).")
    }

    /// `load_data_snli(batch_size, num_steps)`: a shuffled training loader, an unshuffled test
    /// loader using the training vocabulary, and that vocabulary (18,678 tokens on full SNLI).
    public static func loadData(batchSize: Int, numSteps: Int = 50, directory: URL, seed: UInt64 = 0)
        throws -> (train: DataLoader<SNLIDataset>, test: DataLoader<SNLIDataset>, vocab: Vocab)
    {
        let train = SNLIDataset(try read(directory: directory, split: .train), numSteps: numSteps)
        let test = SNLIDataset(try read(directory: directory, split: .test), numSteps: numSteps, vocab: train.vocab)
        return (
            try DataLoader(train, batchSize: batchSize, shuffle: true, seed: seed),
            try DataLoader(test, batchSize: batchSize, shuffle: false), train.vocab
        )
    }

    // MARK: Implementation

    private static func readTabSeparated(_ file: TextFile) throws -> SNLIExamples {
        var examples = SNLIExamples()
        var columns: (label: Int, premise: Int, hypothesis: Int, count: Int)? = nil
        var fields: [ArraySlice<UInt8>] = []
        try file.forEachLine { number, bytes in
            try file.validate(bytes, number: number)
            fields.removeAll(keepingCapacity: true)
            var start = bytes.startIndex
            for i in bytes.indices where bytes[i] == UInt8(ascii: "\t") {
                fields.append(bytes[start..<i])
                start = i + 1
            }
            fields.append(bytes[start...])
            guard let layout = columns else {
                // The header names the columns; the book reads columns 0, 1 and 2 by position.
                let names = fields.map { String(decoding: $0, as: UTF8.self) }
                guard let label = names.firstIndex(of: labelColumn), let premise = names.firstIndex(of: premiseColumn),
                    let hypothesis = names.firstIndex(of: hypothesisColumn)
                else {
                    throw DataError.malformedLine(
                        path: file.path, line: number,
                        reason: "the header lacks one of \(labelColumn), \(premiseColumn), \(hypothesisColumn)")
                }
                columns = (label, premise, hypothesis, names.count)
                return
            }
            if bytes.isEmpty { return }
            guard fields.count == layout.count else {
                throw DataError.wrongFieldCount(
                    path: file.path, line: number, expected: layout.count,
                    found: fields.count, separator: "tabs")
            }
            guard let label = SNLILabel(name: String(decoding: fields[layout.label], as: UTF8.self)) else { return }
            examples.premises.append(extractText(utf8: fields[layout.premise]))
            examples.hypotheses.append(extractText(utf8: fields[layout.hypothesis]))
            examples.labels.append(label)
        }
        if columns == nil { throw DataError.emptyFile(path: file.path) }
        return examples
    }

    /// `extractText` on validated UTF-8 bytes, byte by byte when they are ASCII.
    private static func extractText(utf8 field: ArraySlice<UInt8>) -> String {
        guard field.allSatisfy({ $0 < 0x80 }) else { return extractText(String(decoding: field, as: UTF8.self)) }
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var runStart = -1  // index in `out` where the current whitespace run began
        for byte in field where byte != UInt8(ascii: "(") && byte != UInt8(ascii: ")") {
            if isPythonWhitespace(Unicode.Scalar(byte)) {
                if runStart < 0 { runStart = out.count }
                out.append(byte)
            } else {
                if runStart >= 0 && out.count - runStart >= 2 { out.replaceSubrange(runStart..., with: [0x20]) }
                runStart = -1
                out.append(byte)
            }
        }
        // A trailing run is removed by the strip; so is a leading one.
        if runStart >= 0 { out.removeSubrange(runStart...) }
        let first = out.firstIndex { !isPythonWhitespace(Unicode.Scalar($0)) } ?? out.endIndex
        return String(decoding: out[first...], as: UTF8.self)
    }

    private static func readJSONLines(_ file: TextFile) throws -> SNLIExamples {
        var examples = SNLIExamples()
        var sawObject = false
        try file.forEachLine { number, bytes in
            let line = try file.decode(bytes, number: number)
            if line.allSatisfy(\.isWhitespace) { return }
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw DataError.malformedLine(path: file.path, line: number, reason: "not a JSON object")
            }
            func field(_ name: String) throws -> String {
                guard let value = object[name] as? String else {
                    throw DataError.malformedLine(path: file.path, line: number, reason: "no string field \"\(name)\"")
                }
                return value
            }
            sawObject = true
            let labelName = try field(labelColumn)
            let premise = try field(premiseColumn), hypothesis = try field(hypothesisColumn)
            guard let label = SNLILabel(name: labelName) else { return }
            examples.premises.append(extractText(premise))
            examples.hypotheses.append(extractText(hypothesis))
            examples.labels.append(label)
        }
        if !sawObject { throw DataError.emptyFile(path: file.path) }
        return examples
    }
}
