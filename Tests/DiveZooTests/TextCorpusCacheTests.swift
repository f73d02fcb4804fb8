// Large texts (issue 26, part 5): a text's token file is made once and used again while the text
// is unchanged (the file is not rewritten), made anew when the text's size or modification time
// changes, and made anew, not trusted, when it is truncated or corrupt.
import DiveData
import DiveZoo
import Foundation
import Testing

@Suite struct TextCorpusCacheTests {
    static let text = String(repeating: "The cat sat on the mat. Le café est fermé; 中文 😀.\n", count: 40)

    /// A folder with story.txt and an empty cache folder.
    func setUp() throws -> (dir: URL, story: URL, cache: URL) {
        let dir = temporaryFile("textcache")
        let cache = dir.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let story = dir.appendingPathComponent("story.txt")
        try Data(Self.text.utf8).write(to: story)
        return (dir, story, cache)
    }

    /// Every text is cached (threshold 0) in `cache`.
    func corpus(_ url: URL, _ kind: TokenKind = .char, minFreq: Int? = nil, cache: URL) throws -> TextCorpus {
        try TextCorpusCache.corpus(reading: url, tokens: kind, minFreq: minFreq, folder: cache, threshold: 0)
    }

    /// The one token file in `cache`, and its inode and modification time (a new file has another inode).
    func tokenFile(_ cache: URL) throws -> (url: URL, inode: Int, modified: Date) {
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(names.count == 1 && names[0].hasSuffix(".tokens"), "\(names)")
        let url = cache.appendingPathComponent(names[0])
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (url, try #require(attributes[.systemFileNumber] as? Int), try #require(attributes[.modificationDate] as? Date))
    }

    func expectSame(_ a: TextCorpus, _ b: TextCorpus) {
        #expect(a.vocab == b.vocab && a.corpus == b.corpus && a.tokens == b.tokens && a.minFreq == b.minFreq && a.path == b.path)
    }

    @Test(arguments: [(TokenKind.char, 1), (.word, 2)])
    func theSecondRunReadsTheTokenFileAndAChangedTextIsReadAnew(_ kind: TokenKind, _ minFreq: Int) throws {
        let (dir, story, cache) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inMemory = try TextCorpus(reading: story, tokens: kind, minFreq: minFreq)
        let first = try corpus(story, kind, minFreq: minFreq, cache: cache)
        expectSame(first, inMemory)
        let made = try tokenFile(cache)
        Thread.sleep(forTimeInterval: 0.02)
        let second = try corpus(story, kind, minFreq: minFreq, cache: cache)
        expectSame(second, inMemory)
        let again = try tokenFile(cache)
        #expect(again.inode == made.inode && again.modified == made.modified, "a cache hit rewrote the token file")

        // Another size: read anew, into the same file name.
        try Data((Self.text + "A dog.\n").utf8).write(to: story)
        let grown = try corpus(story, kind, minFreq: minFreq, cache: cache)
        expectSame(grown, try TextCorpus(reading: story, tokens: kind, minFreq: minFreq))
        #expect(grown.corpus.count > first.corpus.count)
        let remade = try tokenFile(cache)
        #expect(remade.inode != made.inode)

        // The same bytes with another modification time: read anew.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: story.path)
        expectSame(try corpus(story, kind, minFreq: minFreq, cache: cache), grown)
        #expect(try tokenFile(cache).inode != remade.inode)
    }

    @Test func anotherTokenisationHasItsOwnFile() throws {
        let (dir, story, cache) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try corpus(story, .char, cache: cache)
        let words = try corpus(story, .word, cache: cache), rare = try corpus(story, .word, minFreq: 1, cache: cache)
        #expect(words.tokens == .word && words.minFreq == 2 && rare.minFreq == 1 && rare.corpus == words.corpus)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 3)
    }

    /// A token file cut short, or with a byte changed anywhere (header, vocabulary, ids, checksum),
    /// or replaced by other bytes, is not used: the text is read anew and the file rewritten.
    @Test func aTruncatedOrCorruptTokenFileIsMadeAnew() throws {
        let (dir, story, cache) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try corpus(story, cache: cache)
        let file = try tokenFile(cache).url
        let good = try Data(contentsOf: file)
        var damaged: [Data] = [
            good.prefix(good.count - 1), good.prefix(good.count - 20), good.prefix(10), Data(), Data(repeating: 7, count: 100)
        ]
        for offset in [0, 12, 24, 40, 70, good.count / 2, good.count - 12, good.count - 2] {
            var bytes = good
            bytes[offset] ^= 0x5A
            damaged.append(bytes)
        }
        for (k, bytes) in damaged.enumerated() {
            try bytes.write(to: file)
            let before = try tokenFile(cache).inode
            expectSame(try corpus(story, cache: cache), expected)
            #expect(try tokenFile(cache).inode != before, "damage \(k) was not noticed")
            #expect(try Data(contentsOf: file) == good, "damage \(k)")
        }
    }

    /// A text under the threshold stays in memory and writes nothing.
    @Test func aSmallTextIsNotCached() throws {
        let (dir, story, cache) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = try TextCorpusCache.corpus(reading: story, folder: cache)
        expectSame(small, try TextCorpus(reading: story))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty)
    }
}
