// Synthetic.swift: the generated data sets of section 8.1 (a noisy sine wave and its lagged
// features) and section 10.2 (Nadaraya-Watson kernel regression), drawn from `DataRNG`.
import Foundation

/// Section 8.1's series: `x_t = sin(0.01 t) + N(0, 0.2²)` for t = 1...T.
public struct SineSeries: Sendable {
    /// The time steps 1...T.
    public let time: [Float]
    /// The noisy values.
    public let x: [Float]

    /// Draws the series (the book: T = 1000, noise standard deviation 0.2).
    public init(count: Int = 1000, noiseStd: Double = 0.2, rng: inout DataRNG) {
        time = (0..<max(count, 0)).map { Float($0 + 1) }
        x = time.map { t in Float(sin(Double(Float(0.01) * t)) + rng.gaussian(mean: 0, std: noiseStd)) }
    }
}

/// A minibatch of float features and labels: `x` is `batchSize × featureCount`, `y` is `batchSize`.
public struct FloatBatch: Equatable, Sendable {
    /// The features, `(batchSize, featureCount)` row-major.
    public var x: [Float]
    /// The `batchSize` labels.
    public var y: [Float]
    /// The number of examples in the batch.
    public var batchSize: Int
    /// The number of features in each row of `x`.
    public var featureCount: Int

    /// A batch from flattened `(batchSize, featureCount)` features and `batchSize` labels.
    public init(x: [Float], y: [Float], batchSize: Int, featureCount: Int) {
        self.x = x
        self.y = y
        self.batchSize = batchSize
        self.featureCount = featureCount
    }
}

/// Section 8.1's autoregressive data: each feature row holds τ consecutive values and its label
/// is the value that follows: `features[i] = x[i..<i+τ]`, `labels[i] = x[i+τ]`.
public struct LaggedFeatures: MinibatchDataset, Sendable {
    /// The number of past values in each feature row (τ).
    public let tau: Int
    /// `count × tau`, row-major.
    public let features: [Float]
    /// The value following each feature row: `labels[i] = x[i+τ]`.
    public let labels: [Float]

    /// Builds the `T - τ` examples of a series (the book: τ = 4).
    public init(series: [Float], tau: Int = 4) {
        self.tau = tau
        let rows = max(0, series.count - tau)
        var features: [Float] = []
        features.reserveCapacity(rows * tau)
        for i in 0..<rows { features += series[i..<i + tau] }
        self.features = features
        labels = Array(series.dropFirst(tau))
    }

    private init(tau: Int, features: [Float], labels: [Float]) {
        self.tau = tau
        self.features = features
        self.labels = labels
    }

    /// The number of examples (`T - τ` for a whole series, fewer after `prefix`).
    public var count: Int { labels.count }

    /// The first `n` examples (the book trains on the first 600).
    public func prefix(_ n: Int) -> LaggedFeatures {
        let n = min(n, count)
        return LaggedFeatures(tau: tau, features: Array(features[0..<n * tau]), labels: Array(labels[0..<n]))
    }

    /// Gathers the feature rows and labels at `indices` into a `(indices.count, tau)` batch.
    public func batch(_ indices: [Int]) -> FloatBatch {
        var batch = FloatBatch(x: [], y: [], batchSize: indices.count, featureCount: tau)
        for i in indices {
            batch.x += features[i * tau..<(i + 1) * tau]
            batch.y.append(labels[i])
        }
        return batch
    }
}

/// Section 10.2's regression data: `f(x) = 2 sin x + x^0.8`, training inputs sorted uniform in
/// [0, 5) with noise N(0, 0.5²), test inputs `arange(0, 5, 0.1)` with noiseless targets.
public struct KernelRegressionData: Sendable {
    /// The training inputs, uniform in [0, 5) and sorted.
    public let xTrain: [Float]
    /// The noisy training targets, `f(xTrain) + N(0, noiseStd²)`.
    public let yTrain: [Float]
    /// The 50 test inputs 0, 0.1, ..., 4.9 (`arange(0, 5, 0.1)`).
    public let xTest: [Float]
    /// `f(xTest)`, the curve the estimate should approach.
    public let yTruth: [Float]

    /// The target function.
    public static func f(_ x: Float) -> Float {
        Float(2 * sin(Double(x)) + pow(Double(x), 0.8))
    }

    /// Draws the data (the book: 50 training points, noise standard deviation 0.5).
    public init(trainCount: Int = 50, noiseStd: Double = 0.5, rng: inout DataRNG) {
        // Float rounding could turn a double just below 5 into 5.0; keep the interval half-open.
        xTrain = (0..<trainCount).map { _ in min(Float(rng.nextDouble() * 5), Float(5).nextDown) }.sorted()
        yTrain = xTrain.map { Self.f($0) + Float(rng.gaussian(mean: 0, std: noiseStd)) }
        xTest = (0..<50).map { Float(Double($0) * 0.1) }
        yTruth = xTest.map(Self.f)
    }
}
