// Finite-difference gradient checks for every op with a backward, in float64 on the CPU; and on
// every device, float32 gradients from autograd against those float64 ones.
import Dive
import DiveReference
import Foundation
import Testing

/// One differentiable op under test: builds its output from inputs on a backend.
struct GradCase: CustomStringConvertible, Sendable {
    let description: String
    let shapes: [[Int]]
    /// Inputs drawn in [lo, hi).
    var range: ClosedRange<Double> = -1...1
    let body: @Sendable ([Tensor], Backend) throws -> Tensor
}

let gradCases: [GradCase] = [
    GradCase(description: "add broadcast", shapes: [[3, 4], [4]]) { x, _ in try x[0] + x[1] },
    GradCase(description: "sub broadcast", shapes: [[3, 1], [1, 4]]) { x, _ in try x[0] - x[1] },
    GradCase(description: "mul broadcast", shapes: [[2, 3, 4], [3, 1]]) { x, _ in try x[0] * x[1] },
    GradCase(description: "div", shapes: [[3, 4], [3, 4]], range: 0.5...2) { x, _ in try x[0] / x[1] },
    GradCase(description: "scalar forms", shapes: [[5]], range: 0.5...2) { x, _ in try (2 - x[0] * 3 + 1) / 4 + 2 / x[0] },
    GradCase(description: "neg exp log", shapes: [[6]], range: 0.2...2) { x, _ in try (-x[0]).exp() + x[0].log() },
    GradCase(description: "tanh sigmoid", shapes: [[7]]) { x, _ in try x[0].tanh() * x[0].sigmoid() },
    GradCase(description: "relu", shapes: [[8]]) { x, _ in try x[0].relu() },
    GradCase(description: "sqrt pow", shapes: [[5]], range: 0.3...2) { x, _ in try x[0].sqrt() + x[0].pow(2.5) },
    GradCase(description: "sum mean max", shapes: [[3, 5, 2]]) { x, _ in
        try Tensor.concat(
            [
                x[0].sum(axis: 1), x[0].mean(axis: 0).reshaped([5, 2]).slice(axis: 0, 0..<3),
                x[0].max(axis: 2, keepDims: true).reshaped([3, 5]).slice(axis: 1, 0..<2)
            ], axis: 0)
    },
    GradCase(description: "matmul", shapes: [[3, 4], [4, 5]]) { x, _ in try x[0].matmul(x[1]) },
    GradCase(description: "matmul Aᵀ Bᵀ", shapes: [[4, 3], [5, 4]]) { x, _ in try x[0].matmul(x[1], transposeA: true, transposeB: true) },
    GradCase(description: "bmm Bᵀ shared", shapes: [[2, 3, 4], [1, 5, 4]]) { x, _ in try x[0].bmm(x[1], transposeB: true) },
    GradCase(description: "bmm Aᵀ", shapes: [[2, 4, 3], [2, 4, 5]]) { x, _ in try x[0].bmm(x[1], transposeA: true) },
    // Gradients gathered in place: x feeds three products (the second and third GEMMs add into the
    // first's result), and x and y share the gradient an add hands both (which must stay unshared).
    GradCase(description: "linear with ReLU", shapes: [[2, 3, 4], [5, 4], [5]]) { x, _ in
        try x[0].matmul(x[1], transposeB: true, bias: x[2], relu: true)
    },
    GradCase(description: "matmul gathers in place", shapes: [[2, 3, 4], [5, 4], [5, 4], [4, 5]]) { x, _ in
        try x[0].matmul(x[1], transposeB: true) * x[0].matmul(x[2], transposeB: true) + x[0].matmul(x[3])
    },
    GradCase(description: "shared add gradient, product first", shapes: [[3, 4], [3, 4], [4, 2], [4, 2]]) { x, _ in
        try x[0].matmul(x[3]) + (x[0] + x[1]).matmul(x[2])
    },
    GradCase(description: "shared add gradient, product last", shapes: [[3, 4], [3, 4], [4, 2], [4, 2]]) { x, _ in
        try (x[0] + x[1]).matmul(x[2]) + x[0].matmul(x[3]) + x[1].matmul(x[3])
    },
    GradCase(description: "permute reshape", shapes: [[2, 3, 4]]) { x, _ in try x[0].permuted([2, 0, 1]).reshaped([4, 6]) },
    GradCase(description: "slice concat", shapes: [[4, 3], [2, 3]]) { x, _ in try Tensor.concat([x[0].slice(axis: 0, 1..<3), x[1]], axis: 0)
    },
    GradCase(description: "masked softmax 1-D lens", shapes: [[2, 3, 5]]) { x, b in
        try x[0].maskedSoftmax(validLens: try Tensor([Int32(2), 4], on: b))
    },
    GradCase(description: "masked softmax 2-D lens", shapes: [[2, 3, 4]]) { x, b in
        try x[0].maskedSoftmax(validLens: try Tensor([Int32(1), 2, 3, 4, 0, 2], on: b))
    },
    GradCase(description: "cross-entropy smoothed, weighted", shapes: [[4, 6]]) { x, b in
        let w = try tensor([1, 0, 1, 0.5], [4], on: b, double: x[0].dtype == .float64)
        return try x[0].crossEntropy(targets: try Tensor([Int32(0), 5, 2, 3], on: b), weights: w, labelSmoothing: 0.1)
    },
    GradCase(description: "cross-entropy summed and scaled", shapes: [[4, 6]]) { x, b in
        let w = try tensor([1, 0, 1, 0.5], [4], on: b, double: x[0].dtype == .float64)
        return try x[0].crossEntropySum(targets: try Tensor([Int32(0), 5, 2, 3], on: b), weights: w, labelSmoothing: 0.1, scale: 0.3)
    },
    GradCase(description: "layernorm", shapes: [[3, 5], [5], [5]]) { x, _ in try x[0].layerNorm(gamma: x[1], beta: x[2]) },
    GradCase(description: "fused attention, lengths", shapes: [[2, 3, 4], [2, 5, 4], [2, 5, 3]]) { x, b in
        try Tensor.attention(query: x[0], key: x[1], value: x[2], validLens: try Tensor([Int32(3), 0], on: b)).output
    },
    GradCase(description: "fused attention, causal 2-D lengths", shapes: [[2, 3, 4], [2, 3, 4], [2, 3, 2]]) { x, b in
        try Tensor.attention(query: x[0], key: x[1], value: x[2], validLens: try Tensor([Int32(1), 2, 3, 0, 2, 3], on: b)).output
    },
    GradCase(description: "embedding", shapes: [[6, 3]]) { x, b in
        try Tensor.embedding(x[0], indices: try Tensor([Int32(1), 4, 1, 0, 5], shape: [5], on: b))
    },
    GradCase(description: "embedding scaled, positions, dropout", shapes: [[6, 3]]) { x, b in
        let positions = try tensor([0.5, -1, 2, 0.25, 1.5, -0.75], [2, 3], on: b, double: x[0].dtype == .float64)
        return try Tensor.embedding(
            x[0], indices: try Tensor([Int32(1), 4, 1, 0, 5, 7], shape: [3, 2], on: b), scale: 1.7,
            positions: positions, dropout: 0.3, stream: RandomStream(seed: 9))
    },
    GradCase(description: "dropout", shapes: [[20]]) { x, _ in try x[0].dropout(p: 0.4, stream: RandomStream(seed: 5)) },
    GradCase(description: "mse", shapes: [[4, 3], [4, 3]]) { x, _ in try x[0].mseLoss(x[1]) },
    GradCase(description: "copy broadcast", shapes: [[3, 1]]) { x, _ in try x[0].copy().broadcast(to: [3, 4]) },
    GradCase(description: "rnn tanh sequence", shapes: [[4, 2, 3], [3, 3], [3], [2, 3]]) { x, _ in
        try Tensor.recurrentSequence(.rnnTanh, gi: x[0], wHH: x[1], bHH: x[2], h0: x[3])
    },
    GradCase(description: "gru sequence", shapes: [[4, 2, 9], [9, 3], [9], [2, 3]]) { x, _ in
        try Tensor.recurrentSequence(.gru, gi: x[0], wHH: x[1], bHH: x[2], h0: x[3])
    },
    GradCase(description: "gru sequence reversed", shapes: [[3, 2, 6], [6, 2], [6], [2, 2]]) { x, _ in
        try Tensor.recurrentSequence(.gru, gi: x[0], wHH: x[1], bHH: x[2], h0: x[3], reverse: true)
    },
    GradCase(description: "lstm sequence with c_T", shapes: [[4, 2, 12], [12, 3], [12], [2, 3], [2, 3]]) { x, _ in
        try Tensor.recurrentSequence(.lstm, gi: x[0], wHH: x[1], bHH: x[2], h0: x[3], c0: x[4])
    },
    GradCase(description: "lstm sequence reversed", shapes: [[3, 1, 8], [8, 2], [8], [1, 2], [1, 2]]) { x, _ in
        try Tensor.recurrentSequence(.lstm, gi: x[0], wHH: x[1], bHH: x[2], h0: x[3], c0: x[4], reverse: true)
    }
]

