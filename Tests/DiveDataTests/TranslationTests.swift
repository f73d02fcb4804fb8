import DiveData
// TranslationTests.swift: the English-French pipeline of section 9.5, checked against the book's
// figures, plus malformed copies of fra.txt.
import Foundation
import Testing

@Suite struct TranslationTests {
    @Test func preprocessingMatchesTheBook() {
        #expect(Translation.preprocess("Go.\tVa !\nRun!\tCours\u{202F}!\nWho?\tQui ?") == "go .\tva !\nrun !\tcours !\nwho ?\tqui ?")
        #expect(Translation.preprocess(".Hi,there\u{A0}!") == ".hi ,there !")  // no space at position 0
        #expect(Translation.preprocess("ÇA ALORS.") == "ça alors .")
    }

    @Test func tokenizationKeepsEmptyTokensAndCutsAfterNumExamples() throws {
        let text = "a b\tc\nd  e\tf .\n\ng\th\n"
        let all = try Translation.tokenize(text)
        #expect(all.source == [["a", "b"], ["d", "", "e"], ["g"]])
        #expect(all.target == [["c"], ["f", "."], ["h"]])
        // `if i > num_examples: break` counts lines from 0, blank ones included.
        #expect(try Translation.tokenize(text, numExamples: 1).source.count == 2)
        #expect(try Translation.tokenize(text, numExamples: 2).source.count == 2)
        #expect(try Translation.tokenize(text, numExamples: 3).source.count == 3)
    }

    @Test func buildArrayAppendsEosThenTruncatesOrPads() {
        let vocab = Translation.makeVocab([["a", "a", "b", "b"]])  // <unk> <pad> <bos> <eos> a b
        let (array, validLen) = Translation.buildArray([["a"], ["a", "b", "a", "b", "x"]], vocab: vocab, numSteps: 4)
        #expect(array == [4, 3, 1, 1, 4, 5, 4, 5])  // the long line loses its <eos>
        #expect(validLen == [2, 4])
        #expect(Translation.truncatePad([1, 2], numSteps: 3, padding: 0) == [1, 2, 0])
    }

