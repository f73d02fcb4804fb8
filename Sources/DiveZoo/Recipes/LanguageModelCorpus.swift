// What a language-model recipe trains on: the book's Time Machine, or a text of one's own
// (`--text`), with the end of the corpus held out for validation (`--valid-fraction`). Checked
// before anything is written: a held-out part too short for one window, or a training part too
// short for one minibatch, is a one-line error naming the file.
import DiveData
import Foundation

/// A language model's training and held-out tokens, their vocabulary and tokenisation.
public struct LanguageModelCorpus: Sendable {
    /// Where the tokens come from, as errors name it: the `--text` path, or "The Time Machine".
    public var source: String
    /// The tokens trained on: the corpus without its held-out end (a view of the corpus, not a copy).
    public var train: TokenStream
    /// The corpus's last tokens, held out for validation (empty: none).
    public var heldOut: TokenStream
    /// The vocabulary of the whole corpus.
    public var vocab: Vocab
    /// Characters (the book's) or words.
    public var tokens: TokenKind
}

extension LanguageModelRecipe {
    /// The corpus of a run: `options.text`, else the preset's book data (`corpus(_:)`), its last
    /// `options.validFraction` of tokens held out (default 0.1 with a text of one's own, 0 on the
    /// book's data). Throws a one-line error naming the source when the held-out part is too short
    /// for one window of the preset's steps, or the rest too short for one minibatch.
    public func data(_ options: RunOptions) throws -> LanguageModelCorpus {
        let fraction = options.validFraction ?? (options.text == nil ? 0 : 0.1)
        guard fraction >= 0 && fraction < 1 else {
            throw ZooError.invalidOption("--valid-fraction must be in [0, 1) (got \(fraction))")
        }
        let source: String, all: TokenStream, vocab: Vocab, tokens: TokenKind
        if let text = options.text {
            (source, all, vocab, tokens) = (text.path, text.corpus, text.vocab, text.tokens)
        } else {
            let book = try corpus(options)
            (source, all, vocab, tokens) = ("The Time Machine", TokenStream(book.corpus), book.vocab, .char)
        }
        let steps = numSteps(options.preset), batchSize = options.resolve(defaults(options.preset)).batchSize
        let unit = tokens == .char ? "characters" : "words"
        let held = Int((Double(all.count) * fraction).rounded())
        guard fraction == 0 || held > steps else {
            throw ZooError.invalidOption(
                "\(source): --valid-fraction \(fraction) holds out \(held) of its \(all.count) \(unit), too few for one window of \(steps) steps (\(steps + 1) needed); use a larger --valid-fraction or a longer text"
            )
        }
        let data = LanguageModelCorpus(
            source: source, train: TokenStream(rebasing: all[..<(all.count - held)]),
            heldOut: TokenStream(rebasing: all[(all.count - held)...]), vocab: vocab, tokens: tokens)
        // The loader the task will use, made once here so that a short corpus stops the run before
        // any file is written.
        do {
            _ = try LanguageModelBatches.make(
                corpus: data.train, preset: options.preset, batchSize: batchSize, numSteps: steps, randomIter: false,
                position: LoaderPosition(epoch: 0, batchIndex: 0, rng: DataRNG(seed: options.seed)))
        } catch is DataError, is ZooError {
            let trained = held > 0 ? "\(data.train.count) \(unit) left for training (\(held) held out)" : "\(data.train.count) \(unit)"
            throw ZooError.invalidOption(
                "\(data.source): \(trained) are too few for one minibatch of \(batchSize) × \(steps) steps; use a longer text or a smaller --batch-size\(held > 0 ? " or --valid-fraction" : "")"
            )
        }
        return data
    }
}
