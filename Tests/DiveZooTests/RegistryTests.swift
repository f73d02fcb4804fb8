// The registry: every recipe the issue names is there, with its book section and book defaults.
import DiveData
import DiveZoo
import Testing

@Suite struct RegistryTests {
    @Test func everyRecipeIsRegistered() throws {
        let expected = [
            "numerics": "4.8", "seq-model": "8.1", "rnn-scratch": "8.5", "rnn": "8.6", "gru-scratch": "9.1",
            "gru": "9.1", "lstm-scratch": "9.2", "lstm": "9.2", "deep-lstm": "9.3", "bi-lstm": "9.4", "seq2seq": "9.7",
            "nadaraya-watson": "10.2", "attention-scoring": "10.3", "bahdanau": "10.4", "multihead": "10.5",
            "self-attention": "10.6", "transformer": "10.7", "nli": "15.5"
        ]
        #expect(Set(RecipeRegistry.all.map(\.name)) == Set(expected.keys))
        #expect(RecipeRegistry.extras.map(\.name) == ["transformer-256", "gpt"])
        let wide = TransformerRecipe.wide.modelConfig(.zh, srcVocab: 184, tgtVocab: 201)
        #expect(
            wide
                == .transformer(
                    TransformerConfig(
                        srcVocabSize: 184, tgtVocabSize: 201, numHiddens: 256, ffnHiddens: 1024,
                        numHeads: 8, numLayers: 2, dropout: 0.1, numSteps: 32)))
        for (name, section) in expected { #expect(try RecipeRegistry.recipe(named: name).listing.section == section) }
        #expect(throws: ZooError.self) { try RecipeRegistry.recipe(named: "transformer-xl") }
    }

    @Test func bookDefaults() throws {
        let rnn = try RecipeRegistry.recipe(named: "rnn").defaults(.zh)
        #expect(rnn == Hyperparameters(epochs: 500, lr: 1, batchSize: 32, optimizer: .sgd, clip: 1))
        #expect(try RecipeRegistry.recipe(named: "deep-lstm").defaults(.zh).lr == 2)
        let s2s = try RecipeRegistry.recipe(named: "seq2seq").defaults(.zh)
        #expect(s2s == Hyperparameters(epochs: 300, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1))
        #expect(try RecipeRegistry.recipe(named: "gru").defaults(.en).lr == 4)
        #expect(
            try RecipeRegistry.recipe(named: "bahdanau").defaults(.zh)
                == Hyperparameters(epochs: 250, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1))
        let transformer = try RecipeRegistry.recipe(named: "transformer")
        #expect(transformer.defaults(.zh) == Hyperparameters(epochs: 200, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1))
        #expect(transformer.defaults(.en).lr == 0.001 && transformer.defaults(.en).epochs == 30)
        let paper = transformer.defaults(.paper)
        #expect(paper.schedule == .noam && paper.labelSmoothing == 0.1 && paper.adamBeta2 == 0.98 && paper.adamEps == 1e-9)
        let seq2seqPresets = try RecipeRegistry.recipe(named: "seq2seq").presets
        #expect(transformer.presets.contains(.paper) && !seq2seqPresets.contains(.paper))
    }
}
