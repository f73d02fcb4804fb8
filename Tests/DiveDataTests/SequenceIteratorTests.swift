import DiveData
// SequenceIteratorTests.swift: shapes and continuity of the random and sequential iterators
// (section 8.3), fresh offsets each epoch, and exact resumption from a stored position.
import Foundation
import Testing

@Suite struct SequenceIteratorTests {
    /// A corpus whose tokens equal their positions, so batch contents reveal where they came from.
    static let corpus = (0..<1000).map { Int32($0) }

    @Test func bookDemoHasThreeMinibatches() throws {
        // The book's demo: list(range(35)), batch_size 2, num_steps 5.
        let demo = (0..<35).map { Int32($0) }
        for seed in UInt64(0)..<20 {
            var random = try SequenceDataLoader(corpus: demo, batchSize: 2, numSteps: 5, partitioning: .random, seed: seed)
            var sequential = try SequenceDataLoader(corpus: demo, batchSize: 2, numSteps: 5, partitioning: .sequential, seed: seed)
            var randomCount = 0, sequentialCount = 0
            while random.next() != nil { randomCount += 1 }
            while sequential.next() != nil { sequentialCount += 1 }
            #expect(randomCount == 3)
            #expect(sequentialCount == 2 || sequentialCount == 3)  // 3 unless the offset is 5
        }
    }

    @Test func randomSamplingShiftsTargetsAndNeverOverlaps() throws {
        var loader = try SequenceDataLoader(corpus: Self.corpus, batchSize: 4, numSteps: 7, partitioning: .random, seed: 11)
        var starts: [Int32] = []
        while let batch = loader.next() {
            #expect(batch.batchSize == 4 && batch.numSteps == 7)
            for row in 0..<4 {
                let x = batch.xRow(row), y = batch.yRow(row)
                #expect(Array(y) == x.map { $0 + 1 })  // Y is X shifted by one
                #expect(Array(x) == Array(x.first!..<x.first! + 7))  // contiguous in the corpus
                starts.append(x.first!)
            }
        }
        let sorted = starts.sorted()
        #expect(Set(starts).count == starts.count)
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 >= 7 })  // non-overlapping
        #expect(Set(sorted.map { $0 % 7 }).count == 1)  // one offset per epoch
        #expect(starts != sorted)  // shuffled
        #expect(starts.count == (1000 - Int(sorted[0]) - 1) / 7 / 4 * 4)
    }

    @Test func sequentialMinibatchesContinueEachRow() throws {
        var loader = try SequenceDataLoader(corpus: Self.corpus, batchSize: 4, numSteps: 7, partitioning: .sequential, seed: 5)
        var previous: TokenBatch? = nil
        var count = 0
        let expected = loader.batchesPerEpoch
        while let batch = loader.next() {
            for row in 0..<4 {
                #expect(Array(batch.yRow(row)) == batch.xRow(row).map { $0 + 1 })
                if let previous {
                    #expect(batch.xRow(row).first! == previous.xRow(row).last! + 1)
                }
            }
            previous = batch
            count += 1
        }
        #expect(count == expected)
        #expect(count == (1000 - Int(previous!.x[0]) % 7 - 1) / 4 / 7 || count >= 34)
    }

    @Test(arguments: [SequencePartitioning.random, .sequential])
    func eachEpochDrawsANewOffset(partitioning: SequencePartitioning) throws {
        var loader = try SequenceDataLoader(corpus: Self.corpus, batchSize: 2, numSteps: 10, partitioning: partitioning, seed: 1)
        var offsets = Set<Int32>()
        for epoch in 0..<30 {
            #expect(loader.position.epoch == epoch)
            var first: Int32 = .max
            while let batch = loader.next() { first = min(first, batch.x.min()!) }
            offsets.insert(first % 10)
        }
        #expect(offsets.count > 1)
    }

    @Test(arguments: [SequencePartitioning.random, .sequential])
    func resumesExactlyFromAStoredPosition(partitioning: SequencePartitioning) throws {
        var original = try SequenceDataLoader(corpus: Self.corpus, batchSize: 3, numSteps: 8, partitioning: partitioning, seed: 99)
        // Run one and a half epochs, store the position as JSON, then compare what follows.
        while original.next() != nil {}
        for _ in 0..<3 { _ = original.next() }
        let saved = try JSONEncoder().encode(original.position)
        let position = try JSONDecoder().decode(LoaderPosition.self, from: saved)
        #expect(position.epoch == 1 && position.batchIndex == 3)
        var resumed = try SequenceDataLoader(
            corpus: Self.corpus, batchSize: 3, numSteps: 8, partitioning: partitioning,
            resumingFrom: position)
        for _ in 0..<40 { #expect(resumed.next() == original.next()) }
    }

    @Test func sameSeedSameBatches() throws {
        var a = try SequenceDataLoader(corpus: Self.corpus, batchSize: 2, numSteps: 5, partitioning: .random, seed: 3)
        var b = try SequenceDataLoader(corpus: Self.corpus, batchSize: 2, numSteps: 5, partitioning: .random, seed: 3)
        var c = try SequenceDataLoader(corpus: Self.corpus, batchSize: 2, numSteps: 5, partitioning: .random, seed: 4)
        let first = a.next()
        #expect(first == b.next())
        #expect(first != c.next())
    }

    @Test func tooShortCorpusIsAnError() {
        #expect(throws: DataError.self) {
            try SequenceDataLoader(corpus: [1, 2, 3], batchSize: 2, numSteps: 5, partitioning: .sequential)
        }
        #expect(throws: DataError.self) {
            try SequenceDataLoader(corpus: Self.corpus, batchSize: 0, numSteps: 5, partitioning: .random)
        }
    }
}