    @Test func utf8IsCheckedLineByLine() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = Array("caf\u{E9} \u{20AC} \u{1F600}\tok\n".utf8)
        let file = try write(good, to: "good.txt", in: folder)
        #expect(try Translation.readTokens(file: file).source == [["café", "€", "😀"]])
        let invalid: [[UInt8]] = [
            [0xC0, 0xAF],  // overlong '/'
            [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
            [0xE2, 0x82],  // truncated
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0x80]  // a lone continuation byte
        ]
        for (i, bytes) in invalid.enumerated() {
            let bad = try write(good + good + Array("x".utf8) + bytes + Array("\ty\n".utf8), to: "bad\(i).txt", in: folder)
            #expect(dataError { _ = try Translation.readTokens(file: bad) } == .invalidUTF8(path: bad.path, line: 3))
        }
    }

    @Test(.enabled(if: TestData.hasFra, "fra-eng/fra.txt is not in the data directory"))
    func fullSourceVocabularyHas10012Tokens() throws {
        let start = Date()
        let (source, target) = try Translation.readTokens(file: TestData.fra)
        let vocab = Translation.makeVocab(source)
        let seconds = Date().timeIntervalSince(start)
        #expect(source.count == 167_130 && target.count == 167_130)
        #expect(vocab.count == 10_012)
        // The book's check, with the full vocabulary: `go .` -> [47, 4] then padding.
        #expect(
            Translation.truncatePad(vocab.indices(source[0]), numSteps: 10, padding: vocab["<pad>"])
                == [47, 4, 1, 1, 1, 1, 1, 1, 1, 1])
        print("full fra.txt read + source vocabulary: \(String(format: "%.2f", seconds)) s")
    }

    @Test(.enabled(if: TestData.hasFra, "fra-eng/fra.txt is not in the data directory"))
    func sixHundredExamplesGiveTheBooksVocabularies() throws {
        let (source, target) = try Translation.readTokens(file: TestData.fra, numExamples: 600)
        #expect(source.count == 601)
        #expect(source[0] == ["go", "."] && target[0] == ["va", "!"])
        #expect(target[2] == ["cours", "!"])  // U+202F became a plain space
        let srcVocab = Translation.makeVocab(source), tgtVocab = Translation.makeVocab(target)
        #expect(srcVocab.count == 184)
        #expect(tgtVocab.count == 201)
        #expect(["<pad>", "<bos>", "<eos>"].map { srcVocab[$0] } == [1, 2, 3])
        // predict_seq2seq's source encoding of the book's test sentence "go .".
        let encoded = Translation.encodeSource("Go .", vocab: srcVocab, numSteps: 10)
        #expect(encoded.indices == [Int32(srcVocab["go"]), Int32(srcVocab["."]), 3, 1, 1, 1, 1, 1, 1, 1])
        #expect(encoded.validLength == 3)
        // The vocabularies survive a JSON round trip (checkpoint metadata).
        let stored = try JSONDecoder().decode(Vocab.self, from: JSONEncoder().encode(tgtVocab))
        #expect(stored == tgtVocab && stored.tokens([Int(stored["va"]), 3]) == ["va", "<eos>"])
    }

    @Test(.enabled(if: TestData.hasFra, "fra-eng/fra.txt is not in the data directory"))
    func booksDemoBatchRowsExist() throws {
        // load_data_nmt(batch_size=2, num_steps=8) printed X = [[7,43,4,3,1,1,1,1], [44,23,4,3,1,1,1,1]]
        // with Y valid lengths [5, 3]; the order is random, so look the rows up.
        let dataset = try Translation.loadDataset(file: TestData.fra, numSteps: 8)
        func targetLengths(ofSource row: [Int32]) -> Set<Int32> {
            Set((0..<dataset.count).filter { Array(dataset.src[$0 * 8..<($0 + 1) * 8]) == row }.map { dataset.tgtValidLen[$0] })
        }
        #expect(targetLengths(ofSource: [7, 43, 4, 3, 1, 1, 1, 1]).contains(5))
        #expect(targetLengths(ofSource: [44, 23, 4, 3, 1, 1, 1, 1]).contains(3))
    }

    @Test(.enabled(if: TestData.hasFra, "fra-eng/fra.txt is not in the data directory"))
    func loaderShufflesEveryEpochAndResumes() throws {
        var (loader, srcVocab, tgtVocab) = try Translation.loadData(batchSize: 64, numSteps: 10, file: TestData.fra, seed: 1)
        #expect(srcVocab.count == 184 && tgtVocab.count == 201)
        #expect(loader.batchesPerEpoch == 10)
        var firstEpoch: [TranslationBatch] = []
        while let batch = loader.next() { firstEpoch.append(batch) }
        #expect(firstEpoch.map(\.batchSize) == Array(repeating: 64, count: 9) + [25])
        let batch = firstEpoch[0]
        #expect(batch.src.count == 64 * 10 && batch.tgt.count == 64 * 10 && batch.srcValidLen.count == 64)
        for row in 0..<batch.batchSize {
            let src = batch.src[row * 10..<(row + 1) * 10]
            #expect(Int32(src.filter { $0 != 1 }.count) == batch.srcValidLen[row])
        }
        // Every pair exactly once per epoch.
        let rows = Set(
            firstEpoch.flatMap { b in (0..<b.batchSize).map { Array(b.src[$0 * 10..<($0 + 1) * 10] + b.tgt[$0 * 10..<($0 + 1) * 10]) } })
        #expect(rows.count <= 601 && firstEpoch.reduce(0) { $0 + $1.batchSize } == 601)

        let second = loader.next()
        #expect(second != nil && second != firstEpoch[0])
        let position = try JSONDecoder().decode(LoaderPosition.self, from: JSONEncoder().encode(loader.position))
        var resumed = try DataLoader(loader.dataset, batchSize: 64, shuffle: true, resumingFrom: position)
        for _ in 0..<15 { #expect(resumed.next() == loader.next()) }
    }

    @Test(.enabled(if: TestData.hasFra, "fra-eng/fra.txt is not in the data directory"))
    func malformedCopiesNameTheFileAndLine() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = Array(try byteLines(TestData.fra).prefix(50))

        let tabFile = try writeCopy(of: lines, changing: 6, to: "tab.txt", in: folder) { $0 += Array("\textra".utf8) }
        let tabError = dataError { _ = try Translation.readTokens(file: tabFile) }
        #expect(tabError == .wrongFieldCount(path: tabFile.path, line: 7, expected: 2, found: 3, separator: "a tab"))
        #expect(tabError?.description.contains("\(tabFile.path):7") == true)

        let utf8File = try writeCopy(of: lines, changing: 11, to: "utf8.txt", in: folder) { $0 = [0x47, 0x6F, 0xFF, 0x09, 0x56, 0x61] }
        let utf8Error = dataError { _ = try Translation.readTokens(file: utf8File) }
        #expect(utf8Error == .invalidUTF8(path: utf8File.path, line: 12))
        #expect(utf8Error?.description.contains("\(utf8File.path):12") == true)

        let empty = try write([], to: "empty.txt", in: folder)
        #expect(dataError { _ = try Translation.readTokens(file: empty) } == .emptyFile(path: empty.path))
        let missing = folder.appendingPathComponent("missing.txt")
        #expect(dataError { _ = try Translation.readTokens(file: missing) }?.description.contains(missing.path) == true)
    }
}
