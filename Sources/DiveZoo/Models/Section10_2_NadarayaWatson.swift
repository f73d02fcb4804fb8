// 10.2 Nadaraya–Watson kernel regression: 50 sorted training inputs x ~ U(0, 5), targets
// f(x) = 2 sin x + x^0.8 plus N(0, 0.5) noise, 50 test inputs 0, 0.1, …, 4.9. Average pooling,
// the nonparametric Gaussian-kernel estimator softmax(-(x - x_i)² / 2), and the parametric one
// with a learned width w, softmax(-((x - x_i) w)² / 2), trained leave-one-out by SGD (lr 0.5,
// 5 full-batch epochs, summed squared error). --plot draws both kernels' attention weights.
import Dive
import DiveData
import DiveNN
import Foundation

/// 10.2: Nadaraya–Watson kernel regression of f(x) = 2 sin x + x^0.8 from 50 noisy samples, by
/// average pooling, the Gaussian-kernel estimator, and the kernel with a width w learned by SGD.
public struct NadarayaWatsonRecipe: Recipe {
    /// Registered as `nadaraya-watson`: zh section 10.2, en 11.2.
    public let listing = RecipeListing(
        name: "nadaraya-watson", section: "10.2", enSection: "11.2",
        summary: "Nadaraya-Watson kernel regression: nonparametric and with a learned kernel width")

    /// The recipe; its settings come from `defaults`.
    public init() {}

