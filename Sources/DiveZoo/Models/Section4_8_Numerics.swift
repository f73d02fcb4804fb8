// 4.8 Numerical stability and initialisation: the sigmoid's vanishing gradient, the exploding
// product of 100 Gaussian matrices, and why Xavier initialisation keeps activations' variance.
import Dive
import DiveData
import DiveNN
import Foundation

/// 4.8: the sigmoid's vanishing gradient, the exploding product of 100 Gaussian 4×4 matrices, and the
/// activations' variance through ten layers of width 256 under N(0, 1), N(0, 0.01) and Xavier weights.
public struct NumericsRecipe: Demonstration {
    /// Registered as `numerics`: zh section 4.8, en 5.4.
    public let listing = RecipeListing(
        name: "numerics", section: "4.8", enSection: "5.4",
        summary: "vanishing and exploding gradients, Xavier initialisation")
    /// 0: the demonstration has no minibatches.
    public let toyBatch = 0

    /// The demonstration; it has no settings of its own.
    public init() {}

    /// Runs the three computations on `options.device` and reports their figures beside the book's.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let backend = try options.backend
        var lines: [String] = [], metrics: [String: Double] = [:]

        // Vanishing: d sigmoid / dx on arange(-8, 8, 0.1), by autograd.
        let xs = (0..<160).map { Float(-8 + 0.1 * Double($0)) }
        let x = try Tensor(xs, on: backend).requiringGrad()
        try x.sigmoid().backward(Tensor.ones([xs.count], on: backend))
        let g = try x.grad!.toArray()
        let maxGrad = g.max()!
        lines.append(
            String(
                format: "sigmoid gradient: max %.4f at x = %.1f, %.2e at x = -8, %.2e at x = 7.9",
                maxGrad, xs[g.firstIndex(of: maxGrad)!], g.first!, g.last!))
        metrics["sigmoid_grad_max"] = Double(maxGrad)
        metrics["sigmoid_grad_at_-8"] = Double(g.first!)

        // Exploding: M = N(0,1)^{4×4}, then 100 more products.
        let rng = HostRNG(seed: options.seed)
        var m = try Initializer.normal(std: 1).make([4, 4], on: backend, rng: rng)
        lines.append("a single matrix:\n" + format(try m.toArray()))
        for _ in 0..<100 { m = try m.matmul(Initializer.normal(std: 1).make([4, 4], on: backend, rng: rng)) }
        let product = try m.toArray()
        lines.append("after multiplying 100 matrices:\n" + format(product))
        metrics["product_max_abs"] = Double(product.map(abs).max()!)

        // Xavier: variance of activations through 10 linear layers of width 256.
        let width = 256, batch = 64
        for (label, initializer) in [
            ("N(0, 1)", Initializer.normal(std: 1)),
            ("N(0, 0.01)", Initializer.normal(std: 0.01)),
            ("Xavier uniform", Initializer.xavierUniform())
        ] {
            var h = try Initializer.normal(std: 1).make([batch, width], on: backend, rng: rng)
            for _ in 0..<10 { h = try h.matmul(initializer.make([width, width], on: backend, rng: rng)) }
            let v = variance(try h.toArray())
            lines.append(String(format: "activation variance after 10 layers of %d with %@ weights: %.3g", width, label as NSString, v))
            metrics["variance.\(label)"] = v
        }
        lines.append(
            "(book 4.8: the sigmoid's gradient vanishes for |x| ≫ 0; the product of 100 Gaussian matrices explodes (entries ~1e23–1e27); Xavier keeps the variance near 1)"
        )
        return RecipeReport(lines: lines, metrics: metrics)
    }

    private func variance(_ v: [Float]) -> Double {
        let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
        return v.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(v.count)
    }

    private func format(_ m: [Float]) -> String {
        stride(from: 0, to: m.count, by: 4).map { r in
            "  [" + m[r..<(r + 4)].map { String(format: "%12.4e", $0) }.joined(separator: " ") + "]"
        }.joined(separator: "\n")
    }
}
