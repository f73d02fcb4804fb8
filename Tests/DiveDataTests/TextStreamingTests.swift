import Foundation
import Testing

// Large texts (issue 26, part 5): a text read in chunks, however small, tokenises as the whole
// text does at once (characters and words, with a minimum frequency), even where a chunk's end
// falls inside a UTF-8 sequence, a word or a CRLF; and its errors name the same line.
@testable import DiveData

@Suite struct TextStreamingTests {
    /// Two files of mixed text: 2-, 3- and 4-byte characters, CRLF, CR and LF, Unicode
    /// whitespace between words, no final line break in the second.
    static let files = [
        "Café déjà vu\r\nnaïve 中文 字符 😀 emoji\rend of line\n\nthe the cafe\u{3000}café\u{A0}x\n",
        "tail 😀😀 déjà\r\n\r\nlast words the end"
    ]

    /// The tokens of the whole text at once, the way the colleague's reader split it: lines on
    /// CRLF, CR or LF joined by "\n" (no final line break), files joined by "\n"; or words.
    static func reference(_ kind: TokenKind) -> [String] {
        let texts = files.map { text -> String in
            var lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            if lines.hasSuffix("\n") { lines.removeLast() }
            return lines
        }
        switch kind {
        case .char: return texts.joined(separator: "\n").unicodeScalars.map { String($0) }
        case .word: return texts.flatMap(splitOnWhitespace)
        }
    }

    func folder() throws -> URL {
        let dir = try makeTemporaryDirectory("textstreaming")
        for (k, text) in Self.files.enumerated() { try Data(text.utf8).write(to: dir.appendingPathComponent("part\(k).txt")) }
        return dir
    }

    @Test(arguments: [(TokenKind.char, 1), (.char, 3), (.word, 1), (.word, 2)])
    func tinyChunksTokeniseAsTheWholeText(_ kind: TokenKind, _ minFreq: Int) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokens = Self.reference(kind)
        let vocab = Vocab(tokens, minFreq: minFreq)
        let expected = tokens.map { Int32(vocab[$0]) }
        for chunk in [1, 2, 3, 5, 7, 64, TextScanner.defaultChunkSize] {
            let text = try TextTokenizer(reading: dir, tokens: kind, minFreq: minFreq, chunkSize: chunk, progress: nil)
            #expect(text.vocab == vocab && text.count == expected.count, "chunks of \(chunk)")
            let corpus = try TextCorpus(text)
            #expect(Array(corpus.corpus) == expected, "chunks of \(chunk)")
        }
        #expect(Array(try TextCorpus(reading: dir, tokens: kind, minFreq: minFreq).corpus) == expected)
    }

    /// A NUL byte or invalid UTF-8 names its line whatever the chunk size, and a NUL later on the
    /// line of invalid UTF-8 still says binary.
    @Test func errorsNameTheirLineAcrossChunks() throws {
        let dir = try makeTemporaryDirectory("textstreaming")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [([UInt8], String)] = [
            (Array("one\r\ntwo\rcafé ".utf8) + [0xC3] + Array("\nfour".utf8), ":3: invalid UTF-8"),
            (Array("one\nt€".utf8) + [0xE2, 0x82], ":2: invalid UTF-8"),  // cut short at the end
            (Array("a\n\n".utf8) + [0xF0, 0x9F, 0x98] + Array("x".utf8), ":3: invalid UTF-8"),
            (Array("a\nb".utf8) + [0xFF, 0x41, 0x00], ":2: a NUL byte"),
            (Array("a\r\nb\r\n\0".utf8), ":3: a NUL byte")
        ]
        for (k, (bytes, message)) in cases.enumerated() {
            let url = dir.appendingPathComponent("bad\(k).txt")
            try Data(bytes).write(to: url)
            for chunk in [1, 2, 3, 4, 1024] {
                let error = try #require(throws: DataError.self) {
                    try TextTokenizer(reading: url, tokens: .char, minFreq: 1, chunkSize: chunk, progress: nil)
                }
                #expect(error.description.hasPrefix(url.path + message), "chunks of \(chunk): \(error.description)")
            }
        }
    }

    /// Progress comes once a chunk with the bytes read so far, up to the total.
    @Test func progressCountsTheBytesOfEachPass() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var seen: [TextProgress] = []
        let text = try TextTokenizer(reading: dir, tokens: .char, minFreq: 1, chunkSize: 16) { seen.append($0) }
        _ = try TextCorpus(text) { seen.append($0) }
        let total = Self.files.reduce(0) { $0 + $1.utf8.count }
        #expect(text.totalBytes == total)
        for pass in [1, 2] {
            let read = seen.filter { $0.pass == pass }.map(\.bytesRead)
            #expect(read.count > total / 16 && read == read.sorted() && read.last == total, "pass \(pass): \(read)")
        }
    }
}
