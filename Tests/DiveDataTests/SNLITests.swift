import DiveData
// SNLITests.swift: reading the SNLI sample files (.txt and .jsonl), the book's cleaning and
// labels, the dataset's vocabulary and padding, and malformed copies naming file and line.
import Foundation
import Testing

@Suite(.enabled(if: TestData.hasSNLI, "snli_1.0_sample is not in the data directory"))
struct SNLITests {
    static let devText = TestData.url("snli_1.0_sample/snli_1.0_dev.txt")

    @Test func readsTheTabSeparatedSample() throws {
        let examples = try SNLI.read(file: Self.devText)
        #expect(examples.count == 10)
        #expect(examples.premises[0] == "Two women are embracing while holding to go packages .")
        #expect(examples.hypotheses[0] == "The sisters are hugging goodbye while holding to go packages after just eating lunch .")
        #expect(examples.labels[0] == .neutral && examples.labels[1] == .entailment)
        #expect(examples.labelCounts == [4, 3, 3])
        let test = try SNLI.read(file: TestData.url("snli_1.0_sample/snli_1.0_test.txt"))
        #expect(test.labelCounts == [3, 3, 4])
    }

    @Test func jsonLinesGiveTheSameExamples() throws {
        let fromJSON = try SNLI.read(file: TestData.url("snli_1.0_sample/snli_1.0_dev.jsonl"))
        #expect(fromJSON == (try SNLI.read(file: Self.devText)))
        // The sample has no train .txt, so the folder reader falls back to the .jsonl file.
        let train = try SNLI.read(directory: TestData.snliSample, split: .train)
        #expect(train.count == 10 && train.premises[0] == "A person on a horse jumps over a broken down airplane .")
    }

    @Test func dropsExamplesWithoutAGoldLabel() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try writeCopy(of: byteLines(Self.devText), changing: 1, to: "snli_1.0_dev.txt", in: folder) { line in
            line = Array("-".utf8) + line.drop { $0 != UInt8(ascii: "\t") }
        }
        let examples = try SNLI.read(file: file)
        #expect(examples.count == 9)
        #expect(examples.labels[0] == .entailment)
    }

    @Test func datasetBuildsTheVocabularyAndPadsTo50() throws {
        let examples = try SNLI.read(file: Self.devText)
        let dataset = SNLIDataset(examples, numSteps: 50)
        #expect(dataset.vocab.idxToToken.prefix(2) == ["<unk>", "<pad>"])
        // min_freq 5: only words seen five times or more across premises and hypotheses.
        let counts = countTokens(tokenize(examples.premises + examples.hypotheses, as: .word).joined())
        #expect(dataset.vocab.count == 2 + counts.filter { $0.count >= 5 }.count)
        #expect(dataset.premises.count == 10 * 50 && dataset.hypotheses.count == 10 * 50)
        #expect(dataset.labels == examples.labels.map { Int32($0.rawValue) })
        let firstPremise = Array(dataset.premises[0..<50])
        let words = examples.premises[0].split(separator: " ").count
        #expect(firstPremise[words...].allSatisfy { $0 == 1 })
        #expect(firstPremise[..<words].allSatisfy { $0 != 1 })
        #expect(dataset.vocab["Two"] != dataset.vocab["two"] || dataset.vocab["Two"] == 0)  // case is kept
    }

    @Test func loadDataGivesShuffledTrainAndOrderedTest() throws {
        var (train, test, vocab) = try SNLI.loadData(batchSize: 4, numSteps: 50, directory: TestData.snliSample, seed: 2)
        #expect(vocab == train.dataset.vocab && test.dataset.vocab == vocab)
        #expect(train.batchesPerEpoch == 3 && test.batchesPerEpoch == 3)
        let next = test.next()
        let first = try #require(next)
        #expect(first.batchSize == 4 && first.premises.count == 200 && first.labels == [2, 0, 1, 2])
        var sizes: [Int] = []
        while let batch = train.next() { sizes.append(batch.batchSize) }
        #expect(sizes == [4, 4, 2])
    }

    @Test func malformedCopiesNameTheFileAndLine() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = try byteLines(Self.devText)

        let tabFile = try writeCopy(of: lines, changing: 3, to: "tab.txt", in: folder) { line in
            line = Array(
                line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
                    .dropLast().joined(separator: [UInt8(ascii: "\t")]))
        }
        let tabError = dataError { _ = try SNLI.read(file: tabFile) }
        #expect(tabError == .wrongFieldCount(path: tabFile.path, line: 4, expected: 14, found: 13, separator: "tabs"))
        #expect(tabError?.description.contains("\(tabFile.path):4") == true)

        let utf8File = try writeCopy(of: lines, changing: 5, to: "utf8.txt", in: folder) { line in
            line.insert(contentsOf: [0xC3, 0x28], at: 20)  // a lead byte without its continuation
        }
        #expect(dataError { _ = try SNLI.read(file: utf8File) } == .invalidUTF8(path: utf8File.path, line: 6))

        let badHeader = try writeCopy(of: lines, changing: 0, to: "header.txt", in: folder) {
            $0 = Array("label\tpremise\thypothesis".utf8)
        }
        #expect(dataError { _ = try SNLI.read(file: badHeader) }?.description.contains("\(badHeader.path):1") == true)

        let jsonLines = try byteLines(TestData.url("snli_1.0_sample/snli_1.0_dev.jsonl"))
        let jsonFile = try writeCopy(of: jsonLines, changing: 2, to: "bad.jsonl", in: folder) { $0 = Array($0.prefix(40)) }
        let jsonError = dataError { _ = try SNLI.read(file: jsonFile) }
        #expect(jsonError == .malformedLine(path: jsonFile.path, line: 3, reason: "not a JSON object"))

        let noField = try write(Array("{\"gold_label\": \"neutral\"}\n".utf8), to: "field.jsonl", in: folder)
        #expect(dataError { _ = try SNLI.read(file: noField) }?.description.contains("\(noField.path):1") == true)

        let empty = try write([], to: "empty.txt", in: folder)
        #expect(dataError { _ = try SNLI.read(file: empty) } == .emptyFile(path: empty.path))
        #expect(throws: DataError.self) { try SNLI.read(directory: folder, split: .test) }
    }
}

/// The parse-column cleaning needs no data.
@Suite struct SNLICleaningTests {
    @Test func extractTextRemovesParenthesesAndCollapsesSpaces() {
        #expect(SNLI.extractText("( ( Two women ) ( ( are ( embracing ) ) . ) )") == "Two women are embracing .")
        #expect(SNLI.extractText("  (a)  b\t c ") == "a b c")  // a tab and a space are a run of two
        #expect(SNLI.extractText("(a b\tc)") == "a b\tc")  // a single tab stays
    }
}
