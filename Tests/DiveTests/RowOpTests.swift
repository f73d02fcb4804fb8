// Masked softmax, cross-entropy and layernorm primitives, forward and backward, on every device
// against float64, including the edge cases: valid length 0, one row, logits of ±1e4.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("Row ops") struct RowOpTests {
    @Test(arguments: rowTargets)
    func maskedSoftmaxForward(_ target: DeviceVariant<RowVariant>) throws {
        try target.check(KernelVariants.$rows, "masked softmax", seed: 7) { b, rng in
            for cols in awkwardSizes {
                for rows in [1, 7, 33] {
                    let x = rng.array(rows * cols, -5, 5)
                    let xt = try tensor(x, [rows, cols], on: b)
                    // No lengths; one length per row (2-D lens); one per batch item of 7 rows... when it divides.
                    var lensCases: [[Int32]?] = [nil, (0..<rows).map { Int32($0 % (cols + 1)) }]
                    if rows % 7 == 0 { lensCases.append((0..<(rows / 7)).map { _ in Int32(rng.next() % UInt64(cols + 1)) }) }
                    for lens in lensCases {
                        let y = try poisoned([rows, cols], on: b)
                        try b.maskedSoftmax(xt, validLens: try lens.map { try Tensor($0, on: b) }, into: y, rows: rows, cols: cols)
                        try expectClose(
                            y, Ref.softmax(x, rows: rows, cols: cols, lens: lens), rtol: 1e-5, atol: 1e-6,
                            "softmax \(rows)x\(cols) lens \(lens.map { "\($0.count)" } ?? "none")")
                    }
                }
            }
            // Large logits and an all-masked row (uniform, as the book's -1e6 gives).
            let x: [Double] = [1e4, -1e4, 0, 3, 1e4, 1e4, -1e4, -1e4]
            let y = try poisoned([2, 4], on: b)
            try b.maskedSoftmax(try tensor(x, [2, 4], on: b), validLens: try Tensor([Int32(3), 0], on: b), into: y, rows: 2, cols: 4)
            try expectClose(y, Ref.softmax(x, rows: 2, cols: 4, lens: [3, 0]), rtol: 1e-5, atol: 1e-7, "softmax with ±1e4 and length 0")
            #expect(try y.toArray().suffix(4) == [0.25, 0.25, 0.25, 0.25])
        }
    }

    @Test(arguments: rowTargets)
    func softmaxBackward(_ target: DeviceVariant<RowVariant>) throws {
        try target.check(KernelVariants.$rows, "softmax backward", seed: 8) { b, rng in
            for (rows, cols) in [(1, 1), (7, 33), (33, 257), (1, 7)] {
                let y = Ref.softmax(rng.array(rows * cols, -3, 3), rows: rows, cols: cols, lens: nil)
                let g = rng.array(rows * cols)
                let dx = try poisoned([rows, cols], on: b)
                let lens = (0..<rows).map { Int32($0 % (cols + 1)) }
                try b.softmaxBackward(
                    output: try tensor(y, [rows, cols], on: b), gradOutput: try tensor(g, [rows, cols], on: b),
                    validLens: try Tensor(lens, on: b), into: dx, rows: rows, cols: cols)
                let expected = Ref.softmaxBackward(y: y, dy: g, rows: rows, cols: cols, lens: lens)
                try expectClose(dx, expected, rtol: 1e-4, atol: 1e-6, "softmax backward \(rows)x\(cols)")
            }
        }
    }

    @Test(arguments: rowTargets)
    func crossEntropyForwardBackward(_ target: DeviceVariant<RowVariant>) throws {
        try target.check(KernelVariants.$rows, "cross-entropy", seed: 9) { b, rng in
            for classes in awkwardSizes {
                for rows in [1, 7, 33, 300] {
                    for eps in [0.0, 0.1] {
                        let x = rng.array(rows * classes, -4, 4)
                        let t = rng.ints(rows, below: classes)
                        let w = (0..<rows).map { Double($0 % 3 == 2 ? 0 : 1) }
                        let xt = try tensor(x, [rows, classes], on: b), tt = try Tensor(t, on: b), wt = try tensor(w, [rows], on: b)
                        let loss = try poisoned([rows], on: b)
                        try b.crossEntropy(
                            logits: xt, targets: tt, weights: wt, labelSmoothing: Float(eps), into: loss, rows: rows, classes: classes)
                        try expectClose(
                            loss, Ref.crossEntropy(x, targets: t, weights: w, eps: eps, classes: classes),
                            rtol: 1e-5, atol: 1e-5, "CE \(rows)x\(classes) ε=\(eps)")
                        let g = rng.array(rows)
                        let dx = try poisoned([rows, classes], on: b)
                        try b.crossEntropyBackward(
                            logits: xt, targets: tt, weights: wt, labelSmoothing: Float(eps),
                            gradLoss: try tensor(g, [rows], on: b), gradScale: 1, into: dx, rows: rows, classes: classes)
                        let expected = Ref.crossEntropyBackward(x, targets: t, weights: w, eps: eps, classes: classes, gradLoss: g)
                        try expectClose(dx, expected, rtol: 1e-4, atol: 1e-6, "CE backward \(rows)x\(classes) ε=\(eps)")
                    }
                }
            }
            // Logits of ±1e4 stay finite; a target out of range gives NaN rather than a wrong number.
            let big: [Double] = [1e4, -1e4, 0, -1e4, 1e4, 5]
            let loss = try poisoned([2], on: b)
            try b.crossEntropy(
                logits: try tensor(big, [2, 3], on: b), targets: try Tensor([Int32(1), 0], on: b), weights: nil,
                labelSmoothing: 0, into: loss, rows: 2, classes: 3)
            try expectClose(
                loss, Ref.crossEntropy(big, targets: [1, 0], weights: nil, eps: 0, classes: 3), rtol: 1e-5, atol: 1e-3, "CE at ±1e4")
            try b.crossEntropy(
                logits: try tensor(big, [2, 3], on: b), targets: try Tensor([Int32(3), 0], on: b), weights: nil,
                labelSmoothing: 0, into: loss, rows: 2, classes: 3)
            #expect(try loss.toArray()[0].isNaN)
        }
    }

    @Test(arguments: rowTargets)
    func layerNormForwardBackward(_ target: DeviceVariant<RowVariant>) throws {
        try target.check(KernelVariants.$rows, "layernorm", seed: 10) { b, rng in
            for cols in awkwardSizes {
                for rows in [1, 7, 33] {
                    let x = rng.array(rows * cols, -3, 3), gamma = rng.array(cols, 0.5, 1.5), beta = rng.array(cols)
                    let xt = try tensor(x, [rows, cols], on: b), gt = try tensor(gamma, [cols], on: b), bt = try tensor(beta, [cols], on: b)
                    let y = try poisoned([rows, cols], on: b), mean = try poisoned([rows], on: b), rstd = try poisoned([rows], on: b)
                    try b.layerNorm(xt, gamma: gt, beta: bt, eps: 1e-5, into: y, mean: mean, rstd: rstd, rows: rows, cols: cols)
                    try expectClose(
                        y, Ref.layerNorm(x, gamma: gamma, beta: beta, rows: rows, cols: cols, eps: 1e-5),
                        rtol: 1e-4, atol: 1e-4, "layernorm \(rows)x\(cols)")
                    // Backward against the analytic formula in float64.
                    let dy = rng.array(rows * cols)
                    let dx = try poisoned([rows, cols], on: b), dg = try poisoned([cols], on: b), db = try poisoned([cols], on: b)
                    try b.layerNormBackward(
                        xt, gradOutput: try tensor(dy, [rows, cols], on: b), gamma: gt, mean: mean, rstd: rstd,
                        into: dx, dGamma: dg, dBeta: db, rows: rows, cols: cols)
                    let (edx, edg, edb) = Ref.layerNormBackward(x, dy: dy, gamma: gamma, rows: rows, cols: cols, eps: 1e-5)
                    try expectClose(dx, edx, rtol: 1e-3, atol: 1e-4, "layernorm dx \(rows)x\(cols)")
                    try expectClose(dg, edg, rtol: 1e-4, atol: 1e-4, "layernorm dγ \(rows)x\(cols)")
                    try expectClose(db, edb, rtol: 1e-4, atol: 1e-4, "layernorm dβ \(rows)x\(cols)")
                }
            }
            // A large mean against a small spread must not cancel (the CPU kernel's one-sweep statistics).
            let cols = 300
            let x = rng.array(2 * cols, 999, 1001), gamma = [Double](repeating: 1, count: cols), beta = [Double](repeating: 0, count: cols)
            let y = try poisoned([2, cols], on: b), mean = try poisoned([2], on: b), rstd = try poisoned([2], on: b)
            try b.layerNorm(
                try tensor(x, [2, cols], on: b), gamma: try tensor(gamma, [cols], on: b), beta: try tensor(beta, [cols], on: b),
                eps: 1e-5, into: y, mean: mean, rstd: rstd, rows: 2, cols: cols)
            try expectClose(
                y, Ref.layerNorm(x, gamma: gamma, beta: beta, rows: 2, cols: cols, eps: 1e-5),
                rtol: 1e-3, atol: 2e-3, "layernorm of rows near 1000")
        }
    }

    /// AddNorm in one launch each way equals the composed LN(x + dropout(y)), values and every
    /// gradient, with and without dropout, on every device and row variant.
    @Test(arguments: rowTargets)
    func addNormMatchesComposed(_ target: DeviceVariant<RowVariant>) throws {
        try target.check(KernelVariants.$rows, "AddNorm fused equals composed") { b in
            for (rows, cols, p) in [(1, 1, Float(0)), (7, 33, 0.3), (64, 257, 0.1), (640, 32, 0.5)] {
                func run(_ fused: Bool) throws -> [[Double]] {
                    var rng = TestRNG(41)
                    let x = try tensor(rng.array(rows * cols, -2, 2), [rows, cols], on: b).requiringGrad()
                    let y = try tensor(rng.array(rows * cols, -2, 2), [rows, cols], on: b).requiringGrad()
                    let g = try tensor(rng.array(cols), [cols], on: b).requiringGrad()
                    let be = try tensor(rng.array(cols), [cols], on: b).requiringGrad()
                    let stream = RandomStream(seed: 9, offset: 77)
                    let out =
                        fused
                        ? try Tensor.addNorm(x, y, gamma: g, beta: be, dropout: p, stream: stream)
                        : try (x + (p > 0 ? y.dropout(p: p, stream: stream) : y)).layerNorm(gamma: g, beta: be)
                    try (out * tensor(rng.array(rows * cols), [rows, cols], on: b)).sum().backward()
                    return try [out, x.grad!, y.grad!, g.grad!, be.grad!].map { try $0.toDoubleArray() }
                }
                let fused = try run(true), composed = try run(false)
                for (i, name) in ["output", "dx", "dy", "dγ", "dβ"].enumerated() {
                    let c = closeness(fused[i], composed[i], rtol: 1e-4, atol: 1e-5)
                    #expect(c <= 1, "addNorm \(name) \(rows)x\(cols) dropout \(p) on \(target.device) (\(target.variant)): \(c)")
                }
            }
        }
    }
}
