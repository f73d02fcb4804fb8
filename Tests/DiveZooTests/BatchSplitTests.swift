// A minibatch split across the CPU's cores (`BatchSplit`) computes what the whole minibatch does:
// for seq2seq and the Transformer in training mode (dropout on), the shards' summed losses and
// gradients equal those of one forward and backward over all 64 rows, within Float32 rounding.
// The dropout masks must be the whole minibatch's for that to hold.
import Dive
import DiveData
import DiveNN
import Foundation
import Testing

@testable import DiveZoo

@Suite struct BatchSplitTests {
    static let recipes: [any TranslationRecipe] = [Seq2SeqRecipe(), TransformerRecipe()]

    /// The recipe's task with seed 7 on the CPU, and a minibatch of 64 rows.
    static func task(_ recipe: any TranslationRecipe) throws -> (TranslationTask, TranslationBatch) {
        let data = try Translation.loadDataset(file: testDataDirectory.locate(.fraEng), numSteps: recipe.numSteps, numExamples: 600)
        let task = try TranslationTask(
            recipe: recipe.name, config: recipe.modelConfig(.zh, srcVocab: data.srcVocab.count, tgtVocab: data.tgtVocab.count),
            dataset: data, hyper: recipe.defaults(.zh), on: CPUBackend.shared, seed: 7)
        return (task, data.batch(Array(stride(from: 3, to: 600, by: 9).prefix(64))))
    }

    @Test(arguments: [0, 1])
    func shardsSumToTheWholeMinibatch(recipe index: Int) throws {
        let recipe = Self.recipes[index]
        let (whole, batch) = try Self.task(recipe)
        #expect(batch.batchSize == 64)
        let loss = try whole.loss(batch, globalRows: 64).loss
        try loss.backward()
        let expected = try whole.model.parameters.map { try #require($0.grad).toArray() }

        let (sharded, _) = try Self.task(recipe)
        let split = try #require(try BatchSplit.make(sharded, on: CPUBackend.shared))
        let outs = try split.forwardBackward(batch, rows: 0..<64)
        #expect(outs.count == 2 && split.shards == 2)
        let summed = try outs.reduce(0.0) { $0 + Double(try $1.loss.item()) }
        let unsplit = Double(try loss.item())
        #expect(abs(summed - unsplit) <= 1e-5 * abs(summed), "\(recipe.name): shards \(summed), whole \(unsplit)")
        #expect(sharded.model.randomStream.offset == whole.model.randomStream.offset, "the stream advances as for the whole minibatch")
        for ((name, p), want) in zip(sharded.model.namedParameters(), expected) {
            let got = try #require(p.grad).toArray()
            let diff = zip(got, want).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let norm = want.reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(
                (diff / max(norm, 1e-30)).squareRoot() <= 1e-5,
                "\(recipe.name) \(name): relative L2 \((diff / max(norm, 1e-30)).squareRoot())")
        }
    }

    @Test func shardsAreFixedByTheRows() {
        #expect(BatchSplit<TranslationTask>.shards(of: 0..<64) == [0..<32, 32..<64])
        #expect(BatchSplit<TranslationTask>.shards(of: 0..<63) == [0..<31, 31..<63])
        // An epoch's last, short minibatch: two halves of 8 rows or more, else one shard.
        #expect(BatchSplit<TranslationTask>.shards(of: 0..<25) == [0..<12, 12..<25])
        #expect(BatchSplit<TranslationTask>.shards(of: 0..<16) == [0..<8, 8..<16])
        #expect(BatchSplit<TranslationTask>.shards(of: 0..<15) == [0..<15])
        #expect(BatchSplit<TranslationTask>.shards(of: 10..<107) == [10..<42, 42..<74, 74..<107])
        #expect(BatchSplit<TranslationTask>.shards(of: 0..<1000).count == 8)
    }
}
