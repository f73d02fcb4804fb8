// Embedding gather/scatter-add, permute/slice/concat (the strided copy), fills, dropout's
// counter-based masks, the fused Adam step and the global norm, on every device.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("Data movement, randomness, optimiser") struct DataMovementTests {
    @Test(arguments: allDevices)
    func embeddingGatherAndScatterAdd(device: Device) throws {
        try check(device, "embedding", seed: 14) { b, rng in
            for (vocab, dim, count) in [(1, 1, 1), (28, 7, 33), (257, 33, 7), (10, 3, 257)] {
                let table = rng.array(vocab * dim)
                var idx = rng.ints(count, below: vocab)
                idx[0] = -1  // out of range: a zero row forward, skipped backward
                let out = try poisoned([count, dim], on: b)
                let it = try Tensor(idx, on: b)
                try b.embedding(
                    table: try tensor(table, [vocab, dim], on: b), indices: it, scale: 1, positions: nil, dropout: nil,
                    into: out, count: count, dim: dim)
                let expected = Ref.embedding(table: table, indices: idx, dim: dim)
                try expectClose(out, expected, rtol: 0, atol: 0, "embedding (\(vocab), \(dim)) × \(count)")
                let g = rng.array(count * dim)
                let dTable = try poisoned([vocab, dim], on: b)
                try b.embeddingBackward(
                    gradOutput: try tensor(g, [count, dim], on: b), indices: it, scale: 1, dropout: nil, into: dTable,
                    count: count, dim: dim)
                let expectedGrad = Ref.embeddingBackward(gradOutput: g, indices: idx, vocab: vocab, dim: dim)
                try expectClose(dTable, expectedGrad, rtol: 1e-5, atol: 1e-5, "embedding scatter-add (\(vocab), \(dim)) × \(count)")
            }
        }
    }

    @Test(arguments: allDevices)
    func permuteSliceConcat(device: Device) throws {
        try check(device, "permute, slice, concat", seed: 15) { b, rng in
            for (shape, order) in [
                ([7], [0]), ([33, 7], [1, 0]), ([2, 3, 4, 5], [0, 2, 1, 3]), ([3, 1, 4, 2], [3, 2, 1, 0]), ([2, 3, 5], [2, 0, 1])
            ] {
                let x = rng.array(shape.reduce(1, *))
                let y = try tensor(x, shape, on: b).permuted(order)
                #expect(y.shape == order.map { shape[$0] })
                try expectClose(y, Ref.permute(x, shape: shape, order: order), rtol: 0, atol: 0, "permute \(shape) by \(order)")
            }
            let x = rng.array(4 * 7 * 3)
            let t = try tensor(x, [4, 7, 3], on: b)
            let s = try t.slice(axis: 1, 2..<5)
            let expectedSlice = (0..<4).flatMap { i in (2..<5).flatMap { j in (0..<3).map { x[(i * 7 + j) * 3 + $0] } } }
            try expectClose(s, expectedSlice, rtol: 0, atol: 0, "slice")
            let a1 = try t.slice(axis: 1, 0..<2), a2 = try t.slice(axis: 1, 2..<7)
            try expectClose(try Tensor.concat([a1, a2], axis: 1), x, rtol: 0, atol: 0, "concat of slices")
            let c0 = try Tensor.concat([try t.slice(axis: 0, 0..<1), try t.slice(axis: 0, 1..<4)], axis: 0)
            try expectClose(c0, x, rtol: 0, atol: 0, "concat along axis 0")
            // Int32 data moves too.
            let ints = try Tensor([Int32](0..<12), shape: [3, 4], on: b).permuted([1, 0])
            #expect(try ints.toInt32Array() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
            #expect(throws: DiveError.self) { try t.slice(axis: 1, 5..<9) }
            #expect(throws: DiveError.self) { try Tensor.concat([t, try t.slice(axis: 2, 0..<1)], axis: 1) }
        }
    }

    /// The fused embedding chain equals its parts: gather, scale, add positions, dropout (the same
    /// mask), forward and the table's gradient.
    @Test(arguments: allDevices)
    func fusedEmbeddingMatchesItsParts(device: Device) throws {
        try check(device, "fused embedding chain", seed: 17) { b, rng in
            let (V, B, T, D) = (11, 3, 5, 8)
            let idx = try Tensor((0..<(B * T)).map { Int32(($0 * 7) % (V + 1)) }, shape: [B, T], on: b)  // V is out of range
            let positions = try tensor(rng.array(T * D), [1, T, D], on: b)
            let probe = try tensor(rng.array(B * T * D), [B, T, D], on: b)
            var results: [[Double]] = []
            for fused in [true, false] {
                var same = TestRNG(5)
                let table = try tensor(same.array(V * D), [V, D], on: b).requiringGrad()
                let stream = RandomStream(seed: 4, offset: 3)
                let y =
                    fused
                    ? try Tensor.embedding(table, indices: idx, scale: 2.5, positions: positions, dropout: 0.25, stream: stream)
                    : try (Tensor.embedding(table, indices: idx) * 2.5 + positions).dropout(p: 0.25, stream: stream)
                try (y * probe).sum().backward()
                results.append(try y.toDoubleArray())
                results.append(try table.grad!.toDoubleArray())
            }
            for (i, name) in ["output", "table gradient"].enumerated() {
                let c = closeness(results[i], results[i + 2], rtol: 1e-5, atol: 1e-6)
                #expect(c <= 1, "fused embedding vs its parts, \(name) on \(device): \(c)")
            }
        }
    }

    /// Blocks of rows sliced at an aligned offset are views: the original sees writes into them, and
    /// concatenating them back, in order, shares that storage too; values and gradients are exact.
    @Test(arguments: allDevices)
    func rowBlocksAreViews(device: Device) throws {
        try check(device, "row blocks as views", seed: 16) { b, rng in
            let x = rng.array(3 * 32 * 32)
            let t = try tensor(x, [96, 32], on: b)
            let blocks = try (0..<3).map { try t.slice(axis: 0, ($0 * 32)..<($0 * 32 + 32)) }
            for (i, block) in blocks.enumerated() {
                try expectClose(block, Array(x[(i * 1024)..<(i * 1024 + 1024)]), rtol: 0, atol: 0, "block \(i)")
            }
            #expect(Tensor.joinWithoutCopy(blocks), "blocks of one tensor at 4 KiB offsets join without a copy on \(device)")
            #expect(!Tensor.joinWithoutCopy([blocks[1], blocks[0]]), "blocks out of order need a copy")
            try blocks[1].accumulate(try Tensor.ones([32, 32], on: b), scale: 2)
            var expected = x
            for j in 1024..<2048 { expected[j] += 2 }
            try expectClose(t, expected, rtol: 1e-6, atol: 1e-6, "the original sees a write into its view")
            try expectClose(try Tensor.concat(blocks, axis: 0), expected, rtol: 1e-6, atol: 1e-6, "concat of the views")
            // Gradients through views: concat(blocks) · w sends each block its rows of the gradient.
            let leaves = try (0..<3).map { try tensor(Array(expected[($0 * 1024)..<($0 * 1024 + 1024)]), [32, 32], on: b).requiringGrad() }
            let w = rng.array(32)
            try Tensor.concat(leaves, axis: 0).matmul(try tensor(w, [32, 1], on: b)).sum().backward()
            for leaf in leaves { try expectClose(leaf.grad!, (0..<1024).map { w[$0 % 32] }, rtol: 1e-6, atol: 1e-6, "gradient of a block") }
        }
    }

    @Test func counterRNGKnownAnswer() {
        // Stream 0's first number is SplitMix64's first output from state 0.
        #expect(CounterRNG.bits(seed: 0, counter: 0) == 0xE220_A839_7B1D_CDAF)
        #expect(CounterRNG.bits(seed: 0, counter: 1) == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test(arguments: allDevices)
    func dropoutMaskIsTheSameEverywhere(device: Device) throws {
        try check(device, "dropout", seed: 16) { b, rng in
            for n in awkwardSizes + [10_000] {
                let x = rng.array(n, 0.5, 1.5)
                let y = try poisoned([n], on: b)
                let mask = DropoutMask(p: 0.3, seed: 1234, offset: 77)
                try b.dropout(try tensor(x, [n], on: b), mask: mask, into: y)
                try expectClose(y, Ref.dropout(x, mask: mask), rtol: 1e-6, atol: 0, "dropout n=\(n)")
                // A data-parallel process's rows of a time-major tensor: blocks of 3·n/7 counters, strided.
                if n >= 7 {
                    let strided = DropoutMask(p: 0.3, seed: 1234, offset: 77, block: n / 7 * 3, stride: n)
                    let ys = try poisoned([n], on: b)
                    try b.dropout(try tensor(x, [n], on: b), mask: strided, into: ys)
                    try expectClose(ys, Ref.dropout(x, mask: strided), rtol: 1e-6, atol: 0, "strided dropout n=\(n)")
                }
                if n == 10_000 {
                    let kept = try y.toArray().filter { $0 != 0 }.count
                    #expect(abs(Double(kept) / Double(n) - 0.7) < 0.02, "dropout keeps about 1 - p")
                }
            }
        }
    }

    @Test(arguments: allDevices)
    func adamMatchesReferenceOverSteps(device: Device) throws {
        try check(device, "fused Adam", seed: 17) { b, rng in
            for decoupled in [false, true] {
                let n = 33
                var p = rng.array(n), m = [Double](repeating: 0, count: n), v = m
                let pt = try tensor(p, [n], on: b)
                let mt = try Tensor.zeros([n], on: b), vt = try Tensor.zeros([n], on: b)
                let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1)
                for step in 1...10 {
                    let g = rng.array(n)
                    pt.grad = try tensor(g, [n], on: b)
                    try pt.adamUpdate(
                        m: mt, v: vt,
                        hyper: AdamHyper(
                            lr: Float(lr), beta1: Float(b1), beta2: Float(b2), eps: Float(eps),
                            weightDecay: Float(wd), decoupled: decoupled, step: step))
                    Ref.adam(&p, &m, &v, g: g, scale: 1, step: step, lr: lr, b1: b1, b2: b2, eps: eps, wd: wd, decoupled: decoupled)
                }
                try expectClose(pt, p, rtol: 1e-4, atol: 1e-5, "\(decoupled ? "AdamW" : "Adam") after 10 steps")
            }
        }
    }

    /// Optimiser steps over a table of parameters (19 of awkward sizes: two launches of up to 16
    /// on OpenCL), with the book's clipping scale computed on the device, against float64.
    @Test(arguments: allDevices)
    func optimisersOverManyParametersWithClipping(device: Device) throws {
        try check(device, "SGD and AdamW over 19 parameters with the clipping scale", seed: 19) { b, rng in
            let sizes = (0..<19).map { [1, 7, 33, 257, 1000][$0 % 5] + $0 }
            for (theta, adam) in [(0.5, false), (1e6, false), (0.5, true)] {
                var p = sizes.map { rng.array($0) }, m = sizes.map { [Double](repeating: 0, count: $0) }, v = m
                let pt = try p.map { try tensor($0, [$0.count], on: b).requiringGrad() }
                let mt = try sizes.map { try Tensor.zeros([$0], on: b) }, vt = try sizes.map { try Tensor.zeros([$0], on: b) }
                for step in 1...3 {
                    let g = sizes.map { rng.array($0, -2, 2) }
                    for (t, gi) in zip(pt, g) { t.grad = try tensor(gi, [gi.count], on: b) }
                    let norm = g.joined().map { $0 * $0 }.reduce(0, +).squareRoot()
                    let scale = norm > theta ? theta / norm : 1
                    let st = try Tensor.clipScale(pt.map { try #require($0.grad) }, maxNorm: Float(theta))
                    try expectClose(st, [scale], rtol: 1e-5, atol: 0, "clip scale θ=\(theta)")
                    if adam {
                        try Tensor.adamUpdate(
                            pt, m: mt, v: vt, hyper: AdamHyper(lr: 0.01, weightDecay: 0.1, decoupled: true, step: step, gradScale: st))
                        for i in sizes.indices {
                            Ref.adam(
                                &p[i], &m[i], &v[i], g: g[i], scale: scale, step: step, lr: 0.01, b1: 0.9, b2: 0.999,
                                eps: 1e-8, wd: 0.1, decoupled: true)
                        }
                    } else {
                        try Tensor.sgdUpdate(pt, lr: 0.5, gradScale: st)
                        for i in sizes.indices { for j in p[i].indices { p[i][j] -= 0.5 * scale * g[i][j] } }
                    }
                }
                for i in sizes.indices {
                    try expectClose(
                        pt[i], p[i], rtol: 1e-4, atol: 1e-5, "\(adam ? "AdamW" : "SGD") θ=\(theta) parameter \(i) (\(sizes[i]))")
                }
            }
        }
    }

    /// In-place accumulation (an epoch's loss on the device) and broadcasting by one strided copy.
    @Test(arguments: allDevices)
    func accumulateAndBroadcast(device: Device) throws {
        try check(device, "accumulate and broadcast", seed: 20) { b, rng in
            for n in awkwardSizes {
                let x = rng.array(n), y = rng.array(n)
                let yt = try tensor(y, [n], on: b)
                try yt.accumulate(try tensor(x, [n], on: b), scale: 2.5)
                try yt.accumulate(try tensor(x, [n], on: b), scale: -1)
                try expectClose(yt, zip(x, y).map { $1 + 1.5 * $0 }, "accumulate n=\(n)")
            }
            for (from, to) in [([1, 3], [4, 3]), ([2, 1, 5], [2, 3, 5]), ([1], [257]), ([7, 1], [2, 7, 33])] {
                let x = rng.array(from.reduce(1, *))
                let xt = try tensor(x, from, on: b).requiringGrad()
                let y = try xt.broadcast(to: to)
                let (padded, total) = (Array(repeating: 1, count: to.count - from.count) + from, to.reduce(1, *))
                var expected = [Double](repeating: 0, count: total), grad = [Double](repeating: 0, count: x.count)
                for flat in 0..<total {
                    var rem = flat, src = 0, mul = 1
                    for d in stride(from: to.count - 1, through: 0, by: -1) {
                        let i = rem % to[d]; rem /= to[d]
                        src += (padded[d] == 1 ? 0 : i) * mul; mul *= padded[d]
                    }
                    expected[flat] = x[src]
                    grad[src] += Double(flat % 5)
                }
                try expectClose(y, expected, "broadcast \(from) → \(to)")
                try y.backward(try tensor((0..<total).map { Double($0 % 5) }, to, on: b))
                try expectClose(try #require(xt.grad), grad, "broadcast \(from) → \(to) gradient")
            }
        }
    }

    @Test(arguments: allDevices)
    func globalNormAndFill(device: Device) throws {
        try check(device, "global norm and fill", seed: 18) { b, rng in
            let parts = awkwardSizes.map { rng.array($0) }
            let norm = try Tensor.globalNorm(try parts.map { try tensor($0, [$0.count], on: b) })
            try expectClose(norm, [parts.flatMap { $0 }.map { $0 * $0 }.reduce(0, +).squareRoot()], rtol: 1e-5, atol: 0, "global norm")
            let f = try Tensor.full([7, 3], 2.5, on: b)
            #expect(try f.toArray() == [Float](repeating: 2.5, count: 21))
            let i = try Tensor.full([5], 9, dtype: .int32, on: b)
            #expect(try i.toInt32Array() == [9, 9, 9, 9, 9])
        }
    }
}
