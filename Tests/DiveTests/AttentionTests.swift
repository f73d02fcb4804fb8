// The fused masked attention primitive on every device: forward against the float64
// definition, backward against float64 formulas, and against the composed GEMM + softmax + GEMM.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("Attention") struct AttentionTests {
    static let shapes: [(b: Int, tq: Int, tk: Int, d: Int, dv: Int)] = [
        (1, 1, 1, 1, 1), (2, 7, 33, 7, 1), (3, 10, 10, 8, 8), (1, 33, 7, 33, 5), (2, 4, 257, 4, 3),
        (2, 9, 70, 33, 5)  // long enough for the GEMM + softmax + GEMM path
    ]

    @Test(arguments: allDevices)
    func forwardMatchesDefinition(device: Device) throws {
        try check(device, "fused attention forward", seed: 11) { be, rng in
            for s in Self.shapes {
                let q = rng.array(s.b * s.tq * s.d), k = rng.array(s.b * s.tk * s.d), v = rng.array(s.b * s.tk * s.dv)
                // 1-D lengths (one per batch item, with a 0), 2-D causal lengths, and none.
                let lensCases: [[Int32]?] = [
                    nil, (0..<s.b).map { Int32(($0 * 5) % (s.tk + 1)) },
                    (0..<(s.b * s.tq)).map { Int32(min($0 % s.tq + 1, s.tk)) }
                ]
                for lens in lensCases {
                    let dims = AttentionDims(batch: s.b, queries: s.tq, keys: s.tk, depth: s.d, valueDepth: s.dv)
                    let out = try poisoned([s.b, s.tq, s.dv], on: be), w = try poisoned([s.b, s.tq, s.tk], on: be)
                    try be.attention(
                        q: try tensor(q, [s.b, s.tq, s.d], on: be), k: try tensor(k, [s.b, s.tk, s.d], on: be),
                        v: try tensor(v, [s.b, s.tk, s.dv], on: be), validLens: try lens.map { try Tensor($0, on: be) },
                        scale: 1 / Float(s.d).squareRoot(), into: out, weights: w, dims: dims)
                    let ref = Ref.attention(q: q, k: k, v: v, lens: lens, b: s.b, tq: s.tq, tk: s.tk, d: s.d, dv: s.dv)
                    try expectClose(out, ref.out, rtol: 1e-4, atol: 1e-5, "attention \(s) lens \(lens?.count ?? 0)")
                    try expectClose(w, ref.weights, rtol: 1e-4, atol: 1e-6, "attention weights \(s)")
                }
            }
        }
    }

    @Test(arguments: allDevices)
    func backwardMatchesFormulas(device: Device) throws {
        try check(device, "fused attention backward", seed: 12) { be, rng in
            for s in Self.shapes {
                let q = rng.array(s.b * s.tq * s.d), k = rng.array(s.b * s.tk * s.d), v = rng.array(s.b * s.tk * s.dv)
                let g = rng.array(s.b * s.tq * s.dv)
                let lens: [Int32] = (0..<s.b).map { Int32(($0 * 3) % (s.tk + 1)) }  // batch item 0 fully masked
                let ref = Ref.attention(q: q, k: k, v: v, lens: lens, b: s.b, tq: s.tq, tk: s.tk, d: s.d, dv: s.dv)
                let p = ref.weights, scale = 1 / Double(s.d).squareRoot()
                let (edq, edk, edv) = Ref.attentionBackward(
                    q: q, k: k, v: v, weights: p, gradOutput: g, lens: lens, scale: scale,
                    b: s.b, tq: s.tq, tk: s.tk, d: s.d, dv: s.dv)
                let dims = AttentionDims(batch: s.b, queries: s.tq, keys: s.tk, depth: s.d, valueDepth: s.dv)
                let dq = try poisoned([q.count], on: be), dk = try poisoned([k.count], on: be), dv = try poisoned([v.count], on: be)
                try be.attentionBackward(
                    q: try tensor(q, [q.count], on: be), k: try tensor(k, [k.count], on: be),
                    v: try tensor(v, [v.count], on: be), validLens: try Tensor(lens, on: be), weights: try tensor(p, [p.count], on: be),
                    gradOutput: try tensor(g, [g.count], on: be), scale: Float(scale),
                    into: dq, dk: dk, dv: dv, dims: dims)
                try expectClose(dq, edq, rtol: 1e-3, atol: 1e-5, "attention dQ \(s)")
                try expectClose(dk, edk, rtol: 1e-3, atol: 1e-5, "attention dK \(s)")
                try expectClose(dv, edv, rtol: 1e-3, atol: 1e-5, "attention dV \(s)")
            }
        }
    }

    /// The fused op and the composed GEMM + masked softmax + dropout + GEMM agree, values and
    /// gradients, including a long sequence, with dropout on the weights and without.
    @Test(arguments: allDevices)
    func fusedMatchesComposed(device: Device) throws {
        try check(device, "fused attention equals composed, with and without dropout", seed: 13) { be, rng in
            for (b, t, d, p) in [(4, 10, 16, Float(0)), (2, 128, 32, 0), (4, 10, 16, 0.3), (3, 7, 8, 0.5), (2, 128, 32, 0.2)] {
                let lens = try Tensor((0..<b).map { Int32(max(1, t - 3 * $0)) }, on: be)
                func run(_ fused: Bool) throws -> [[Double]] {
                    var local = TestRNG(99)
                    let q = try tensor(local.array(b * t * d), [b, t, d], on: be).requiringGrad()
                    let k = try tensor(local.array(b * t * d), [b, t, d], on: be).requiringGrad()
                    let v = try tensor(local.array(b * t * d), [b, t, d], on: be).requiringGrad()
                    // Dropout on the weights: the same stream position, so the same mask both ways.
                    let stream = RandomStream(seed: 42, offset: 1000)
                    let r =
                        fused
                        ? try Tensor.attention(query: q, key: k, value: v, validLens: lens, dropout: p, stream: stream)
                        : try Tensor.composedAttention(query: q, key: k, value: v, validLens: lens, dropout: p, stream: stream)
                    let weights = try tensor(local.array(b * t * d), [b, t, d], on: be)
                    try (r.output * weights).sum().backward()
                    return [
                        try r.output.toDoubleArray(), try q.grad!.toDoubleArray(), try k.grad!.toDoubleArray(), try v.grad!.toDoubleArray()
                    ]
                }
                _ = rng.next()
                let fused = try run(true), composed = try run(false)
                for (i, name) in ["output", "dQ", "dK", "dV"].enumerated() {
                    let c = closeness(fused[i], composed[i], rtol: 1e-3, atol: 1e-5)
                    #expect(c <= 1, "fused vs composed attention \(name) (\(b), \(t), \(d)) dropout \(p) on \(device): \(c)")
                }
            }
        }
    }

    /// Heads read in place from (B, T, h·D) equal the book's split into (B·h, T, D), attention,
    /// merge: outputs, weights and every gradient, with dropout and lengths, short and long sequences.
    @Test(arguments: allDevices)
    func headsInPlaceMatchSplitHeads(device: Device) throws {
        try check(device, "multi-head attention reading heads in place") { be in
            for (b, h, t, d, p, causal) in [
                (2, 4, 10, 8, Float(0.2), false), (3, 2, 7, 5, 0, true), (2, 4, 129, 32, 0.1, false),
                (2, 2, 129, 32, 0, true)
            ] {
                // Lengths per item, or per query (causal, 1...t): heads share them in place; the split
                // version gets them repeated per head, as the book's repeat_interleave does.
                let perRow: [Int32] =
                    causal ? (0..<(b * t)).map { Int32($0 % t + 1 - ($0 / t) % 2) } : (0..<b).map { Int32(max(1, t - 2 * $0)) }
                let lens = try Tensor(perRow, on: be)
                let repeated = try Tensor(
                    causal ? (0..<b).flatMap { i in (0..<h).flatMap { _ in perRow[(i * t)..<(i * t + t)] } } : perRow, on: be)
                func run(_ inPlace: Bool) throws -> [[Double]] {
                    var rng = TestRNG(61)
                    let q = try tensor(rng.array(b * t * h * d), [b, t, h * d], on: be).requiringGrad()
                    let k = try tensor(rng.array(b * t * h * d), [b, t, h * d], on: be).requiringGrad()
                    let v = try tensor(rng.array(b * t * h * d), [b, t, h * d], on: be).requiringGrad()
                    let stream = RandomStream(seed: 3, offset: 10)
                    let out: Tensor, weights: Tensor
                    if inPlace {
                        let r = try Tensor.attention(query: q, key: k, value: v, validLens: lens, heads: h, dropout: p, stream: stream)
                        (out, weights) = (r.output, r.weights)
                    } else {
                        func split(_ x: Tensor) throws -> Tensor {
                            try x.reshaped([b, t, h, d]).permuted([0, 2, 1, 3]).reshaped([b * h, t, d])
                        }
                        let r = try Tensor.attention(
                            query: split(q), key: split(k), value: split(v), validLens: repeated, dropout: p, stream: stream)
                        out = try r.output.reshaped([b, h, t, d]).permuted([0, 2, 1, 3]).reshaped([b, t, h * d])
                        weights = r.weights
                    }
                    try (out * tensor(rng.array(b * t * h * d), [b, t, h * d], on: be)).sum().backward()
                    return try [out, weights, q.grad!, k.grad!, v.grad!].map { try $0.toDoubleArray() }
                }
                let inPlace = try run(true), split = try run(false)
                for (i, name) in ["output", "weights", "dQ", "dK", "dV"].enumerated() {
                    let c = closeness(inPlace[i], split[i], rtol: 1e-4, atol: 1e-5)
                    #expect(
                        c <= 1,
                        "heads in place vs split \(name) (\(b), \(h), \(t), \(d)) dropout \(p)\(causal ? " causal" : "") on \(device): \(c)"
                    )
                }
            }
        }
    }

    /// Packed projections, Q K V side by side in (B, T, 3·h·D) or K V in (B, Tk, 2·h·D), equal the
    /// same columns given apart: outputs, weights and the packed gradients, with dropout and
    /// lengths, short and long sequences (the long path splits heads by strided copies).
    @Test(arguments: allDevices)
    func packedProjectionsMatchSeparateOnes(device: Device) throws {
        try check(device, "attention over packed projections") { be in
            for (b, h, t, d, p) in [(2, 4, 10, 8, Float(0.2)), (3, 1, 7, 5, 0), (2, 2, 129, 32, 0.1)] {
                let w = h * d
                let lens = try Tensor((0..<b).map { Int32(max(1, t - 2 * $0)) }, on: be)
                func columns(_ x: Tensor, _ i: Int, of n: Int) throws -> Tensor {
                    try x.reshaped([b, t, n, w]).permuted([2, 0, 1, 3]).copy().reshaped([n, b * t * w])
                        .slice(axis: 0, i..<(i + 1)).reshaped([b, t, w])
                }
                for packKV in [false, true] {
                    func run(_ packed: Bool) throws -> [[Double]] {
                        var rng = TestRNG(71)
                        let q = try tensor(rng.array(b * t * w), [b, t, w], on: be).requiringGrad()
                        let all = try tensor(rng.array(b * t * 3 * w), [b, t, 3 * w], on: be).requiringGrad()  // (Q) K V
                        let kv = try tensor(rng.array(b * t * 2 * w), [b, t, 2 * w], on: be).requiringGrad()
                        let stream = RandomStream(seed: 3, offset: 10)
                        let r: AttentionResult
                        switch (packKV, packed) {
                        case (false, true): r = try Tensor.attention(packedQKV: all, validLens: lens, heads: h, dropout: p, stream: stream)
                        case (false, false):
                            r = try Tensor.attention(
                                query: columns(all, 0, of: 3), key: columns(all, 1, of: 3), value: columns(all, 2, of: 3),
                                validLens: lens, heads: h, dropout: p, stream: stream)
                        case (true, true):
                            r = try Tensor.attention(query: q, packedKV: kv, validLens: lens, heads: h, dropout: p, stream: stream)
                        case (true, false):
                            r = try Tensor.attention(
                                query: q, key: columns(kv, 0, of: 2), value: columns(kv, 1, of: 2),
                                validLens: lens, heads: h, dropout: p, stream: stream)
                        }
                        try (r.output * tensor(rng.array(b * t * w), [b, t, w], on: be)).sum().backward()
                        let grads = packKV ? [q.grad!, kv.grad!] : [all.grad!]
                        return try ([r.output, r.weights] + grads).map { try $0.toDoubleArray() }
                    }
                    let packed = try run(true), apart = try run(false)
                    for i in packed.indices {
                        let c = closeness(packed[i], apart[i], rtol: 1e-4, atol: 1e-5)
                        #expect(
                            c <= 1,
                            "packed \(packKV ? "K V" : "Q K V") vs apart, result \(i) (\(b), \(h), \(t), \(d)) dropout \(p) on \(device): \(c)"
                        )
                    }
                }
            }
        }
    }
}
