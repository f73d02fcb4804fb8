// A rule-based entailment task written as SNLI 1.0 files (the official header, 14 tab-separated
// columns, binary parses with parentheses): premise "the man is happy ." against a hypothesis with
// the same subject and adjective (entailment), the same subject and the antonym (contradiction),
// or another subject (neutral). Determiners vary and carry no signal. Four subjects and two
// antonym pairs keep it small enough to learn in seconds.
import DiveData
import DiveReference
import Foundation

enum NLITestData {
    static let subjects = ["man", "woman", "dog", "cat"]
    static let antonyms = [("happy", "sad"), ("tall", "short")]
    static let adjectives = antonyms.flatMap { [$0.0, $0.1] }
    static let determiners = ["the", "a"]
    static let header = [
        "gold_label", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse", "sentence2_parse",
        "sentence1", "sentence2", "captionID", "pairID", "label1", "label2", "label3", "label4", "label5"
    ]

    struct Sentence: Equatable {
        var determiner: String, subject: String, adjective: String
        var tokens: [String] { [determiner, subject, "is", adjective, "."] }
        var text: String { tokens.joined(separator: " ") }
    }

    static func antonym(_ adjective: String) -> String {
        for (a, b) in antonyms { if a == adjective { return b }; if b == adjective { return a } }
        fatalError("no antonym for \(adjective)")
    }

    /// The rule the files encode.
    static func label(_ p: Sentence, _ h: Sentence) -> SNLILabel {
        if p.subject != h.subject { return .neutral }
        return p.adjective == h.adjective ? .entailment : .contradiction
    }

    /// `count` pairs with balanced labels, drawn from a seeded generator.
    static func pairs(_ count: Int, seed: UInt64) -> [(SNLILabel, Sentence, Sentence)] {
        var rng = SeededRNG(seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        return (0..<count).map { i in
            let p = Sentence(determiner: pick(determiners), subject: pick(subjects), adjective: pick(adjectives))
            var h = Sentence(determiner: pick(determiners), subject: p.subject, adjective: p.adjective)
            switch SNLILabel(rawValue: i % 3)! {
            case .entailment: break
            case .contradiction: h.adjective = antonym(p.adjective)
            case .neutral:
                h.subject = pick(subjects.filter { $0 != p.subject })
                h.adjective = pick([p.adjective, antonym(p.adjective)])
            }
            return (label(p, h), p, h)
        }
    }

    static func binaryParse(_ s: Sentence) -> String { "( ( \(s.determiner) \(s.subject) ) ( ( is \(s.adjective) ) . ) )" }
    static func parse(_ s: Sentence) -> String {
        "(ROOT (S (NP (DT \(s.determiner)) (NN \(s.subject))) (VP (VBZ is) (ADJP (JJ \(s.adjective)))) (. .)))"
    }

    /// One file in the official layout; `unlabelled` extra rows carry gold label `-` (dropped by the reader).
    static func write(_ pairs: [(SNLILabel, Sentence, Sentence)], unlabelled: Int = 0, to url: URL) throws {
        var lines = [header.joined(separator: "\t")]
        for (i, (label, p, h)) in pairs.enumerated() {
            let gold = i < unlabelled ? "-" : label.name
            lines.append(
                [
                    gold, binaryParse(p), binaryParse(h), parse(p), parse(h),
                    "\(p.determiner) \(p.subject) is \(p.adjective).", "\(h.determiner) \(h.subject) is \(h.adjective).",
                    "\(i).jpg#0", "\(i).jpg#0r1\(gold.prefix(1))", gold, label.name, label.name, "", ""
                ].joined(separator: "\t"))
        }
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    /// A data directory with `snli_1.0/snli_1.0_{train,test}.txt`; the caller removes it.
    static func makeDataDirectory(train: Int, test: Int, unlabelled: Int = 0, seed: UInt64 = 1) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dive-nli-\(UUID().uuidString)")
        let folder = root.appendingPathComponent("snli_1.0")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try write(pairs(train + unlabelled, seed: seed), unlabelled: unlabelled, to: folder.appendingPathComponent("snli_1.0_train.txt"))
        try write(pairs(test, seed: seed + 1000), to: folder.appendingPathComponent("snli_1.0_test.txt"))
        return root
    }
}
