// Attention layers and Transformer blocks on every device against float64 references composed
// from their equations (masked softmax with -1e6, batch-major heads, post-norm), with gradients.
import Dive
import DiveNN
import DiveReference
import Foundation
import Testing

/// softmax(QKᵀ/√d with the book's -1e6 mask) V in float64; lens per batch row, repeated over queries.
func referenceAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, lens: [Int]?) throws -> Tensor {
    let B = q.shape[0], Tq = q.shape[1], Tk = k.shape[1]
    let scores = try q.bmm(k, transposeB: true) * (1 / Double(q.shape[2]).squareRoot().floatValue)
    guard let lens else { return try scores.composedMaskedSoftmax(mask: nil).bmm(v) }
    let per = lens.count / B
    let mask = (0..<(B * Tq * Tk)).map { i -> Double in
        let b = i / (Tq * Tk), qi = (i / Tk) % Tq, j = i % Tk
        return j < lens[per == 1 ? b : b * Tq + qi] ? 1 : 0
    }
    return try scores.composedMaskedSoftmax(mask: f64(mask, [B, Tq, Tk])).bmm(v)
}

extension Double { var floatValue: Float { Float(self) } }

@Suite("DiveNNAttention", .serialized) struct AttentionLayerTests {
    @Test(arguments: allDevices)
    func bookDemos(device: Device) throws {
        let b = try backend(device)
        // 10.3: values = arange(40) as (1, 10, 4) repeated twice, lens [2, 6], keys ones → [[2,3,4,5]], [[10,11,12,13]].
        let values = try Tensor((0..<80).map { Float($0 % 40) }, shape: [2, 10, 4], on: b)
        let lens = try Tensor([Int32(2), 6], on: b)
        let add = try AdditiveAttention(keySize: 2, querySize: 20, numHiddens: 8, dropout: 0.1, on: b, rng: HostRNG(seed: 1))
        add.eval()
        let out = try add(Tensor.ones([2, 1, 20], on: b), Tensor.ones([2, 10, 2], on: b), values, validLens: lens)
        #expect(closeness(try out.toDoubleArray(), [2, 3, 4, 5, 10, 11, 12, 13], rtol: 1e-5, atol: 1e-4) <= 1)
        let dot = DotProductAttention(dropout: 0.5)
        dot.eval(); dot.keepsWeights = true
        let q = try Tensor.ones([2, 1, 2], on: b)
        let o2 = try dot(q, Tensor.ones([2, 10, 2], on: b), values, validLens: lens)
        #expect(closeness(try o2.toDoubleArray(), [2, 3, 4, 5, 10, 11, 12, 13], rtol: 1e-5, atol: 1e-4) <= 1)
        #expect(dot.attentionWeights?.shape == [2, 1, 10])
        // 10.5: MultiHeadAttention(100, 100, 100, 100, 5, 0.5) → (2, 4, 100).
        let mha = try MultiHeadAttention(
            keySize: 100, querySize: 100, valueSize: 100, numHiddens: 100, numHeads: 5, dropout: 0.5,
            on: b, rng: HostRNG(seed: 2))
        mha.eval()
        let y = try mha(
            Tensor.ones([2, 4, 100], on: b), Tensor.ones([2, 6, 100], on: b), Tensor.ones([2, 6, 100], on: b),
            validLens: Tensor([Int32(3), 2], on: b))
        #expect(y.shape == [2, 4, 100])
        #expect(mha.namedParameters().map(\.name) == ["W_q.weight", "W_k.weight", "W_v.weight", "W_o.weight"])
        report(device, "book attention demos")
    }

