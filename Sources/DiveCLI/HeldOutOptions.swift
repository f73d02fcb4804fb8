// `dive train --valid-fraction F --keep best`: the share of the data held out for validation and
// whether the best held-out epoch's checkpoint is kept, for the recipes that train on data they can
// hold out (language models, translation, nli). `TextOptions` and `PairsOptions` check that there is
// held-out data for `--keep best`.
import ArgumentParser
import DiveZoo

/// What `--keep` keeps besides the last epoch's checkpoint.
enum KeepOption: String, ExpressibleByArgument, CaseIterable { case last, best }

struct HeldOutOptions: ParsableArguments {
    @Option(
        name: .customLong("valid-fraction"),
        help: ArgumentHelp(
            "Hold out this fraction of the data, in [0, 1), and report a held-out figure every epoch: a language model's last tokens (perplexity), the last sentence pairs of a fixed shuffle (translation: BLEU), the last training examples of a fixed shuffle (nli: accuracy, instead of --snli's dev split). Default: 0.1 with --text or --pairs, 0 on the book's data.",
            valueName: "fraction")) var validFraction: Double?
    @Option(
        help:
            "last: keep the last epoch's checkpoint; best: also keep the epoch with the best held-out figure (the lowest perplexity, the highest BLEU or accuracy) beside it, as <checkpoint>.best.safetensors (runs/<recipe>.best.safetensors by default; needs held-out data)."
    ) var keep = KeepOption.last

    /// Puts the options into `o`, refusing them for a recipe that holds nothing out and a fraction
    /// outside [0, 1).
    func apply(to o: inout RunOptions, recipe: any Recipe) throws {
        let holdsOut = recipe is any TextTrainable || recipe is any TranslationRecipe || recipe is NLIRecipe
        if let flag = [("--valid-fraction", validFraction != nil), ("--keep best", keep == .best)].first(where: \.1)?.0, !holdsOut {
            throw ZooError.invalidOption(
                "\(flag) is for the language models (gpt too), the translation recipes (seq2seq, bahdanau, transformer) and nli, not \(recipe.name)"
            )
        }
        if let validFraction {
            try require(validFraction >= 0 && validFraction < 1, "--valid-fraction must be in [0, 1) (got \(validFraction))")
        }
        o.validFraction = validFraction
        o.keepBest = keep == .best
    }
}
