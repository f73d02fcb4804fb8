// RNN, GRU and LSTM layers (2 layers, bidirectional, a given initial state) on every device:
// outputs, final states and every parameter gradient against a float64 reference composed from
// PyTorch's cell equations step by step.
import Dive
import DiveNN
import DiveReference
import Foundation
import Testing

/// The layer's defining equations in float64, one step at a time.
func referenceRecurrent(
    _ cell: CellKind, x: Tensor, p: [String: Tensor], h0: Tensor, c0: Tensor?,
    layers: Int, bidirectional: Bool
) throws -> (out: Tensor, h: Tensor, c: Tensor?) {
    let T = x.shape[0], B = x.shape[1], H = h0.shape[2], dirs = bidirectional ? 2 : 1
    var input = x
    var hs: [Tensor] = [], cs: [Tensor] = []
    for l in 0..<layers {
        var outs: [Tensor] = []
        for d in 0..<dirs {
            let sfx = "_l\(l)" + (d == 1 ? "_reverse" : ""), k = l * dirs + d
            let wih = p["weight_ih" + sfx]!, whh = p["weight_hh" + sfx]!, bih = p["bias_ih" + sfx]!, bhh = p["bias_hh" + sfx]!
            var h = try h0.slice(axis: 0, k..<(k + 1)).reshaped([B, H])
            var c = try c0?.slice(axis: 0, k..<(k + 1)).reshaped([B, H])
            var steps = [Tensor?](repeating: nil, count: T)
            for s in 0..<T {
                let t = d == 1 ? T - 1 - s : s
                let xt = try input.slice(axis: 0, t..<(t + 1)).reshaped([B, input.shape[2]])
                let gi = try xt.matmul(wih, transposeB: true) + bih, gh = try h.matmul(whh, transposeB: true) + bhh
                func gate(_ g: Tensor, _ i: Int) throws -> Tensor { try g.slice(axis: 1, (i * H)..<((i + 1) * H)) }
                switch cell {
                case .rnnTanh: h = try (gi + gh).tanh()
                case .gru:
                    let r = try (gate(gi, 0) + gate(gh, 0)).sigmoid(), z = try (gate(gi, 1) + gate(gh, 1)).sigmoid()
                    let n = try (gate(gi, 2) + r * gate(gh, 2)).tanh()
                    h = try (1 - z) * n + z * h
                case .lstm:
                    let i = try (gate(gi, 0) + gate(gh, 0)).sigmoid(), f = try (gate(gi, 1) + gate(gh, 1)).sigmoid()
                    let g = try (gate(gi, 2) + gate(gh, 2)).tanh(), o = try (gate(gi, 3) + gate(gh, 3)).sigmoid()
                    c = try f * c! + i * g
                    h = try o * c!.tanh()
                }
                steps[t] = try h.reshaped([1, B, H])
            }
            outs.append(try Tensor.concat(steps.map { $0! }, axis: 0))
            hs.append(try h.reshaped([1, B, H]))
            if let c { cs.append(try c.reshaped([1, B, H])) }
        }
        input = try Tensor.concat(outs, axis: 2)
    }
    return (input, try Tensor.concat(hs, axis: 0), cs.isEmpty ? nil : try Tensor.concat(cs, axis: 0))
}

/// Compares a layer's outputs, final state and parameter gradients (through a random projection of
/// all three) with the Float64 reference run on the same parameters, input `x` and initial state.
func expectLayerMatchesReference(
    _ layer: RecurrentLayer, output out: Tensor, state final: RecurrentState,
    x: Tensor, h0: Tensor, c0: Tensor?, _ what: String
) throws {
    var objective = try projection(out, seed: 13) + projection(final.h, seed: 14)
    if let c = final.c { objective = try objective + projection(c, seed: 15) }
    try objective.backward()

    let ref = try float64Parameters(layer)
    let r = try referenceRecurrent(
        layer.cell, x: x, p: ref, h0: h0, c0: c0, layers: layer.numLayers,
        bidirectional: layer.bidirectional)
    var refObjective = try projection(r.out, seed: 13) + projection(r.h, seed: 14)
    if let c = r.c { refObjective = try refObjective + projection(c, seed: 15) }
    try refObjective.backward()
    try expectClose(out, r.out, "\(what) output")
    try expectClose(final.h, r.h, "\(what) h_n")
    if let c = final.c { try expectClose(c, r.c!, "\(what) c_n") }
    try expectGradients(layer, ref, what)
}

