// What the NLI recipe trains on: the data directory's SNLI, or a folder of one's own in the
// Stanford layout (`--snli`), and what it validates on after every epoch: the folder's dev split
// (with `--snli`), or, with `--valid-fraction F`, the last F of the training examples after a
// fixed shuffle (`HeldOutSplit`). The book's run validates on nothing.
import DiveData
import Foundation

/// An NLI run's training, test and held-out examples, indexed with the training examples' vocabulary.
public struct NLIData: Sendable {
    /// The SNLI folder read, as errors name it.
    public var source: String
    /// The examples trained on; their vocabulary is the model's.
    public var train: SNLIDataset
    /// The test examples, whose accuracy the book prints.
    public var test: SNLIDataset
    /// The examples of each epoch's held-out accuracy (`EpochRecord.validation`); nil: none.
    public var heldOut: SNLIDataset?
    /// What `heldOut` is, for the report: "dev" (the dev split) or "held-out" (part of train).
    public var heldOutName: String
}

extension NLIRecipe {
    /// The data of a run: `options.snli`, else `snliFolder(options.dataDirectory)`; held out, the
    /// last `options.validFraction` of the training examples after a fixed shuffle when it is
    /// given and above 0, else the dev split of an `--snli` folder that has one, else nothing.
    public func data(_ options: RunOptions) throws -> NLIData {
        let folder: String, train: SNLIExamples, test: SNLIExamples, dev: SNLIExamples?
        if let snli = options.snli {
            (folder, train, test, dev) = (snli.path, snli.train, snli.test, snli.dev)
        } else {
            let url = try Self.snliFolder(options.dataDirectory)
            (folder, train, test, dev) = (
                url.path, try SNLI.read(directory: url, split: .train), try SNLI.read(directory: url, split: .test), nil
            )
        }
        guard let fraction = options.validFraction, fraction > 0 else {
            return try datasets(train: train, test: test, heldOut: options.validFraction == nil ? dev : nil, folder: folder, name: "dev")
        }
        guard fraction < 1 else { throw ZooError.invalidOption("--valid-fraction must be in [0, 1) (got \(fraction))") }
        let split = HeldOutSplit(count: train.count, fraction: fraction)
        guard !split.heldOut.isEmpty else {
            throw ZooError.invalidOption(
                "\(folder): --valid-fraction \(fraction) of its \(train.count) labelled training examples holds out none; use a larger --valid-fraction"
            )
        }
        return try datasets(
            train: train.subset(split.kept), test: test, heldOut: train.subset(split.heldOut), folder: folder, name: "held-out")
    }

    /// `SNLIDataset`s of `train` (which builds the vocabulary), `test` and `heldOut`; both train and
    /// test need labelled examples.
    func datasets(train: SNLIExamples, test: SNLIExamples, heldOut: SNLIExamples?, folder: String, name: String) throws -> NLIData {
        let trainSet = SNLIDataset(train, numSteps: numSteps)
        guard train.count > 0, test.count > 0 else {
            throw ZooError.invalidOption(
                "SNLI in \(folder) has \(train.count) labelled training and \(test.count) test examples; both need some")
        }
        return NLIData(
            source: folder, train: trainSet, test: SNLIDataset(test, numSteps: numSteps, vocab: trainSet.vocab),
            heldOut: heldOut.map { SNLIDataset($0, numSteps: numSteps, vocab: trainSet.vocab) }, heldOutName: name)
    }
}
