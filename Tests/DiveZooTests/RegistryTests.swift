// The registry: every recipe the issue names is there, with its book section and book defaults.
import DiveData
import DiveZoo
import Testing

@Suite struct RegistryTests {
    @Test func everyRecipeIsRegistered() throws {
        let expected = ["numerics": "4.8", "seq-model": "8.1", "rnn-scratch": "8.5", "rnn": "8.6", "gru-scratch": "9.1",
                        "gru": "9.1", "lstm-scratch": "9.2", "lstm": "9.2", "deep-lstm": "9.3", "bi-lstm": "9.4", "seq2seq": "9.7",
                        "nli": "15.5"]
        #expect(Set(RecipeRegistry.names) == Set(expected.keys))
        for (name, section) in expected { #expect(try RecipeRegistry.recipe(named: name).section == section) }
        #expect(throws: ZooError.self) { try RecipeRegistry.recipe(named: "transformer-xl") }
    }

    @Test func bookDefaults() throws {
        let rnn = try RecipeRegistry.recipe(named: "rnn").defaults(.zh)
        #expect(rnn == Hyperparameters(epochs: 500, lr: 1, batchSize: 32, optimizer: .sgd, clip: 1))
        #expect(try RecipeRegistry.recipe(named: "deep-lstm").defaults(.zh).lr == 2)
        let s2s = try RecipeRegistry.recipe(named: "seq2seq").defaults(.zh)
        #expect(s2s == Hyperparameters(epochs: 300, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1))
        #expect(try RecipeRegistry.recipe(named: "gru").defaults(.en).lr == 4)
    }
}
