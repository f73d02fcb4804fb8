// `dive train <language model> --text PATH`: a text of one's own instead of the book's data
// (characters or words, a minimum frequency), the end of the corpus held out for validation
// (`HeldOutOptions`), and the best held-out epoch's checkpoint kept. Read and checked before
// anything is written.
import ArgumentParser
import DiveData
import DiveZoo
import Foundation

struct TextOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Train a language model (rnn, gru, lstm, deep-lstm, bi-lstm, the -scratch ones, gpt) on this UTF-8 text, or on the .txt files of this folder (in name order, a newline between two), instead of the book's data. A text of 4 MiB or more is tokenised once, into a token file under $DIVE_CACHE/text (default ~/.cache/dive/text) that later runs on the unchanged text map.",
            valueName: "path")) var text: String?
    @Option(
        help: ArgumentHelp(
            "With --text: char (characters, as in the book; default) or word (runs of non-whitespace).", valueName: "char|word"))
    var tokens: String?
    @Option(
        name: .customLong("min-freq"),
        help: ArgumentHelp("With --text: tokens seen fewer times read as <unk> (default: 1 for characters, 2 for words).", valueName: "n"))
    var minFreq: Int?

    /// Puts the options into `o` for `recipe`: the text is read (a big one from its token file
    /// under DIVE_CACHE, made on the first run: `TextCorpusCache`) and the corpus checked
    /// (held-out part, one minibatch) now, so that bad data stops the run with one line before any
    /// file is written. Returns the line that describes a text of one's own. `HeldOutOptions` has
    /// set `o.validFraction` and `o.keepBest`.
    func apply(to o: inout RunOptions, recipe: any Recipe) throws -> String? {
        let given = text != nil || o.validFraction != nil || o.keepBest
        let flags = [("--text", text != nil), ("--tokens", tokens != nil), ("--min-freq", minFreq != nil)]
        guard let lm = recipe as? any TextTrainable else {
            if let flag = flags.first(where: \.1)?.0 {
                throw ZooError.invalidOption(
                    "\(flag) is for the language models (rnn, gru, lstm, deep-lstm, bi-lstm, the -scratch ones and gpt), not \(recipe.name)"
                )
            }
            return nil
        }
        let kind = try tokens.map { name -> TokenKind in
            guard let kind = TokenKind(rawValue: name) else { throw ZooError.invalidOption("--tokens must be char or word, not '\(name)'") }
            return kind
        }
        if let minFreq { try require(minFreq >= 1, "--min-freq must be at least 1 (got \(minFreq))") }
        if let path = text {
            o.text = try TextCorpusCache.corpus(
                reading: URL(fileURLWithPath: path), tokens: kind ?? .char, minFreq: minFreq,
                progress: TokenisingProgress.handler(path: path, show: o.communicator.isRoot))
        } else {
            try require(
                kind == nil && minFreq == nil, "--\(kind != nil ? "tokens" : "min-freq") needs --text (the book's data is characters)")
        }
        guard given else { return nil }
        let data = try lm.data(o)
        try require(!o.keepBest || !data.heldOut.isEmpty, "--keep best needs held-out data: a --valid-fraction above 0")
        return o.text.map { text in
            "\(text.path): \(text.corpus.count) \(text.tokens == .char ? "characters" : "words"), a vocabulary of \(text.vocab.count) (min-freq \(text.minFreq)), \(data.heldOut.count) held out"
        }
    }
}
