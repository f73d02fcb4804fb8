// What a translation recipe trains on: the book's 600 fra-eng examples, or sentence pairs of one's
// own (`--pairs`), with a share of the pairs held out for validation (`--valid-fraction`, the last
// of a fixed shuffle: `HeldOutSplit`). Checked before anything is written: no pair held out, or
// too few left for one minibatch, is a one-line error naming the file.
import DiveData
import Foundation

/// A translation run's training pairs, its held-out pairs and the sentences its report translates.
public struct TranslationData: Sendable {
    /// Where the pairs come from, as errors name it: the `--pairs` path, or fra-eng's file.
    public var source: String
    /// The pairs trained on, indexed with the vocabularies of all pairs.
    public var train: TranslationDataset
    /// The held-out pairs as (source, reference) sentences, tokens joined by spaces (empty: none).
    public var heldOut: [(source: String, target: String)]
    /// What the report translates and scores: the book's four sentences on the book's data, else
    /// the first four held-out pairs (the first four pairs when none is held out).
    public var examples: [(source: String, target: String)]
}

extension TranslationRecipe {
    /// The data of a run: `options.pairs`, else the book's 600 examples of fra-eng (601 pairs), with
    /// `options.validFraction` of the pairs held out (default 0.1 with pairs of one's own, 0 on the
    /// book's data). Throws a one-line error naming the source when the fraction holds out no pair
    /// or leaves fewer pairs than one minibatch.
    public func data(_ options: RunOptions) throws -> TranslationData {
        let fraction = options.validFraction ?? (options.pairs == nil ? 0 : 0.1)
        guard fraction >= 0 && fraction < 1 else {
            throw ZooError.invalidOption("--valid-fraction must be in [0, 1) (got \(fraction))")
        }
        let name: String, source: [[String]], target: [[String]], srcVocab: Vocab, tgtVocab: Vocab
        if let pairs = options.pairs {
            (name, source, target, srcVocab, tgtVocab) = (pairs.path, pairs.source, pairs.target, pairs.srcVocab, pairs.tgtVocab)
        } else {
            let file = try options.dataDirectory.locate(.fraEng)
            (source, target) = try Translation.readTokens(file: file, numExamples: 600)
            (name, srcVocab, tgtVocab) = (file.path, Translation.makeVocab(source), Translation.makeVocab(target))
        }
        let split = HeldOutSplit(count: source.count, fraction: fraction)
        guard fraction == 0 || !split.heldOut.isEmpty else {
            throw ZooError.invalidOption(
                "\(name): --valid-fraction \(fraction) of its \(source.count) pairs holds out none; use a larger --valid-fraction or more pairs"
            )
        }
        let batchSize = options.resolve(defaults(options.preset)).batchSize
        guard split.kept.count >= batchSize else {
            let held = split.heldOut.isEmpty ? "" : " (\(split.heldOut.count) held out)"
            throw ZooError.invalidOption(
                "\(name): \(split.kept.count) pairs left for training\(held) are too few for one minibatch of \(batchSize); use more pairs or a smaller --batch-size\(held.isEmpty ? "" : " or --valid-fraction")"
            )
        }
        let train = TranslationDataset(
            source: split.kept.map { source[$0] }, target: split.kept.map { target[$0] }, srcVocab: srcVocab, tgtVocab: tgtVocab,
            numSteps: numSteps)
        let sentence = { (i: Int) in (source[i].joined(separator: " "), target[i].joined(separator: " ")) }
        let heldOut = split.heldOut.map(sentence)
        let examples =
            options.pairs == nil
            ? Seq2SeqRecipe.examples : heldOut.isEmpty ? source.indices.prefix(4).map(sentence) : Array(heldOut.prefix(4))
        return TranslationData(source: name, train: train, heldOut: heldOut, examples: examples)
    }
}
