// The loaders that find their file in a data directory first (downloading and unpacking it if it
// is missing), kept apart from the parsers so that those need nothing but Foundation (the fuzz
// targets in Fuzz/ build them alone).
import Foundation

extension TimeMachine {
    /// `loadData` on `timemachine.txt` in a data directory, downloading it if it is missing.
    public static func loadData(
        batchSize: Int, numSteps: Int, useRandomIter: Bool = false, maxTokens: Int? = 10_000,
        dataDirectory: DataDirectory, seed: UInt64 = 0, progress: DownloadProgressHandler? = nil
    ) throws -> (loader: SequenceDataLoader, vocab: Vocab) {
        let file = try dataDirectory.locate(.timeMachine, progress: progress)
        return try loadData(
            batchSize: batchSize, numSteps: numSteps, useRandomIter: useRandomIter,
            maxTokens: maxTokens, file: file, seed: seed)
    }
}

extension Translation {
    /// `loadData` on `fra-eng/fra.txt` in a data directory, downloading and unpacking it if missing.
    public static func loadData(
        batchSize: Int, numSteps: Int, numExamples: Int? = 600,
        dataDirectory: DataDirectory, seed: UInt64 = 0,
        progress: DownloadProgressHandler? = nil
    )
        throws -> (loader: DataLoader<TranslationDataset>, srcVocab: Vocab, tgtVocab: Vocab)
    {
        let file = try dataDirectory.locate(.fraEng, progress: progress)
        return try loadData(batchSize: batchSize, numSteps: numSteps, numExamples: numExamples, file: file, seed: seed)
    }
}

extension SNLI {
    /// `loadData` on `snli_1.0/` in a data directory, downloading and unpacking it if missing.
    public static func loadData(
        batchSize: Int, numSteps: Int = 50, dataDirectory: DataDirectory, seed: UInt64 = 0,
        progress: DownloadProgressHandler? = nil
    )
        throws -> (train: DataLoader<SNLIDataset>, test: DataLoader<SNLIDataset>, vocab: Vocab)
    {
        let trainFile = try dataDirectory.locate(.snli, progress: progress)
        return try loadData(
            batchSize: batchSize, numSteps: numSteps,
            directory: trainFile.deletingLastPathComponent(), seed: seed)
    }
}

extension TokenEmbedding {
    /// Loads `glove.6B.50d` or `glove.6B.100d` from a data directory, downloading and unpacking
    /// it if missing. Stanford's own `glove.6B.<d>d.txt`, placed in the directory, also works.
    public static func load(
        _ dataset: RemoteDataset = .glove6B100d, dataDirectory: DataDirectory,
        invalidUTF8: InvalidUTF8Handling = .decodeAsWindows1252,
        progress: DownloadProgressHandler? = nil
    ) throws -> TokenEmbedding {
        try TokenEmbedding(contentsOf: dataDirectory.locate(dataset, progress: progress), invalidUTF8: invalidUTF8)
    }
}
