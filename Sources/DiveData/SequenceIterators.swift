// SequenceIterators.swift: the language-model minibatches of section 8.3, random sampling
// (`seq_data_iter_random`) and sequential partitioning (`seq_data_iter_sequential`).

/// A language-model minibatch: inputs `x` and targets `y` (= `x` shifted one token on),
/// both `batchSize × numSteps`, row-major and batch-major: `x[b * numSteps + t]`.
public struct TokenBatch: Equatable, Sendable {
    /// Input token indices, `(batchSize, numSteps)` row-major.
    public var x: [Int32]
    /// Target token indices, `(batchSize, numSteps)` row-major: each row of `x` shifted one token on.
    public var y: [Int32]
    /// The number of rows (subsequences) in the batch.
    public var batchSize: Int
    /// The number of time steps in each row.
    public var numSteps: Int

    /// A batch from flattened `(batchSize, numSteps)` inputs and targets.
    public init(x: [Int32], y: [Int32], batchSize: Int, numSteps: Int) {
        self.x = x
        self.y = y
        self.batchSize = batchSize
        self.numSteps = numSteps
    }

    /// Row `b` of `x`.
    public func xRow(_ b: Int) -> ArraySlice<Int32> { x[b * numSteps..<(b + 1) * numSteps] }
    /// Row `b` of `y`.
    public func yRow(_ b: Int) -> ArraySlice<Int32> { y[b * numSteps..<(b + 1) * numSteps] }
}

/// How a corpus is cut into minibatches.
public enum SequencePartitioning: String, Codable, Sendable {
    /// `seq_data_iter_random`: drop a random offset in [0, numSteps - 1], cut the rest into
    /// non-overlapping subsequences, shuffle them and batch them.
    case random
    /// `seq_data_iter_sequential`: drop a random offset in [0, numSteps], lay the rest out as
    /// `batchSize` rows and walk along them, so consecutive minibatches continue each row.
    case sequential
}

/// The book's `SeqDataLoader`: minibatches of a token corpus, with a new random offset
/// (and, for `.random`, a new shuffle) every epoch.
///
/// `next()` returns the batches of the current epoch, then `nil` once; the call after that
/// starts the next epoch. `position` can be stored and passed to `init(...resumingFrom:)`.
public struct SequenceDataLoader: Sendable {
    /// The token indices, in text order (in memory, or mapped from a token file).
    public let corpus: TokenStream
    /// Rows per minibatch.
    public let batchSize: Int
    /// Time steps per row.
    public let numSteps: Int
    /// Whether the corpus is cut by random sampling or sequential partitioning (section 8.3).
    public let partitioning: SequencePartitioning
    /// The position of the next batch.
    public var position: LoaderPosition { cursor.position }
    private var cursor: EpochCursor
    private var plan = EpochPlan(offset: 0, starts: [], columns: 0, batchCount: 0)

    /// The layout of one epoch, drawn from the generator when the epoch starts.
    private struct EpochPlan: Sendable {
        /// Tokens dropped at the start of the corpus.
        var offset: Int
        /// `.random`: the shuffled start of every subsequence, relative to `offset`.
        var starts: [Int]
        /// `.sequential`: the length of each of the `batchSize` rows.
        var columns: Int
        var batchCount: Int
    }

    /// A loader at the start of epoch 0. Throws if the corpus is too short to give at least one
    /// minibatch whatever the offset.
    public init(corpus: [Int32], batchSize: Int, numSteps: Int, partitioning: SequencePartitioning, seed: UInt64 = 0) throws {
        try self.init(corpus: TokenStream(corpus), batchSize: batchSize, numSteps: numSteps, partitioning: partitioning, seed: seed)
    }

    /// A loader at the start of epoch 0 over a token stream (a mapped token file is read as the
    /// batches need it, not copied).
    public init(corpus: TokenStream, batchSize: Int, numSteps: Int, partitioning: SequencePartitioning, seed: UInt64 = 0) throws {
        try self.init(
            corpus: corpus, batchSize: batchSize, numSteps: numSteps, partitioning: partitioning,
            resumingFrom: LoaderPosition(epoch: 0, batchIndex: 0, rng: DataRNG(seed: seed)))
    }