    @Test(arguments: allDevices)
    func multiHeadAndAdditiveMatchFloat64(device: Device) throws {
        let b = try backend(device)
        let B = 2, Tq = 3, Tk = 4, H = 6, heads = 2
        var data = TestRNG(5)
        let qv = data.array(B * Tq * H), kv = data.array(B * Tk * H), vv = data.array(B * Tk * H)
        for lens in [[3, 0], [1, 2, 3, 4, 2, 0]] {
            let lensT = try Tensor(lens.map { Int32($0) }, shape: lens.count == B ? [B] : [B, Tq], on: b)
            let mha = try MultiHeadAttention(
                keySize: H, querySize: H, valueSize: H, numHiddens: H, numHeads: heads, dropout: 0.3,
                on: b, rng: HostRNG(seed: 6))
            mha.eval()
            let y = try mha(f32(qv, [B, Tq, H], on: b), f32(kv, [B, Tk, H], on: b), f32(vv, [B, Tk, H], on: b), validLens: lensT)
            try projection(y, seed: 7).backward()
            let p = try float64Parameters(mha)
            func split(_ x: Tensor, _ T: Int) throws -> Tensor {
                try x.reshaped([B, T, heads, H / heads]).permuted([0, 2, 1, 3]).reshaped([B * heads, T, H / heads])
            }
            let q = try split(f64(qv, [B * Tq, H]).matmul(p["W_q.weight"]!, transposeB: true).reshaped([B, Tq, H]), Tq)
            let k = try split(f64(kv, [B * Tk, H]).matmul(p["W_k.weight"]!, transposeB: true).reshaped([B, Tk, H]), Tk)
            let v = try split(f64(vv, [B * Tk, H]).matmul(p["W_v.weight"]!, transposeB: true).reshaped([B, Tk, H]), Tk)
            let headLens =
                lens.count == B
                ? lens.flatMap { Array(repeating: $0, count: heads) }
                : (0..<B).flatMap { bi in (0..<heads).flatMap { _ in lens[(bi * Tq)..<((bi + 1) * Tq)] } }
            let o = try referenceAttention(q, k, v, lens: headLens)
            let concat = try o.reshaped([B, heads, Tq, H / heads]).permuted([0, 2, 1, 3]).reshaped([B * Tq, H])
            let yr = try concat.matmul(p["W_o.weight"]!, transposeB: true).reshaped([B, Tq, H])
            try projection(yr, seed: 7).backward()
            try expectClose(y, yr, "MHA lens \(lens)")
            try expectGradients(mha, p, "MHA lens \(lens)")
        }
        // Additive attention.
        let add = try AdditiveAttention(keySize: H, querySize: 5, numHiddens: 7, dropout: 0, on: b, rng: HostRNG(seed: 8))
        let qa = data.array(B * Tq * 5)
        let ya = try add(
            f32(qa, [B, Tq, 5], on: b), f32(kv, [B, Tk, H], on: b), f32(vv, [B, Tk, H], on: b), validLens: Tensor([Int32(2), 4], on: b))
        try projection(ya, seed: 9).backward()
        let p = try float64Parameters(add)
        let qh = try f64(qa, [B * Tq, 5]).matmul(p["W_q.weight"]!, transposeB: true).reshaped([B, Tq, 1, 7])
        let kh = try f64(kv, [B * Tk, H]).matmul(p["W_k.weight"]!, transposeB: true).reshaped([B, 1, Tk, 7])
        let scores = try (qh + kh).tanh().reshaped([B * Tq * Tk, 7]).matmul(p["w_v.weight"]!, transposeB: true).reshaped([B, Tq, Tk])
        let mask = (0..<(B * Tq * Tk)).map { i in Double((i % Tk) < [2, 4][i / (Tq * Tk)] ? 1 : 0) }
        let yar = try scores.composedMaskedSoftmax(mask: f64(mask, [B, Tq, Tk])).bmm(f64(vv, [B, Tk, H]))
        try projection(yar, seed: 9).backward()
        try expectClose(ya, yar, "additive attention")
        try expectGradients(add, p, "additive attention")
        report(device, "multi-head and additive attention with gradients")
    }

