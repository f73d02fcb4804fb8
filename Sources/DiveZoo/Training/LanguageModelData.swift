// Minibatches for the language-model trainer: the zh book's `SeqDataLoader` (sequential or random
// partitioning, 10,000 tokens) or the en book's shuffled sliding windows (`d2l.TimeMachine`).
import DiveData
import Foundation

/// The en v1.0 `TimeMachine(batch_size, num_steps, num_train)`: every window of `numSteps` tokens
/// starting at 0..<numTrain, reshuffled each epoch, the last batch possibly short.
public struct SlidingWindows: MinibatchDataset, Sendable {
    /// The token indices of the whole corpus (in memory, or mapped from a token file).
    public let corpus: TokenStream
    /// Tokens per window.
    public let numSteps: Int
    /// The number of windows: `numTrain`, or fewer when the corpus is too short for that many.
    public let count: Int

    /// Windows of `numSteps` tokens over `corpus` starting at 0..<numTrain; throws unless the corpus has
    /// more than `numSteps` + 1 tokens.
    public init(corpus: [Int32], numSteps: Int, numTrain: Int) throws {
        try self.init(corpus: TokenStream(corpus), numSteps: numSteps, numTrain: numTrain)
    }

    /// Windows over a token stream (a mapped token file is read as the batches need it).
    public init(corpus: TokenStream, numSteps: Int, numTrain: Int) throws {
        guard corpus.count > numSteps + 1 else {
            throw ZooError.invalidOption("a corpus of \(corpus.count) tokens is too short for windows of \(numSteps)")
        }
        self.corpus = corpus; self.numSteps = numSteps
        count = min(numTrain, corpus.count - numSteps - 1)
    }

    /// The windows starting at `indices` and their labels, the same windows shifted by one token, as a
    /// batch-major `TokenBatch`.
    public func batch(_ indices: [Int]) -> TokenBatch {
        var x: [Int32] = [], y: [Int32] = []
        for i in indices {
            x += corpus[i..<(i + numSteps)]
            y += corpus[(i + 1)..<(i + 1 + numSteps)]
        }
        return TokenBatch(x: x, y: y, batchSize: indices.count, numSteps: numSteps)
    }
}

/// Either loader behind one interface, with its resumable position.
enum LanguageModelBatches {
    case book(SequenceDataLoader)
    case windows(DataLoader<SlidingWindows>)

    /// Whether the hidden state carries over between minibatches (zh sequential partitioning).
    var carriesState: Bool {
        if case let .book(l) = self { return l.partitioning == .sequential }
        return false
    }

    var position: LoaderPosition {
        switch self {
        case let .book(l): return l.position
        case let .windows(l): return l.position
        }
    }

    var batchesPerEpoch: Int {
        switch self {
        case let .book(l): return l.batchesPerEpoch
        case let .windows(l): return l.batchesPerEpoch
        }
    }

    mutating func next() -> TokenBatch? {
        switch self {
        case var .book(l): defer { self = .book(l) }; return l.next()
        case var .windows(l): defer { self = .windows(l) }; return l.next()
        }
    }

    /// The loader for a preset, starting at `start` (a run's first position, or a checkpoint's).
    static func make(
        corpus: TokenStream, preset: BookEdition, batchSize: Int, numSteps: Int, randomIter: Bool,
        position start: LoaderPosition
    ) throws -> LanguageModelBatches {
        switch preset {
        case .zh, .paper:
            return .book(
                try SequenceDataLoader(
                    corpus: corpus, batchSize: batchSize, numSteps: numSteps,
                    partitioning: randomIter ? .random : .sequential, resumingFrom: start))
        case .en:
            let data = try SlidingWindows(corpus: corpus, numSteps: numSteps, numTrain: 10_000)
            return .windows(try DataLoader(data, batchSize: batchSize, shuffle: true, resumingFrom: start))
        }
    }
}

extension TokenBatch {
    /// x transposed to time-major (T, B), the book's `X.T`.
    var xTimeMajor: [Int32] { Self.transpose(x, rows: batchSize, cols: numSteps) }
    /// y transposed and flattened, the book's `Y.T.reshape(-1)`.
    var yTimeMajor: [Int32] { Self.transpose(y, rows: batchSize, cols: numSteps) }

    static func transpose(_ a: [Int32], rows: Int, cols: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: a.count)
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = a[r * cols + c] } }
        return out
    }
}
