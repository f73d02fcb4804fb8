// The options of the commands that run a trained checkpoint (`predict`, `translate`): the device,
// and `--recipe` with `--data-dir` to read a plain PyTorch state_dict instead of a Dive checkpoint.
import ArgumentParser
import Dive
import DiveData
import DiveZoo

/// The recipes whose plain state_dicts one command reads, as its `--recipe` describes them.
protocol PlainStateDictRecipes {
    associatedtype Recipe
    /// `--recipe`'s help.
    static var help: String { get }
    /// What a recipe must be, for the error naming one that is not: "a language model (rnn, …)".
    static var wanted: String { get }
}

struct CheckpointOptions<Recipes: PlainStateDictRecipes>: ParsableArguments {
    @OptionGroup var deviceOption: DeviceOption
    @Option(help: ArgumentHelp(Recipes.help)) var recipe: String?
    @Option(name: .customLong("data-dir"), help: "Data directory for --recipe (default: $DIVE_DATA, else ~/.cache/dive).") var dataDir:
        String?

    /// The backend of `--device`.
    func backend() throws -> Backend { try deviceOption.backend() }

    var dataDirectory: DataDirectory { DataDirectory(explicitPath: dataDir) }

    /// The `--recipe` to read a plain state_dict with, or nil without the flag.
    func plainRecipe() throws -> Recipes.Recipe? {
        try recipe.map { name in
            guard let r = try RecipeRegistry.recipe(named: name) as? Recipes.Recipe else {
                throw ZooError.invalidOption("--recipe \(name) is not \(Recipes.wanted)")
            }
            return r
        }
    }
}

/// `dive predict`'s: the book's `RNNModel` language models.
enum LanguageModelStateDicts: PlainStateDictRecipes {
    typealias Recipe = LanguageModelRecipe
    static let help =
        "Read CHECKPOINT as a PyTorch state_dict of the book's RNNModel for this recipe (rnn, gru, lstm, deep-lstm, bi-lstm): the vocabulary is rebuilt from the recipe's data."
    static let wanted = "a language model (rnn, gru, lstm, deep-lstm, bi-lstm)"
}

/// `dive translate`'s: the book's `EncoderDecoder` models.
enum TranslationStateDicts: PlainStateDictRecipes {
    typealias Recipe = any TranslationRecipe
    static let help =
        "Read CHECKPOINT as a PyTorch state_dict of the book's EncoderDecoder for this recipe (seq2seq, bahdanau, transformer): the vocabularies are rebuilt from the recipe's data."
    static let wanted = "a translation model (seq2seq, bahdanau, transformer)"
}
