import DiveData
// VocabTests.swift: the book's Vocab ordering, min_freq, reserved tokens, unknown lookups and Codable.
import Foundation
import Testing

@Suite struct VocabTests {
    @Test func frequencyOrderWithFirstSeenTies() {
        // b: 3, a: 2, c: 2 (c seen after a), d: 1.
        let vocab = Vocab([["a", "b", "c"], ["b", "a", "c", "b", "d"]], reservedTokens: ["<pad>"])
        #expect(vocab.idxToToken == ["<unk>", "<pad>", "b", "a", "c", "d"])
        #expect(vocab["b"] == 2)
        #expect(vocab["zzz"] == 0)
        #expect(vocab.unknownIndex == 0)
        #expect(vocab.tokens([2, 3, 99]) == ["b", "a", "<unk>"])
        #expect(vocab.tokenFrequencies.first == TokenCount(token: "b", count: 3))
    }

    @Test func minFreqDropsRareTokens() {
        let vocab = Vocab(["x", "y", "x", "z", "y", "x"], minFreq: 2, reservedTokens: ["<pad>", "<bos>", "<eos>"])
        #expect(vocab.idxToToken == ["<unk>", "<pad>", "<bos>", "<eos>", "x", "y"])
        #expect(vocab["z"] == 0)
        #expect(!vocab.contains("z"))
    }

    @Test func unknownInTheCorpusIsNotDuplicated() {
        let vocab = Vocab(["<unk>", "a", "<unk>"])
        #expect(vocab.idxToToken == ["<unk>", "a"])
    }

    @Test func alphabeticalOrderOfTheEnglishEdition() {
        let vocab = Vocab(["b", " ", "a", "b"], ordering: .alphabetical)
        #expect(vocab.idxToToken == [" ", "<unk>", "a", "b"])
        #expect(vocab.unknownIndex == 1)
        #expect(vocab["q"] == 1)
    }

    @Test func codableRoundTrip() throws {
        let vocab = Vocab(["b", " ", "a", "b"], ordering: .alphabetical)
        let json = try JSONEncoder().encode(vocab)
        let decoded = try JSONDecoder().decode(Vocab.self, from: json)
        #expect(decoded == vocab)
        #expect(decoded["a"] == vocab["a"])
        #expect(decoded["missing"] == 1)
    }

    @Test func tokenizeWordsAndCharacters() {
        #expect(tokenize(["  the time\tmachine  "], as: .word) == [["the", "time", "machine"]])
        #expect(tokenize(["ab c", ""], as: .char) == [["a", "b", " ", "c"], []])
        #expect(tokenize(["é"], as: .char) == [["é"]])
    }

    @Test func ngramCounts() {
        let counts = ngramFrequencies(["a", "b", "a", "b", "c"], n: 2)
        #expect(counts.first == NGramCount(tokens: ["a", "b"], count: 2))
        #expect(counts.count == 3)
    }
}
