// HeldOutSplit.swift: which examples of a data set a run holds out for validation
// (`--valid-fraction` for sentence pairs and SNLI): the last share of a shuffle with a fixed seed,
// the same whatever `--seed` says, so that the held-out figures of two runs on the same data compare.
// A shuffle rather than the file's end: fra-eng is sorted by length, SNLI by caption.

/// The examples kept for training and those held out, each in the data's order.
public struct HeldOutSplit: Equatable, Sendable {
    /// The seed of the one shuffle every split uses.
    public static let seed: UInt64 = 26
    /// The indices trained on, ascending.
    public let kept: [Int]
    /// The indices held out, ascending: the last `round(count × fraction)` of the shuffle.
    public let heldOut: [Int]

    /// Splits `0..<count`: `round(count × fraction)` indices held out (none for fraction 0).
    public init(count: Int, fraction: Double) {
        let held = max(0, min(count, Int((Double(count) * fraction).rounded())))
        guard held > 0 else {
            kept = Array(0..<max(count, 0)); heldOut = []
            return
        }
        var rng = DataRNG(seed: Self.seed)
        let order = rng.permutation(count)
        kept = order[..<(count - held)].sorted()
        heldOut = order[(count - held)...].sorted()
    }
}