@Suite("Gradients") struct GradientTests {
    /// Inputs and a projection vector drawn from one seed, so every device sees the same problem.
    static func problem(_ c: GradCase, seed: UInt64) -> (inputs: [[Double]], projection: [Double]) {
        var rng = TestRNG(seed)
        let inputs = c.shapes.map { rng.array($0.reduce(1, *), c.range.lowerBound, c.range.upperBound) }
        return (inputs, rng.array(4096))
    }

    /// Σ f(x)·r for a fixed r: a scalar whose gradient exercises the whole Jacobian.
    static func objective(_ c: GradCase, _ inputs: [Tensor], _ b: Backend, _ projection: [Double]) throws -> Tensor {
        let y = try c.body(inputs, b)
        let r = try tensor(Array(projection.prefix(y.count)), y.shape, on: b, double: y.dtype == .float64)
        return try (y * r).sum()
    }

    /// Analytic float64 gradients of the objective on the CPU.
    static func analytic(_ c: GradCase, _ p: (inputs: [[Double]], projection: [Double])) throws -> [[Double]] {
        let cpu = CPUBackend.shared
        let xs = try zip(p.inputs, c.shapes).map { try Tensor($0, shape: $1, on: cpu).requiringGrad() }
        try objective(c, xs, cpu, p.projection).backward()
        return try xs.map { try $0.grad!.toDoubleArray() }
    }

