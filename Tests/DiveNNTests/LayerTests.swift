// Linear, Embedding, LayerNorm, Dropout and Module bookkeeping on every device: forward and
// parameter gradients against float64 references written from each layer's equations.
import Dive
import DiveNN
import DiveReference
import Foundation
import Testing

@Suite("DiveNNLayers", .serialized) struct LayerTests {
    @Test(arguments: allDevices)
    func linearEmbeddingLayerNorm(device: Device) throws {
        let b = try backend(device), rng = HostRNG(seed: 1)
        var data = TestRNG(2)
        // Linear on (2, 3, 5) → 4.
        let lin = try Linear(5, 4, on: b, rng: rng)
        let xv = data.array(30)
        let y = try lin(f32(xv, [2, 3, 5], on: b))
        try projection(y, seed: 3).backward()
        let ref = try float64Parameters(lin)
        let yr = try (f64(xv, [6, 5]).matmul(ref["weight"]!, transposeB: true) + ref["bias"]!).reshaped([2, 3, 4])
        try projection(yr, seed: 3).backward()
        try expectClose(y, yr, "Linear forward")
        try expectGradients(lin, ref, "Linear")

        // Embedding.
        let emb = try Embedding(7, 3, on: b, rng: rng)
        let idx: [Int32] = [1, 6, 1, 0, 3, 2]
        let e = try emb(Tensor(idx, shape: [2, 3], on: b))
        try projection(e, seed: 4).backward()
        let eref = try float64Parameters(emb)
        let rows = try idx.map { try eref["weight"]!.slice(axis: 0, Int($0)..<(Int($0) + 1)) }
        let er = try Tensor.concat(rows, axis: 0).reshaped([2, 3, 3])
        try projection(er, seed: 4).backward()
        try expectClose(e, er, "Embedding forward")
        try expectGradients(emb, eref, "Embedding")

        // LayerNorm with non-trivial γ, β.
        let ln = try LayerNorm(6, on: b)
        try ln.weight.assign(data.array(6).map { Float($0) }); try ln.bias.assign(data.array(6).map { Float($0) })
        let lv = data.array(24, -3, 3)
        let l = try ln(f32(lv, [4, 6], on: b))
        try projection(l, seed: 5).backward()
        let lref = try float64Parameters(ln)
        let x = try f64(lv, [4, 6])
        let mu = try x.mean(axis: 1, keepDims: true), d = try x - mu
        let varc = try (d * d).mean(axis: 1, keepDims: true)
        let lr = try d / (varc + 1e-5).sqrt() * lref["weight"]! + lref["bias"]!
        try projection(lr, seed: 5).backward()
        try expectClose(l, lr, "LayerNorm forward")
        try expectGradients(ln, lref, "LayerNorm")
        report(device, "Linear, Embedding, LayerNorm forward and gradients")
    }

    @Test func namesCountsAndModes() throws {
        let rng = HostRNG(seed: 9)
        final class Net: Module {
            let embedding: Embedding, rnn: GRU, dense: Linear, drop = Dropout(0.5)
            init(rng: HostRNG) throws {
                embedding = try Embedding(10, 4, on: cpu, rng: rng)
                rnn = try GRU(inputSize: 4, hiddenSize: 3, numLayers: 2, bidirectional: true, on: cpu, rng: rng)
                dense = try Linear(6, 10, on: cpu, rng: rng)
                super.init()
                register("embedding", embedding); register("rnn", rnn); register("dense", dense); register("drop", drop)
            }
        }
        let net = try Net(rng: rng)
        let names = net.namedParameters().map(\.name)
        #expect(
            names.prefix(6) == [
                "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.weight_ih_l0_reverse"
            ])
        #expect(names.suffix(2) == ["dense.weight", "dense.bias"])
        #expect(net.parameter(named: "rnn.weight_ih_l1")?.shape == [9, 6])
        // PyTorch: 10·4 + GRU(4,3,2,bi) = 2·(9·4+9·3+18) + 2·(9·6+9·3+18) = 360, + 6·10+10.
        #expect(net.parameterCount == 40 + 360 + 70)
        let x = try Tensor.ones([100], on: cpu)
        #expect(try net.drop(x).toArray().contains(0))
        net.eval()
        #expect(!net.rnn.isTraining && !net.drop.isTraining)
        #expect(try net.drop(x).toArray() == [Float](repeating: 1, count: 100))
        net.train()
        #expect(net.drop.isTraining)
        // PyTorch default init bounds.
        let bound = Float(1 / 3.0.squareRoot())
        #expect(try net.rnn.weights[0][0].wHH.toArray().allSatisfy { abs($0) <= bound })
    }
}