    /// The book's training of w in every preset: SGD at lr 0.5, 5 full-batch epochs of 50 examples, no
    /// clipping.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        Hyperparameters(epochs: 5, lr: 0.5, batchSize: 50, optimizer: .sgd, clip: nil)
    }

    static func f(_ x: Double) -> Double { 2 * Foundation.sin(x) + Foundation.pow(x, 0.8) }

    /// The book's data: sorted x_train ~ U(0, 5)·… (50), y_train = f + N(0, 0.5), x_test = 0, 0.1, …, 4.9.
    public static func data(seed: UInt64) -> (xTrain: [Float], yTrain: [Float], xTest: [Float]) {
        let rng = HostRNG(seed: seed)
        let x = (0..<50).map { _ in rng.uniform() * 5 }.sorted()
        let y = x.map { f($0) + rng.normal(mean: 0, std: 0.5) }
        return (x.map(Float.init), y.map(Float.init), (0..<50).map { Float(Double($0) * 0.1) })
    }

    /// softmax(-((q - k) · w)² / 2) over the keys, then the weighted values: queries (n), keys and
    /// values (n, m), w (1) → predictions (n) and the weights (n, m).
    public static func kernelRegression(queries: Tensor, keys: Tensor, values: Tensor, w: Tensor?) throws -> (Tensor, Tensor) {
        let n = keys.shape[0], m = keys.shape[1]
        var d = try queries.reshaped([n, 1]) - keys  // (n, m)
        if let w { d = try d * w }
        let weights = try (d * d * Float(-0.5)).maskedSoftmax()  // (n, m)
        let out = try weights.reshaped([n, 1, m]).bmm(values.reshaped([n, m, 1]))  // (n, 1, 1)
        return (try out.reshaped([n]), weights)
    }

    /// Fits w leave-one-out, then reports each epoch's loss, w, the three estimators on the test inputs
    /// and their MSE against f; `--plot` adds both kernels' attention weights.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let backend = try options.backend
        let hyper = options.resolve(defaults(options.preset))
        let (xTrain, yTrain, xTest) = Self.data(seed: options.seed)
        let n = xTrain.count, nTest = xTest.count
        let truth = xTest.map { Self.f(Double($0)) }
        func mse(_ yHat: [Float]) -> Double {
            zip(yHat, truth).reduce(0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) } / Double(nTest)
        }

        // Test queries against every training pair.
        let testKeys = try Tensor((0..<nTest).flatMap { _ in xTrain }, shape: [nTest, n], on: backend)
        let testValues = try Tensor((0..<nTest).flatMap { _ in yTrain }, shape: [nTest, n], on: backend)
        let xTestT = try Tensor(xTest, shape: [nTest], on: backend)
        let average = Float(yTrain.reduce(0, +) / Float(n))
        let (nonparam, nonparamWeights) = try Autograd.withoutGrad {
            try Self.kernelRegression(queries: xTestT, keys: testKeys, values: testValues, w: nil)
        }
        let yNonparam = try nonparam.toArray()

        // Leave-one-out keys and values for training the width: row i holds every pair but i.
        let looKeys = (0..<n).flatMap { i in xTrain.enumerated().filter { $0.offset != i }.map(\.element) }
        let looValues = (0..<n).flatMap { i in yTrain.enumerated().filter { $0.offset != i }.map(\.element) }
        let keys = try Tensor(looKeys, shape: [n, n - 1], on: backend), values = try Tensor(looValues, shape: [n, n - 1], on: backend)
        let xT = try Tensor(xTrain, shape: [n], on: backend), yT = try Tensor(yTrain, shape: [n], on: backend)
        let w = try Tensor([Float(HostRNG(seed: options.seed &+ 1).uniform())], shape: [1], on: backend).requiringGrad()  // torch.rand(1)
        let optimizer = SGD([w], lr: hyper.lr)
        var lines: [String] = [], metrics: [String: Double] = [:], history: [EpochRecord] = []
        for epoch in 0..<hyper.epochs {
            optimizer.zeroGrad()
            let (yHat, _) = try Self.kernelRegression(queries: xT, keys: keys, values: values, w: w)
            let loss = try Loss.mse(yHat, yT, reduction: .sum)
            try loss.backward()
            try optimizer.step()
            let l = try loss.item()
            lines.append(String(format: "epoch %d, loss %.6f", epoch + 1, l))
            metrics["loss.\(epoch + 1)"] = l
            history.append(EpochRecord(epoch: epoch, loss: l, perplexity: nil, tokensPerSecond: 0, lr: Double(hyper.lr), seconds: 0))
        }
        let (param, paramWeights) = try Autograd.withoutGrad {
            try Self.kernelRegression(queries: xTestT, keys: testKeys, values: testValues, w: w)
        }
        let yParam = try param.toArray(), width = try w.item()
        lines.append(String(format: "learned w = %.4f", width))
        lines.append("x      truth    average  nonparametric  parametric")
        for i in stride(from: 0, to: nTest, by: 10) + [nTest - 1] {
            lines.append(String(format: "%.1f  %7.4f  %7.4f  %13.4f  %10.4f", xTest[i], truth[i], average, yNonparam[i], yParam[i]))
        }
        lines.append(
            String(
                format: "MSE against f on the test inputs: average %.4f, nonparametric %.4f, parametric %.4f",
                mse(Array(repeating: average, count: nTest)), mse(yNonparam), mse(yParam)))
        lines.append("(book: plots only; the learned kernel is narrower, so its weights concentrate near the diagonal)")
        metrics["w"] = width
        metrics["mse.average"] = mse(Array(repeating: average, count: nTest))
        metrics["mse.nonparametric"] = mse(yNonparam)
        metrics["mse.parametric"] = mse(yParam)
        for i in [0, 25, 49] { metrics["nonparametric.\(i)"] = Double(yNonparam[i]); metrics["parametric.\(i)"] = Double(yParam[i]) }
        var report = RecipeReport(lines: lines, metrics: metrics, history: history, curve: "loss")
        if options.plot != nil {
            report.figures = [
                (
                    "nonparametric",
                    SVGHeatmap.document(
                        [HeatmapPanel(flat: try nonparamWeights.toArray(), rows: nTest, columns: n)],
                        columns: 1, xLabel: "Sorted training inputs", yLabel: "Sorted testing inputs", title: "nonparametric kernel (10.2)")
                ),
                (
                    "parametric",
                    SVGHeatmap.document(
                        [HeatmapPanel(flat: try paramWeights.toArray(), rows: nTest, columns: n)],
                        columns: 1, xLabel: "Sorted training inputs", yLabel: "Sorted testing inputs", title: "learned kernel (10.2)")
                )
            ]
        }
        return report
    }
}
