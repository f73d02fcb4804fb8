// 8.1 Sequence models: an MLP 4 → 10 (ReLU) → 1 with Xavier weights learns x_t from the four
// previous values of x = sin(0.01 t) + N(0, 0.2²), t = 1…1000; Adam 0.01, batch 16, 5 epochs on
// the first 600 examples, MSE summed over the batch. Then the book's 1-step, multi-step and
// k-step-ahead predictions, summarised by their mean squared error against the series.
import Dive
import DiveData
import DiveDistributed
import DiveNN
import Foundation

/// 8.1: an MLP learns x_t of a noisy sine from the τ = 4 values before it; the report compares its
/// 1-step, multistep and k-step-ahead predictions.
public struct SequenceModelRecipe: Recipe {
    /// Registered as `seq-model`: zh section 8.1, en 9.1.
    public let listing = RecipeListing(
        name: "seq-model", section: "8.1", enSection: "9.1",
        summary: "MLP on a noisy sine: 1-step and k-step-ahead prediction")
    /// The book's τ (previous values per example), series length T and number of training examples.
    public static let tau = 4, count = 1000, trainCount = 600

    /// The recipe; its settings come from `defaults`.
    public init() {}

    /// Batch 16, lr 0.01, 5 epochs, no clipping; Adam in zh, SGD in en.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        preset == .zh
            ? Hyperparameters(epochs: 5, lr: 0.01, batchSize: 16, optimizer: .adam, clip: nil)
            : Hyperparameters(epochs: 5, lr: 0.01, batchSize: 16, optimizer: .sgd, clip: nil)
    }

    /// The book's `get_net`: Linear(4, 10), ReLU, Linear(10, 1); Xavier uniform weights.
    final class MLP: Module {
        let l1: Linear, l2: Linear
        init(on backend: Backend, rng: HostRNG) throws {
            l1 = try Linear(SequenceModelRecipe.tau, 10, on: backend, rng: rng)
            l2 = try Linear(10, 1, on: backend, rng: rng)
            super.init()
            register("0", l1)
            register("2", l2)
            try initialize(.xavierUniform(), rng: rng) { $0.hasSuffix("weight") }
        }
        func callAsFunction(_ x: Tensor) throws -> Tensor { try l2(l1(x, relu: true)) }  // (N, 4) → (N, 1)
    }

    /// What `train` returns: the loss of every epoch and the errors of the predictions.
    public struct Result {
        /// The MSE over the training set after each epoch (the book's `evaluate_loss`).
        public var epochLosses: [Double]
        /// MSE of predictions against the series: "1-step", "multistep", "k=1", "k=4", "k=16", "k=64".
        public var predictionMSE: [(String, Double)]
    }

    /// Trains the MLP on the first 600 examples, the loss summed over each minibatch, then measures its
    /// predictions.
    public func train(_ options: RunOptions) throws -> Result {
        let backend = try options.backend
        let hyper = options.resolve(defaults(options.preset))
        var dataRNG = DataRNG(seed: options.seed)
        let series = SineSeries(count: Self.count, noiseStd: 0.2, rng: &dataRNG).x
        let lagged = LaggedFeatures(series: series, tau: Self.tau)
        let trainSet = lagged.prefix(Self.trainCount)
        let rng = HostRNG(seed: options.seed)
        let net = try MLP(on: backend, rng: rng)
        let optimizer = try Training.makeOptimizer(hyper.optimizer, net.parameters, lr: hyper.lr)
        var loader = try DataLoader(trainSet, batchSize: hyper.batchSize, shuffle: true, seed: options.seed)
        let log = try MetricsLog(options.metricsLog, keepEpochs: nil)
        let tensorboard = options.communicator.isRoot ? try options.tensorboard.map { try TensorBoardLog(folder: $0) } : nil
        var losses: [Double] = []
        let allX = try Tensor(trainSet.features, shape: [trainSet.count, Self.tau], on: backend)
        let allY = try Tensor(trainSet.labels, shape: [trainSet.count, 1], on: backend)
        for epoch in 0..<hyper.epochs {
            let t0 = Training.now()
            while let b = loader.next() {
                optimizer.zeroGrad()
                let x = try Tensor(b.x, shape: [b.batchSize, Self.tau], on: backend)
                let y = try Tensor(b.y, shape: [b.batchSize, 1], on: backend)
                let l = try Loss.mse(net(x), y, reduction: .sum)  // MSELoss(reduction='none').sum()
                try l.backward()
                try optimizer.step(gradScale: try hyper.clip.flatMap { try GradientClipping.scale(net.parameters, maxNorm: $0) })
                let value = try l.item()
                guard value.isFinite else { throw ZooError.nonFiniteLoss(steps: 0...0, epoch: epoch, value: value, lastCheckpoint: nil) }
            }
            // The book's evaluate_loss: mean squared error over the training set.
            let loss = try Autograd.withoutGrad { try Loss.mse(net(allX), allY).item() }
            losses.append(loss)
            let record = EpochRecord(
                epoch: epoch, loss: loss, perplexity: nil, tokensPerSecond: Double(trainSet.count) / (Training.now() - t0),
                lr: Double(optimizer.lr), seconds: Training.now() - t0)
            try log.write(record, recipe: name)
            tensorboard?.add(record)
            try tensorboard?.flush()
            options.progress?.endEpoch(record, of: hyper.epochs, metric: "")
        }
        return Result(epochLosses: losses, predictionMSE: try predictions(net, series: series, on: backend))
    }

    /// 1-step predictions on every window; multistep from n_train + τ on; k-step-ahead for k ∈ {1, 4, 16, 64}.
    func predictions(_ net: MLP, series x: [Float], on backend: Backend) throws -> [(String, Double)] {
        let tau = Self.tau, T = Self.count, nTrain = Self.trainCount
        func mse(_ pred: [Float], _ truth: ArraySlice<Float>) -> Double {
            zip(pred, truth).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(max(pred.count, 1))
        }
        return try Autograd.withoutGrad {
            let lagged = LaggedFeatures(series: x, tau: tau)
            let onestep = try net(Tensor(lagged.features, shape: [lagged.count, tau], on: backend)).toArray()
            var multi = [Float](repeating: 0, count: T)
            for i in 0..<(nTrain + tau) { multi[i] = x[i] }
            for i in (nTrain + tau)..<T {
                multi[i] = try net(Tensor(Array(multi[(i - tau)..<i]), shape: [1, tau], on: backend)).toArray()[0]
            }
            var out: [(String, Double)] = [
                ("1-step", mse(onestep, x[tau...])),
                ("multistep", mse(Array(multi[(nTrain + tau)...]), x[(nTrain + tau)...]))
            ]
            // k-step-ahead: features[:, i] = x_{t+i} for i < τ, then predicted columns τ…τ+63.
            let maxSteps = 64, rows = T - tau - maxSteps + 1
            var columns: [[Float]] = (0..<tau).map { i in Array(x[i..<(i + rows)]) }
            for i in tau..<(tau + maxSteps) {
                var flat = [Float](repeating: 0, count: rows * tau)
                for r in 0..<rows { for j in 0..<tau { flat[r * tau + j] = columns[i - tau + j][r] } }
                columns.append(try net(Tensor(flat, shape: [rows, tau], on: backend)).toArray())
            }
            for k in [1, 4, 16, 64] {
                // Column τ+k-1 predicts x at t = τ+k-1 … (the book's time[tau+k-1 : T-max_steps+k]).
                out.append(("k=\(k)", mse(columns[tau + k - 1], x[(tau + k - 1)..<(tau + k - 1 + rows)])))
            }
            return out
        }
    }

    /// Trains, then prints each epoch's loss and each prediction's MSE beside the book's losses.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let r = try train(options)
        var lines = r.epochLosses.enumerated().map { String(format: "epoch %d, loss: %f", $0.offset + 1, $0.element) }
        lines += r.predictionMSE.map { String(format: "%@ prediction MSE %.4f", $0.0 as NSString, $0.1) }
        lines.append(
            "(book, zh 8.1: epoch losses 0.076846, 0.056340, 0.053779, 0.056320, 0.051650; multistep and k ≥ 16 drift to a constant)")
        var metrics = ["loss": r.epochLosses.last ?? .nan]
        for (k, v) in r.predictionMSE { metrics["mse.\(k)"] = v }
        return RecipeReport(lines: lines, metrics: metrics)
    }
}