/// Calls `body` with each cell kind as one layer and as two bidirectional layers (hidden 6) over
/// `inputSize` inputs, initialised from `seed`, and the layer's name for messages.
func forEachLayer(inputSize: Int, seed: UInt64, on b: Backend, _ body: (RecurrentLayer, String) throws -> Void) throws {
    for cell in [CellKind.rnnTanh, .gru, .lstm] {
        for (layers, bidi) in [(1, false), (2, true)] {
            let layer = try RecurrentLayer(
                cell, inputSize: inputSize, hiddenSize: 6, numLayers: layers, bidirectional: bidi,
                on: b, rng: HostRNG(seed: seed))
            try body(layer, "\(cell) layers \(layers) bidirectional \(bidi)")
        }
    }
}

/// The shape of the layer's state h (and c) for `batch` rows: (layers · directions, batch, hidden).
func stateShape(_ layer: RecurrentLayer, batch: Int) -> [Int] { [layer.numLayers * layer.directions, batch, layer.hiddenSize] }

@Suite("DiveNNRecurrentLayers", .serialized) struct RecurrentLayerTests {
    @Test(arguments: allDevices)
    func layersMatchFloat64(device: Device) throws {
        let b = try backend(device)
        let T = 4, B = 3, I = 5
        try forEachLayer(inputSize: I, seed: 11, on: b) { layer, name in
            let lstm = layer.cell == .lstm, sShape = stateShape(layer, batch: B)
            var data = TestRNG(12)
            let xv = data.array(T * B * I), hv = data.array(sShape.reduce(1, *)), cv = data.array(sShape.reduce(1, *))
            let state = RecurrentState(h: try f32(hv, sShape, on: b), c: lstm ? try f32(cv, sShape, on: b) : nil)
            let (out, final) = try layer(f32(xv, [T, B, I], on: b), state)
            try expectLayerMatchesReference(
                layer, output: out, state: final, x: f64(xv, [T, B, I]), h0: f64(hv, sShape),
                c0: lstm ? try f64(cv, sShape) : nil, name)
        }
        report(device, "RNN, GRU, LSTM layers (2 layers, bidirectional, initial state) and gradients")
    }

    /// Tokens read as one-hot vectors (a row gather of W_ihᵀ + b_ih) give the outputs and gradients
    /// of the explicit one-hot input.
    @Test(arguments: allDevices)
    func tokensReadAsOneHotMatchFloat64(device: Device) throws {
        let b = try backend(device)
        let T = 4, B = 3, V = 7
        let tokens = (0..<(T * B)).map { Int32(($0 * 5 + $0 / 4) % V) }  // every class, some twice in a step
        let oneHot = tokens.flatMap { t in (0..<V).map { $0 == Int(t) ? 1.0 : 0.0 } }
        try forEachLayer(inputSize: V, seed: 21, on: b) { layer, name in
            let (out, final) = try layer(oneHot: Tensor(tokens, shape: [T, B], on: b))
            let sShape = stateShape(layer, batch: B), zeros = [Double](repeating: 0, count: sShape.reduce(1, *))
            try expectLayerMatchesReference(
                layer, output: out, state: final, x: f64(oneHot, [T, B, V]), h0: f64(zeros, sShape),
                c0: layer.cell == .lstm ? try f64(zeros, sShape) : nil, "\(name), on tokens")
        }
        report(device, "RNN, GRU, LSTM layers on tokens read as one-hot (gather of W_ih) and gradients")
    }

    @Test(arguments: allDevices)
    func dropoutBetweenLayersOnlyInTraining(device: Device) throws {
        let b = try backend(device)
        let gru = try GRU(inputSize: 3, hiddenSize: 4, numLayers: 2, dropout: 0.5, on: b, rng: HostRNG(seed: 3))
        let x = try Tensor.ones([2, 2, 3], on: b)
        gru.eval()
        let a = try gru(x).output.toArray(), a2 = try gru(x).output.toArray()
        #expect(a == a2)
        gru.train()
        #expect(try gru(x).output.toArray() != a)
    }
}