    /// A loader that continues from a stored position.
    public init(
        corpus: [Int32], batchSize: Int, numSteps: Int, partitioning: SequencePartitioning,
        resumingFrom position: LoaderPosition
    ) throws {
        try self.init(
            corpus: TokenStream(corpus), batchSize: batchSize, numSteps: numSteps, partitioning: partitioning, resumingFrom: position)
    }

    /// A loader over a token stream that continues from a stored position.
    public init(
        corpus: TokenStream, batchSize: Int, numSteps: Int, partitioning: SequencePartitioning,
        resumingFrom position: LoaderPosition
    ) throws {
        guard batchSize > 0, numSteps > 0 else {
            throw DataError.invalidArgument("batchSize and numSteps must be positive (got \(batchSize), \(numSteps))")
        }
        self.corpus = corpus
        self.batchSize = batchSize
        self.numSteps = numSteps
        self.partitioning = partitioning
        cursor = EpochCursor(position)
        let worstOffset = partitioning == .random ? numSteps - 1 : numSteps
        guard
            Self.batchCount(
                corpusCount: corpus.count, offset: worstOffset, batchSize: batchSize,
                numSteps: numSteps, partitioning: partitioning) > 0
        else {
            throw DataError.invalidArgument(
                "a corpus of \(corpus.count) tokens is too short for minibatches of \(batchSize) × \(numSteps)")
        }
        try position.check(batchesPerEpoch: Int.max - 1)
        startEpoch()
        try position.check(batchesPerEpoch: plan.batchCount)
    }

    /// The number of minibatches in the current epoch (it can vary by one with the offset).
    public var batchesPerEpoch: Int { plan.batchCount }

    /// The next minibatch of the epoch, or `nil` at its end (the following call starts the next epoch).
    public mutating func next() -> TokenBatch? {
        guard let index = cursor.nextBatch(of: plan.batchCount) else {
            startEpoch()
            return nil
        }
        return batch(at: index)
    }

    /// Minibatch `index` of the current epoch.
    public func batch(at index: Int) -> TokenBatch {
        precondition(index >= 0 && index < plan.batchCount, "batch index out of range")
        var x: [Int32] = [], y: [Int32] = []
        x.reserveCapacity(batchSize * numSteps)
        y.reserveCapacity(batchSize * numSteps)
        for row in 0..<batchSize {
            let start: Int
            switch partitioning {
            case .random: start = plan.offset + plan.starts[index * batchSize + row]
            case .sequential: start = plan.offset + row * plan.columns + index * numSteps
            }
            x.append(contentsOf: corpus[start..<start + numSteps])
            y.append(contentsOf: corpus[start + 1..<start + 1 + numSteps])
        }
        return TokenBatch(x: x, y: y, batchSize: batchSize, numSteps: numSteps)
    }

    /// Draws the offset (and shuffle) of the current epoch from the position's generator state.
    private mutating func startEpoch() {
        var rng = cursor.position.rng
        switch partitioning {
        case .random:
            // Python: corpus[random.randint(0, num_steps - 1):]; one subsequence per num_steps tokens,
            // keeping one token back for the last target.
            let offset = rng.nextInt(in: 0...(numSteps - 1))
            let subsequences = max(0, (corpus.count - offset - 1) / numSteps)
            var starts = (0..<subsequences).map { $0 * numSteps }
            rng.shuffle(&starts)
            plan = EpochPlan(offset: offset, starts: starts, columns: 0, batchCount: subsequences / batchSize)
        case .sequential:
            // Python: offset = random.randint(0, num_steps); the tokens after it (less one for the
            // targets) are cut to a multiple of batch_size and reshaped to (batch_size, -1).
            let offset = rng.nextInt(in: 0...numSteps)
            let tokens = max(0, (corpus.count - offset - 1) / batchSize * batchSize)
            let columns = tokens / batchSize
            plan = EpochPlan(offset: offset, starts: [], columns: columns, batchCount: columns / numSteps)
        }
        cursor.rngAfterEpochStart = rng
    }

    private static func batchCount(
        corpusCount: Int, offset: Int, batchSize: Int, numSteps: Int,
        partitioning: SequencePartitioning
    ) -> Int {
        let usable = max(0, corpusCount - offset - 1)
        switch partitioning {
        case .random: return usable / numSteps / batchSize
        case .sequential: return usable / batchSize / numSteps
        }
    }
}
