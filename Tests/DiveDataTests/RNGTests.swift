import DiveData
// RNGTests.swift: DataRNG is deterministic, resumable, uniform and Gaussian where it should be.
import Foundation
import Testing

@Suite struct RNGTests {
    @Test func sameSeedSameStream() {
        var a = DataRNG(seed: 42), b = DataRNG(seed: 42), c = DataRNG(seed: 43)
        let streamA = (0..<10).map { _ in a.next() }
        #expect(streamA == (0..<10).map { _ in b.next() })
        #expect(streamA != (0..<10).map { _ in c.next() })
    }

    @Test func codableStateResumesTheStream() throws {
        var rng = DataRNG(seed: 7)
        _ = rng.gaussian()  // leaves a spare Box-Muller value in the state
        let saved = try JSONEncoder().encode(rng)
        var restored = try JSONDecoder().decode(DataRNG.self, from: saved)
        #expect(restored == rng)
        for _ in 0..<5 { #expect(restored.gaussian() == rng.gaussian()) }
        for _ in 0..<5 { #expect(restored.next() == rng.next()) }
    }

    @Test func integersStayInRangeAndCoverIt() {
        var rng = DataRNG(seed: 1)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let value = rng.nextInt(in: 0...35)
            #expect((0...35).contains(value))
            seen.insert(value)
        }
        #expect(seen.count == 36)
        for _ in 0..<1000 {
            let d = rng.nextDouble()
            #expect(d >= 0 && d < 1)
        }
    }

    @Test func gaussianMoments() {
        var rng = DataRNG(seed: 3)
        let samples = (0..<100_000).map { _ in rng.gaussian(mean: 1, std: 0.5) }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(samples.count)
        #expect(abs(mean - 1) < 0.01)
        #expect(abs(variance.squareRoot() - 0.5) < 0.01)
    }

    @Test func shuffleIsAPermutation() {
        var rng = DataRNG(seed: 9)
        let permutation = rng.permutation(100)
        #expect(permutation.sorted() == Array(0..<100))
        #expect(permutation != Array(0..<100))
    }
}
