// Sentence pairs of one's own (`dive train <translation> --pairs`), SNLI folders (`--snli`) and the
// held-out split both use: the book's preprocessing or raw text, extra columns ignored, both
// vocabularies, and one-line errors naming the file (and line) for data that cannot be trained on.
import DiveData
import Foundation
import Testing

@Suite struct SentencePairsTests {
    func write(_ text: String, _ name: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    let text = "Go.\tVa !\tCC-BY 2.0 (France) #1\nHi.\tSalut !\n\nGo.\tMarche.\nHi!\tSalut.\n"

    @Test func theBooksPreprocessingAndExtraColumnsIgnored() throws {
        let dir = try makeTemporaryDirectory("pairs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pairs = try SentencePairs(reading: try write(text, "p.txt", in: dir))
        #expect(pairs.preprocessed && pairs.count == 4)
        #expect(pairs.source == [["go", "."], ["hi", "."], ["go", "."], ["hi", "!"]])
        #expect(pairs.target == [["va", "!"], ["salut", "!"], ["marche", "."], ["salut", "."]])
        // min_freq 2 over every pair, with the book's reserved tokens.
        #expect(pairs.srcVocab.idxToToken.sorted() == [".", "<bos>", "<eos>", "<pad>", "<unk>", "go", "hi"])
        #expect(["go", "hi", "."].allSatisfy(pairs.srcVocab.contains) && !pairs.srcVocab.contains("!"))
        #expect(["salut", "!", "."].allSatisfy(pairs.tgtVocab.contains) && !pairs.tgtVocab.contains("va"))
    }

    @Test func rawPairsKeepCaseAndPunctuation() throws {
        let dir = try makeTemporaryDirectory("pairs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pairs = try SentencePairs(reading: try write(text + "Go.\tSalut !\nHi.\tVa !\n", "p.txt", in: dir), raw: true)
        #expect(!pairs.preprocessed)
        #expect(pairs.source == [["Go."], ["Hi."], ["Go."], ["Hi!"], ["Go."], ["Hi."]])
        #expect(pairs.target[0] == ["Va", "!"] && pairs.target[2] == ["Marche."])
        #expect(pairs.srcVocab.contains("Go.") && !pairs.srcVocab.contains("go"))
    }

    /// Each bad file: its bytes and what the error says after the path.
    static let bad: [(String, [UInt8], String)] = [
        ("empty.txt", [], "empty.txt: the file is empty"),
        ("blank.txt", Array("\n\n".utf8), "blank.txt: no sentence pairs"),
        ("binary.txt", Array("a\tb\n".utf8) + [0x7f, 0x45, 0x00, 0x09, 0x01], "binary.txt:2: a NUL byte"),
        ("latin1.txt", Array("a b\ta b\na b\ta b\ncaf".utf8) + [0xe9, 0x09] + Array("x\n".utf8), "latin1.txt:3: invalid UTF-8"),
        ("notab.txt", Array("a b\ta b\na b\ta b\na b a b\n".utf8), "notab.txt:3: no tab"),
        ("one.txt", Array(String(repeating: "a a\tb c\n", count: 5).utf8), "one.txt: the source sentences have one token (\"a\")"),
        ("none.txt", Array("a b\tc d\ne f\tg h\n".utf8), "none.txt: the source sentences have no token seen at least twice")
    ]

    @Test(arguments: 0..<bad.count) func badPairsAreOneLineNamingTheFile(_ index: Int) throws {
        let (name, bytes, message) = Self.bad[index]
        let dir = try makeTemporaryDirectory("pairs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try DiveDataTests.write(bytes, to: name, in: dir)
        let error = try #require(throws: DataError.self) { try SentencePairs(reading: url) }
        #expect(error.description.hasPrefix(dir.path) && error.description.contains(message), "\(error)")
        #expect(!error.description.contains("\n"))
    }

    @Test func theHeldOutSplitIsFixedDisjointAndRounded() {
        let a = HeldOutSplit(count: 601, fraction: 0.1), b = HeldOutSplit(count: 601, fraction: 0.1)
        #expect(a == b && a.heldOut.count == 60 && a.kept.count == 541)
        #expect(Set(a.heldOut).isDisjoint(with: a.kept) && Set(a.heldOut + a.kept) == Set(0..<601))
        #expect(a.heldOut == a.heldOut.sorted() && a.kept == a.kept.sorted())
        #expect(a.heldOut != Array(541..<601), "a shuffle, not the file's end")
        #expect(HeldOutSplit(count: 601, fraction: 0).heldOut.isEmpty && HeldOutSplit(count: 601, fraction: 0).kept == Array(0..<601))
        #expect(HeldOutSplit(count: 4, fraction: 0.1).heldOut.isEmpty)
    }

    @Test(.enabled(if: TestData.hasSNLI, "snli_1.0_sample is not in the data directory"))
    func anSNLIFolderNeedsItsTrainAndTestSplits() throws {
        let corpus = try SNLICorpus(reading: TestData.snliSample)
        #expect(corpus.train.count > 0 && corpus.test.count > 0 && corpus.dev != nil)
        #expect(corpus.train.subset([1, 0]).premises == [corpus.train.premises[1], corpus.train.premises[0]])
        let dir = try makeTemporaryDirectory("snli")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (folder, message) in [
            (dir, "no snli_1.0_train.jsonl or snli_1.0_train.txt"), (dir.appendingPathComponent("none"), "no such folder")
        ] {
            let error = try #require(throws: DataError.self) { try SNLICorpus(reading: folder) }
            #expect(error.description == "\(folder.path): \(message)" || error.description.hasPrefix("\(folder.path): \(message)"))
        }
    }
}