    @Test(arguments: gradCases)
    func finiteDifferences(_ c: GradCase) throws {
        let cpu = CPUBackend.shared
        let p = Self.problem(c, seed: 21)
        let grads = try Self.analytic(c, p)
        let h = 1e-6
        for (i, input) in p.inputs.enumerated() {
            var numeric = [Double](repeating: 0, count: input.count)
            for j in 0..<input.count {
                func value(_ delta: Double) throws -> Double {
                    var perturbed = p.inputs
                    perturbed[i][j] += delta
                    let xs = try zip(perturbed, c.shapes).map { try Tensor($0, shape: $1, on: cpu) }
                    return try Self.objective(c, xs, cpu, p.projection).item()
                }
                numeric[j] = (try value(h) - value(-h)) / (2 * h)
            }
            let closeness = closeness(grads[i], numeric, rtol: 1e-5, atol: 1e-6)
            #expect(
                closeness <= 1,
                "\(c): input \(i) gradient off by \(closeness)×; analytic \(grads[i].prefix(5)) numeric \(numeric.prefix(5))")
        }
    }

    /// On every device, float32 autograd gradients match the float64 ones checked above.
    @Test(arguments: allDevices)
    func deviceGradientsMatchFloat64(device: Device) throws {
        let b = try backend(device)
        for c in gradCases {
            let p = Self.problem(c, seed: 21)
            let expected = try Self.analytic(c, p)
            let xs = try zip(p.inputs, c.shapes).map { try tensor($0, $1, on: b).requiringGrad() }
            try Self.objective(c, xs, b, p.projection).backward()
            for (i, x) in xs.enumerated() {
                try expectClose(x.grad!, expected[i], rtol: 1e-3, atol: 1e-4, "\(c) input \(i) gradient")
            }
        }
        report(device, "autograd gradients of \(gradCases.count) ops")
    }
}
