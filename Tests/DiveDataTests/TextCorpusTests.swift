// A text of one's own as a corpus (`dive train <lm> --text`): a file or a folder of .txt files in
// name order, characters or words, the minimum frequency, and one-line errors naming the file
// (and line) for text that cannot be trained on.
import DiveData
import Foundation
import Testing

@Suite struct TextCorpusTests {
    func write(_ text: String, _ name: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func tokens(_ c: TextCorpus) -> [String] { c.vocab.tokens(c.corpus) }

    @Test func charactersKeepLineBreaksAndCRLFBecomesOneNewline() throws {
        let dir = try makeTemporaryDirectory("textcorpus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try TextCorpus(reading: try write("ab\r\nba\n", "a.txt", in: dir))
        #expect(tokens(c) == ["a", "b", "\n", "b", "a"])
        #expect(c.tokens == .char && c.minFreq == 1 && c.vocab.count == 4)  // <unk>, a, b, \n
    }

    @Test func aFolderIsItsTxtFilesInNameOrderJoinedByANewline() throws {
        let dir = try makeTemporaryDirectory("textcorpus")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try write("cd\n", "b.txt", in: dir)
        _ = try write("ab", "a.txt", in: dir)
        _ = try write("zz", "notes.md", in: dir)
        _ = try write("zz", ".hidden.txt", in: dir)
        #expect(tokens(try TextCorpus(reading: dir)) == ["a", "b", "\n", "c", "d"])
        #expect(tokens(try TextCorpus(reading: dir, tokens: .word, minFreq: 1)) == ["ab", "cd"])
    }

    @Test func wordsBelowTheMinimumFrequencyReadAsUnknown() throws {
        let dir = try makeTemporaryDirectory("textcorpus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try write("the cat  the dog\nthe cat sat\n", "w.txt", in: dir)
        let c = try TextCorpus(reading: url, tokens: .word)
        #expect(TextCorpus.defaultMinFreq(.word) == 2 && c.minFreq == 2)
        #expect(c.vocab.idxToToken == ["<unk>", "the", "cat"])
        #expect(tokens(c) == ["the", "cat", "the", "<unk>", "the", "cat", "<unk>"])
    }

    /// Each bad text is a `DataError` whose one-line message names the file (and the line).
    @Test func textThatCannotBeTrainedOnIsAOneLineErrorNamingTheFile() throws {
        let dir = try makeTemporaryDirectory("textcorpus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = try write("", "empty.txt", in: dir)
        let folder = dir.appendingPathComponent("nothing")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        _ = try write("not a text", "readme.md", in: folder)
        let binary = dir.appendingPathComponent("binary.txt")
        try Data([0x7f, 0x45, 0x4c, 0x46, 0x0a, 0x02, 0x00, 0x01]).write(to: binary)
        let latin1 = dir.appendingPathComponent("latin1.txt")
        try Data(Array("one\ntwo\ncaf".utf8) + [0xe9] + Array("\nfour\n".utf8)).write(to: latin1)
        let oneSymbol = try write("aaaa\n", "a.txt", in: dir)
        let spaces = try write("  \n \t\n", "spaces.txt", in: dir)
        let cases: [(URL, TokenKind, String)] = [
            (empty, .char, "\(empty.path): the file is empty"), (folder, .char, "\(folder.path): the folder has no .txt files"),
            (binary, .char, "\(binary.path):2: a NUL byte"), (latin1, .char, "\(latin1.path):3: invalid UTF-8"),
            (oneSymbol, .char, "\(oneSymbol.path): its vocabulary has one symbol"),
            (spaces, .word, "\(spaces.path): no words to learn"),
            (dir.appendingPathComponent("missing.txt"), .char, "missing.txt: no such file or folder")
        ]
        for (url, kind, message) in cases {
            let error = try #require(throws: DataError.self) { try TextCorpus(reading: url, tokens: kind) }
            #expect(error.description.contains(message), "\(error.description)")
            #expect(!error.description.contains("\n"), "\(error.description)")
        }
        // A word seen once is <unk> with the words' default: a text of one repeated word and rare ones has one symbol.
        let rare = try write("go go go stop wait\n", "rare.txt", in: dir)
        let error = try #require(throws: DataError.self) { try TextCorpus(reading: rare, tokens: .word, minFreq: 4) }
        #expect(error.description.contains("lower --min-freq"), "\(error.description)")
    }
}
