// Minibatches.swift: shuffled minibatches over an indexable dataset (PyTorch's `DataLoader`
// as the book uses it), with a Codable position so a run can checkpoint and resume exactly.

/// Where an iterator stands, enough to resume it exactly: store it in a checkpoint and pass it
/// back to the iterator's `resumingFrom` initializer.
///
/// The order of an epoch is drawn from `rng` when the epoch starts, so the state at the start of
/// the epoch plus the index of the next batch pin down every batch still to come.
public struct LoaderPosition: Codable, Equatable, Sendable {
    /// The current epoch, counted from 0.
    public var epoch: Int
    /// The index, within the epoch, of the next batch to be returned.
    public var batchIndex: Int
    /// The generator's state at the start of the epoch.
    public var rng: DataRNG

    /// Throws unless the epoch is ≥ 0 and the batch index within 0...batchesPerEpoch (a stored
    /// position from an untrusted file).
    public func check(batchesPerEpoch: Int) throws {
        guard epoch >= 0, (0...max(batchesPerEpoch, 0)).contains(batchIndex) else {
            throw DataError.invalidArgument(
                "data position epoch \(epoch), batch \(batchIndex) is outside 0… epochs and 0…\(batchesPerEpoch) batches")
        }
    }

    /// A position at batch `batchIndex` of epoch `epoch`, with `rng` the generator's state at the start of that epoch.
    public init(epoch: Int, batchIndex: Int, rng: DataRNG) {
        self.epoch = epoch
        self.batchIndex = batchIndex
        self.rng = rng
    }
}

/// Where an iterator stands and the generator's state once its epoch's order is drawn: the epoch
/// bookkeeping `MinibatchSampler` and `SequenceDataLoader` share.
struct EpochCursor: Sendable {
    /// The position of the next batch.
    private(set) var position: LoaderPosition
    /// The generator's state after the current epoch's draws: the next epoch starts from it.
    var rngAfterEpochStart: DataRNG

    /// A cursor at `position`, the epoch's draws still to make.
    init(_ position: LoaderPosition) {
        self.position = position
        rngAfterEpochStart = position.rng
    }

    /// The index of the next batch of an epoch of `batchesPerEpoch`, moving on past it; or, at the
    /// end of the epoch, `nil`, the position moved to the start of the next epoch.
    mutating func nextBatch(of batchesPerEpoch: Int) -> Int? {
        if position.batchIndex >= batchesPerEpoch {
            position = LoaderPosition(epoch: position.epoch + 1, batchIndex: 0, rng: rngAfterEpochStart)
            return nil
        }
        position.batchIndex += 1
        return position.batchIndex - 1
    }
}

/// Splits `0..<count` into minibatches of indices, reshuffled every epoch when `shuffle` is on.
/// As in PyTorch's `DataLoader` (`drop_last=False`), the last batch may be smaller.
///
/// `next()` returns the batches of the current epoch, then `nil` once; the call after that starts
/// the next epoch. So `while let batch = sampler.next() { ... }` runs exactly one epoch.
public struct MinibatchSampler: Sendable {
    /// The number of examples.
    public let count: Int
    /// Examples per batch (the last batch may have fewer unless `dropLast`).
    public let batchSize: Int
    /// Whether each epoch visits the examples in a new random order.
    public let shuffle: Bool
    /// Whether a last, incomplete batch is left out.
    public let dropLast: Bool
    /// The position of the next batch.
    public var position: LoaderPosition { cursor.position }
    private var cursor: EpochCursor
    private var order: [Int] = []

    /// A sampler at the start of epoch 0.
    public init(count: Int, batchSize: Int, shuffle: Bool, dropLast: Bool = false, seed: UInt64 = 0) throws {
        try self.init(
            count: count, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast,
            resumingFrom: LoaderPosition(epoch: 0, batchIndex: 0, rng: DataRNG(seed: seed)))
    }

    /// A sampler that continues from a stored position.
    public init(count: Int, batchSize: Int, shuffle: Bool, dropLast: Bool = false, resumingFrom position: LoaderPosition) throws {
        guard count >= 0, batchSize > 0 else {
            throw DataError.invalidArgument("a sampler needs count ≥ 0 and batchSize > 0 (got \(count), \(batchSize))")
        }
        try position.check(batchesPerEpoch: dropLast ? count / batchSize : (count + batchSize - 1) / batchSize)
        self.count = count
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        cursor = EpochCursor(position)
        startEpoch()
    }

    /// The number of batches in every epoch.
    public var batchesPerEpoch: Int { dropLast ? count / batchSize : (count + batchSize - 1) / batchSize }

    /// The indices of the next batch, or `nil` at the end of the epoch (see the type's notes).
    public mutating func next() -> [Int]? {
        guard let index = cursor.nextBatch(of: batchesPerEpoch) else {
            startEpoch()
            return nil
        }
        let start = index * batchSize
        return Array(order[start..<min(start + batchSize, count)])
    }

    /// Draws the order of the current epoch from the position's generator state.
    private mutating func startEpoch() {
        var rng = cursor.position.rng
        order = shuffle ? rng.permutation(count) : Array(0..<count)
        cursor.rngAfterEpochStart = rng
    }
}

/// A dataset that can gather a minibatch from a list of example indices.
public protocol MinibatchDataset: Sendable {
    associatedtype Batch
    /// The number of examples.
    var count: Int { get }
    /// The examples at `indices`, as one batch.
    func batch(_ indices: [Int]) -> Batch
}

/// Minibatches of a dataset in (optionally shuffled) order: the book's `DataLoader`.
/// Iterate an epoch with `while let batch = loader.next() { ... }`.
public struct DataLoader<Dataset: MinibatchDataset>: Sendable {
    /// The examples batches are gathered from.
    public let dataset: Dataset
    private var sampler: MinibatchSampler

    /// A loader at the start of epoch 0.
    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool, dropLast: Bool = false, seed: UInt64 = 0) throws {
        self.dataset = dataset
        sampler = try MinibatchSampler(
            count: dataset.count, batchSize: batchSize, shuffle: shuffle,
            dropLast: dropLast, seed: seed)
    }

    /// A loader that continues from a stored position.
    public init(
        _ dataset: Dataset, batchSize: Int, shuffle: Bool, dropLast: Bool = false,
        resumingFrom position: LoaderPosition
    ) throws {
        self.dataset = dataset
        sampler = try MinibatchSampler(
            count: dataset.count, batchSize: batchSize, shuffle: shuffle,
            dropLast: dropLast, resumingFrom: position)
    }

    /// Examples per batch (the last batch of an epoch may have fewer unless `dropLast`).
    public var batchSize: Int { sampler.batchSize }
    /// The number of batches in every epoch.
    public var batchesPerEpoch: Int { sampler.batchesPerEpoch }
    /// The position of the next batch; store it to resume later.
    public var position: LoaderPosition { sampler.position }

    /// The next batch of the epoch, or `nil` at its end (the following call starts the next epoch).
    public mutating func next() -> Dataset.Batch? {
        sampler.next().map { dataset.batch($0) }
    }
}
