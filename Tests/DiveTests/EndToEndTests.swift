// End to end: the book's 8.1 model (MLP 4→10→1 on the noisy sine series, Adam lr 0.01,
// batch 16, 5 epochs) trains to the same losses on every device with the same seed.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("End to end") struct EndToEndTests {
    /// The 8.1 data: x_t = sin(0.01 t) + N(0, 0.2), t = 1...1000, features the τ = 4 previous values.
    static func sineData(seed: UInt64) -> (features: [Float], labels: [Float]) {
        var rng = TestRNG(seed)
        let series = (1...1000).map { t -> Double in
            // Box–Muller
            let u1 = max(rng.uniform(0, 1), 1e-300), u2 = rng.uniform(0, 1)
            return Foundation.sin(0.01 * Double(t)) + 0.2 * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2)
        }
        let tau = 4, count = series.count - tau
        var features = [Float](), labels = [Float]()
        for i in 0..<count {
            for j in 0..<tau { features.append(Float(series[i + j])) }
            labels.append(Float(series[i + tau]))
        }
        return (features, labels)
    }

    /// Trains the MLP on `device`; returns the mean training loss after each epoch.
    static func train(on device: Device, seed: UInt64) throws -> [Double] {
        let b = try backend(device)
        let data = sineData(seed: seed)
        let nTrain = 600, batch = 16, tau = 4
        var rng = TestRNG(seed + 1)
        func xavier(_ fanOut: Int, _ fanIn: Int) -> [Float] {
            let bound = (6.0 / Double(fanIn + fanOut)).squareRoot()
            return (0..<(fanOut * fanIn)).map { _ in Float(rng.uniform(-bound, bound)) }
        }
        let w1 = try Tensor(xavier(10, tau), shape: [10, tau], on: b).requiringGrad()
        let b1 = try Tensor.zeros([10], on: b).requiringGrad()
        let w2 = try Tensor(xavier(1, 10), shape: [1, 10], on: b).requiringGrad()
        let b2 = try Tensor.zeros([1], on: b).requiringGrad()
        let params = [w1, b1, w2, b2]
        let moments = try params.map { (try Tensor.zeros($0.shape, on: b), try Tensor.zeros($0.shape, on: b)) }
        let features = try Tensor(Array(data.features.prefix(nTrain * tau)), shape: [nTrain, tau], on: b)
        let labels = try Tensor(Array(data.labels.prefix(nTrain)), shape: [nTrain, 1], on: b)
        func net(_ x: Tensor) throws -> Tensor {
            try (x.matmul(w1, transposeB: true) + b1).relu().matmul(w2, transposeB: true) + b2
        }
        var step = 0, losses: [Double] = []
        for _ in 0..<5 {
            var order = Array(0..<nTrain)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for start in stride(from: 0, to: nTrain, by: batch) {
                let idx = try Tensor(order[start..<min(nTrain, start + batch)].map { Int32($0) }, on: b)
                let x = try Tensor.embedding(features, indices: idx), y = try Tensor.embedding(labels, indices: idx)
                // The book sums the per-example squared errors before backward.
                let d = try net(x) - y
                try (d * d).sum().backward()
                step += 1
                for (p, (m, v)) in zip(params, moments) {
                    try p.adamUpdate(m: m, v: v, hyper: AdamHyper(lr: 0.01, step: step))
                    p.zeroGrad()
                }
            }
            // The book's evaluation: mean squared error over the whole training set.
            let loss = try Autograd.withoutGrad { try net(features).mseLoss(labels).item() }
            losses.append(loss)
        }
        return losses
    }

    @Test func mlpTrainsToTheSameLossOnEveryDevice() throws {
        let reference = try Self.train(on: .cpu, seed: 42)
        print("[cpu] 8.1 MLP epoch losses: \(reference.map { String(format: "%.6f", $0) }.joined(separator: ", "))")
        #expect(reference.last! < 0.07, "the MLP learns the sine series (book: 0.0517)")
        #expect(reference.last! < reference.first!)
        for device in allDevices where device != .cpu {
            let losses = try Self.train(on: device, seed: 42)
            print("[\(device)] 8.1 MLP epoch losses: \(losses.map { String(format: "%.6f", $0) }.joined(separator: ", "))")
            for (a, e) in zip(losses, reference) {
                #expect(abs(a - e) <= 1e-4, "epoch loss on \(device) \(a) vs cpu \(e)")
            }
        }
    }
}
