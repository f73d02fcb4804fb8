import DiveData
// TimeMachineTests.swift: the book's printed figures for The Time Machine (sections 8.2-8.3).
import Foundation
import Testing

@Suite(.enabled(if: TestData.hasTimeMachine, "timemachine.txt is not in the data directory"))
struct TimeMachineTests {
    @Test func readsTheBooksLines() throws {
        let lines = try TimeMachine.readLines(file: TestData.timeMachine)
        #expect(lines.count == 3221)
        #expect(lines[0] == "the time machine by h g wells")
        #expect(lines[10] == "twinkled and his usually pale face was flushed and animated the")
    }

    @Test func characterCorpusIs170580TokensWithVocabulary28() throws {
        let (corpus, vocab) = try TimeMachine.loadCorpus(file: TestData.timeMachine)
        #expect(corpus.count == 170_580)
        #expect(vocab.count == 28)
        #expect(vocab.idxToToken.prefix(6) == ["<unk>", " ", "e", "t", "a", "i"])
        // Lines are joined with no separator: the first line runs into the second.
        let head = vocab.tokens(corpus.prefix(40)).joined()
        #expect(head == "the time machine by h g wellsithe time t")
        let limited = try TimeMachine.loadCorpus(file: TestData.timeMachine, maxTokens: 10_000)
        #expect(limited.corpus.count == 10_000)
        #expect(limited.vocab == vocab)
    }

    @Test func englishEditionCorpus() throws {
        let (corpus, vocab) = try TimeMachine.loadCorpus(file: TestData.timeMachine, edition: .en)
        #expect(corpus.count == 173_428)
        #expect(vocab.count == 28)
        #expect(vocab.idxToToken.prefix(3) == [" ", "<unk>", "a"])
    }

    @Test func wordVocabularyStartsTheIAnd() throws {
        let tokens = tokenize(try TimeMachine.readLines(file: TestData.timeMachine), as: .word)
        let vocab = Vocab(tokens)
        #expect(
            vocab.tokenFrequencies.prefix(3) == [
                TokenCount(token: "the", count: 2261), TokenCount(token: "i", count: 1267), TokenCount(token: "and", count: 1245)
            ])
        #expect(vocab.idxToToken[1...3] == ["the", "i", "and"])
    }

    @Test func topBigramAndTrigram() throws {
        let words = Array(tokenize(try TimeMachine.readLines(file: TestData.timeMachine), as: .word).joined())
        #expect(ngramFrequencies(words, n: 2).first == NGramCount(tokens: ["of", "the"], count: 309))
        #expect(ngramFrequencies(words, n: 3).first == NGramCount(tokens: ["the", "time", "traveller"], count: 59))
    }

    @Test(arguments: [false, true])
    func zhDefaultsGiveEightMinibatchesPerEpoch(useRandomIter: Bool) throws {
        for seed in UInt64(0)..<5 {
            var (loader, vocab) = try TimeMachine.loadData(
                batchSize: 32, numSteps: 35, useRandomIter: useRandomIter,
                file: TestData.timeMachine, seed: seed)
            #expect(vocab.count == 28)
            for _ in 0..<3 {
                var batches = 0
                while let batch = loader.next() {
                    #expect(batch.x.count == 32 * 35 && batch.y.count == 32 * 35)
                    batches += 1
                }
                #expect(batches == 8)
            }
        }
    }
}

/// The cleaning rules themselves need no data.
@Suite struct TimeMachineCleaningTests {
    @Test func cleaningMatchesTheRegex() {
        #expect(TimeMachine.cleanLine("  The Time-Traveller (for so...)\n") == "the time traveller for so")
        #expect(TimeMachine.cleanLine("café, naïve!") == "caf na ve")
        #expect(TimeMachine.cleanLine("--") == "")
        #expect(TimeMachine.cleanWholeText("Hi,\nyou.\n") == "hi you ")
    }
}
