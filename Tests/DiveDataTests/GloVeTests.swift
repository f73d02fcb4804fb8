import DiveData
// GloVeTests.swift: the GloVe text reader on the 2445-line sample, hand-made files of other
// widths, and malformed copies naming file and line.
import Foundation
import Testing

@Suite struct GloVeTests {
    @Test(.enabled(if: TestData.hasGloVe, "the GloVe sample is not in the data directory"))
    func readsTheSample() throws {
        let glove = try TokenEmbedding(contentsOf: TestData.glove)
        #expect(glove.dimension == 50)
        #expect(glove.count == 2446)  // 2445 words + <unk>
        #expect(glove.idxToToken[0] == "<unk>" && glove.idxToToken[1] == "the")
        let the = Array(glove.vector(for: "the"))
        #expect(the.count == 50)
        #expect(the[0] == Float(0.418) && the[1] == Float(0.24968) && the[49] == Float(-0.78581))
        #expect(glove.vector(for: "no-such-word").allSatisfy { $0 == 0 })
        #expect(glove.vector(for: "The").allSatisfy { $0 == 0 })  // keys are lower case; lookups are exact
        // The sample was re-encoded as Windows-1252: line 218's token is an en dash.
        #expect(glove.idxToToken[218] == "\u{2013}")
        let matrix = glove.embeddingMatrix(for: Vocab(["the", "Zebra", "the"], reservedTokens: ["<pad>"]))
        #expect(matrix.count == 4 * 50)
        #expect(Array(matrix[100..<150]) == the)  // <unk>, <pad>, the, Zebra
        #expect(matrix[0..<100].allSatisfy { $0 == 0 } && matrix[150...].allSatisfy { $0 == 0 })
    }

    @Test(.enabled(if: TestData.hasGloVe, "the GloVe sample is not in the data directory"))
    func strictModeRejectsTheSamplesWindows1252Bytes() {
        let error = dataError { _ = try TokenEmbedding(contentsOf: TestData.glove, invalidUTF8: .reject) }
        #expect(error == .invalidUTF8(path: TestData.glove.path, line: 218))
    }

    @Test func anyDimensionAndAHeaderLine() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try write(Array("3 2\nhello 1 2.5\n\nworld -1e-3 4\nhello 7 8\n".utf8), to: "vec.txt", in: folder)
        let glove = try TokenEmbedding(contentsOf: file)
        #expect(glove.dimension == 2)
        #expect(glove.idxToToken == ["<unk>", "hello", "world", "hello"])
        #expect(Array(glove.vector(for: "hello")) == [7, 8])  // the last duplicate wins, as in a dict
        #expect(glove.vectors(for: ["world", "x"]) == [-0.001, 4, 0, 0])
    }

    @Test(.enabled(if: TestData.hasGloVe, "the GloVe sample is not in the data directory"))
    func malformedCopiesNameTheFileAndLine() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = Array(try byteLines(TestData.glove).prefix(20))

        let shortFile = try writeCopy(of: lines, changing: 6, to: "short.txt", in: folder) { line in
            line = Array(line.split(separator: UInt8(ascii: " ")).dropLast().joined(separator: [UInt8(ascii: " ")]))
        }
        let shortError = dataError { _ = try TokenEmbedding(contentsOf: shortFile) }
        #expect(
            shortError
                == .wrongFieldCount(
                    path: shortFile.path, line: 7, expected: 51, found: 50,
                    separator: "single spaces (a token and 50 numbers)"))
        #expect(shortError?.description.contains("\(shortFile.path):7") == true)

        let numberFile = try writeCopy(of: lines, changing: 9, to: "number.txt", in: folder) { $0 += Array("x".utf8) }
        #expect(dataError { _ = try TokenEmbedding(contentsOf: numberFile) }?.description.contains("\(numberFile.path):10") == true)

        let tokenFile = try writeCopy(of: lines, changing: 3, to: "token.txt", in: folder) { $0[0] = 0xFF }
        #expect(
            dataError { _ = try TokenEmbedding(contentsOf: tokenFile, invalidUTF8: .reject) }
                == .invalidUTF8(path: tokenFile.path, line: 4))

        let empty = try write([], to: "empty.txt", in: folder)
        #expect(dataError { _ = try TokenEmbedding(contentsOf: empty) } == .emptyFile(path: empty.path))
    }
}