    @Test(arguments: allDevices)
    func transformerBlocksMatchFloat64(device: Device) throws {
        let b = try backend(device)
        let B = 2, T = 3, H = 4
        var data = TestRNG(21)
        let xv = data.array(B * T * H), ev = data.array(B * 5 * H)
        let enc = try TransformerEncoderBlock(numHiddens: H, ffnHiddens: 8, numHeads: 2, dropout: 0.1, on: b, rng: HostRNG(seed: 3))
        enc.eval()
        let y = try enc(f32(xv, [B, T, H], on: b), validLens: Tensor([Int32(2), 3], on: b))
        try projection(y, seed: 4).backward()
        let p = try float64Parameters(enc)
        func lin(_ x: Tensor, _ name: String, bias: Bool = false) throws -> Tensor {
            let s = x.shape
            var r = try x.reshaped([-1, s.last!]).matmul(p[name + ".weight"]!, transposeB: true)
            if bias { r = try r + p[name + ".bias"]! }
            return try r.reshaped(Array(s.dropLast()) + [r.shape[1]])
        }
        func ln(_ x: Tensor, _ name: String) throws -> Tensor {
            let mu = try x.mean(axis: -1, keepDims: true), d = try x - mu
            return try d / ((d * d).mean(axis: -1, keepDims: true) + 1e-5).sqrt() * p[name + ".weight"]! + p[name + ".bias"]!
        }
        func split(_ x: Tensor) throws -> Tensor { try x.reshaped([B, T, 2, 2]).permuted([0, 2, 1, 3]).reshaped([B * 2, T, 2]) }
        let x = try f64(xv, [B, T, H])
        let o = try referenceAttention(
            split(lin(x, "attention.W_q")), split(lin(x, "attention.W_k")), split(lin(x, "attention.W_v")), lens: [2, 2, 3, 3])
        let att = try lin(o.reshaped([B, 2, T, 2]).permuted([0, 2, 1, 3]).reshaped([B, T, H]), "attention.W_o")
        let y1 = try ln(att + x, "addnorm1.ln")
        let f = try lin(lin(y1, "ffn.dense1", bias: true).relu(), "ffn.dense2", bias: true)
        let yr = try ln(f + y1, "addnorm2.ln")
        try projection(yr, seed: 4).backward()
        try expectClose(y, yr, "encoder block")
        try expectGradients(enc, p, "encoder block")

        // Decoder block: training uses causal lengths; inference with a cache equals training's last row.
        let dec = try TransformerDecoderBlock(
            numHiddens: H, ffnHiddens: 8, numHeads: 2, dropout: 0.1, index: 0, on: b, rng: HostRNG(seed: 5))
        dec.eval()
        let encOut = try f32(ev, [B, 5, H], on: b), encLens = try Tensor([Int32(5), 2], on: b)
        let xs = try f32(xv, [B, T, H], on: b)
        let state = TransformerDecoderState(encOutputs: encOut, encValidLens: encLens, blocks: 1)
        let full = try Autograd.withoutGrad { () throws -> [Double] in
            // Eval mode has no causal lengths, so feed one step at a time as the book's inference does.
            var rows: [Tensor] = []
            for t in 0..<T { rows.append(try dec(xs.slice(axis: 1, t..<(t + 1)), state: state)) }
            return try Tensor.concat(rows, axis: 1).toDoubleArray()
        }
        dec.train()
        let trainState = TransformerDecoderState(encOutputs: encOut, encValidLens: encLens, blocks: 1)
        let causal = try dec(xs, state: trainState).toDoubleArray()  // dropout 0.1 is on: compare shapes only
        #expect(causal.count == full.count && state.cache[0]?.shape == [B, T, H])
        dec.eval()
        let causalEval = try Autograd.withoutGrad { () throws -> [Double] in
            // Same block in eval with the cache primed by the first T-1 inputs reproduces the last row.
            let s = TransformerDecoderState(encOutputs: encOut, encValidLens: encLens, blocks: 1)
            s.cache[0] = try xs.slice(axis: 1, 0..<(T - 1))
            return try dec(xs.slice(axis: 1, (T - 1)..<T), state: s).toDoubleArray()
        }
        var lastRows: [Double] = []
        for bi in 0..<B {
            let start: Int = (bi * T + T - 1) * H
            lastRows += full[start..<(start + H)]
        }
        #expect(closeness(causalEval, lastRows, rtol: 1e-4, atol: 1e-5) <= 1)
        report(device, "Transformer encoder block (with gradients) and decoder block cache")
    }

    @Test func positionalEncodingValues() throws {
        let pe = PositionalEncoding(numHiddens: 32, dropout: 0)
        let y = try pe(Tensor.zeros([1, 60, 32], on: cpu)).toDoubleArray()
        for (pos, i) in [(0, 0), (1, 0), (7, 6), (59, 30)] {
            let angle: Double = Double(pos) / pow(10000.0, Double(i) / 32.0)
            let s: Double = sin(angle), c: Double = cos(angle)
            #expect(abs(y[pos * 32 + i] - s) < 1e-5)
            #expect(abs(y[pos * 32 + i + 1] - c) < 1e-5)
        }
    }
}
