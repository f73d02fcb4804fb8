// `dive train <translation recipe> --pairs FILE [--raw]` and `dive train nli --snli DIR`: sentence
// pairs of one's own (tab-separated, any language pair) instead of fra-eng, and an SNLI folder in
// the Stanford layout instead of the data directory's. Read and checked (held-out part, one
// minibatch, `--keep best`) before anything is written, so that bad data stops the run with one line.
import ArgumentParser
import DiveData
import DiveZoo
import Foundation

struct PairsOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Train a translation recipe (seq2seq, bahdanau, transformer) on these UTF-8 sentence pairs instead of the book's: one pair a line, the source, a tab and the target (columns after the second are ignored, as fra-eng's attribution).",
            valueName: "file")) var pairs: String?
    @Flag(help: "With --pairs: keep the pairs as given (case, punctuation), split on spaces, instead of the book's preprocessing.")
    var raw = false
    @Option(
        help: ArgumentHelp(
            "Train nli on the SNLI folder in the Stanford layout: snli_1.0_train and snli_1.0_test (and snli_1.0_dev, the held-out accuracy's examples), each .jsonl or .txt.",
            valueName: "dir")) var snli: String?

    /// Puts the options into `o` for `recipe` and checks the data now. Returns the line that
    /// describes pairs or an SNLI folder of one's own. `HeldOutOptions` has set `o.validFraction`
    /// and `o.keepBest`.
    func apply(to o: inout RunOptions, recipe: any Recipe) throws -> String? {
        let forTranslation = [("--pairs", pairs != nil), ("--raw", raw)].first(where: \.1)?.0
        if let translation = recipe as? any TranslationRecipe {
            if snli != nil { throw ZooError.invalidOption("--snli is for nli, not \(recipe.name)") }
            try require(pairs != nil || !raw, "--raw needs --pairs (the book's data is preprocessed the book's way)")
            if let pairs { o.pairs = try SentencePairs(reading: URL(fileURLWithPath: pairs), raw: raw) }
            guard pairs != nil || o.validFraction != nil || o.keepBest else { return nil }
            let data = try translation.data(o)
            try require(!o.keepBest || !data.heldOut.isEmpty, "--keep best needs held-out data: a --valid-fraction above 0")
            return o.pairs.map { p in
                "\(p.path): \(p.count) pairs (\(p.preprocessed ? "the book's preprocessing" : "raw")), vocabularies of \(p.srcVocab.count) and \(p.tgtVocab.count) tokens, \(data.heldOut.count) held out"
            }
        }
        if let flag = forTranslation {
            throw ZooError.invalidOption("\(flag) is for the translation recipes (seq2seq, bahdanau, transformer), not \(recipe.name)")
        }
        guard let nli = recipe as? NLIRecipe else {
            if snli != nil { throw ZooError.invalidOption("--snli is for nli, not \(recipe.name)") }
            return nil
        }
        if let snli { o.snli = try SNLICorpus(reading: URL(fileURLWithPath: snli)) }
        guard snli != nil || o.validFraction != nil || o.keepBest else { return nil }
        let data = try nli.data(o)
        try require(
            !o.keepBest || data.heldOut != nil, "--keep best needs held-out data: --snli with a dev split, or a --valid-fraction above 0")
        return o.snli.map { s in
            "\(s.path): \(data.train.count) training, \(data.test.count) test examples\(data.heldOut.map { ", \($0.count) \(data.heldOutName) examples held out" } ?? ", none held out")"
        }
    }
}
