// The fused recurrent cells (tanh RNN, GRU, LSTM) on every device: one step of each primitive with
// poisoned outputs, and whole sequences (both directions) of `recurrentSequence`, against float64.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("RecurrentCell", .serialized) struct RecurrentCellTests {
    static let cells: [CellKind] = [.rnnTanh, .gru, .lstm]

    @Test(arguments: allDevices)
    func forwardStepWithPoisonedOutputs(device: Device) throws {
        let bk = try backend(device)
        for cell in Self.cells {
            for (B, H) in [(1, 1), (3, 7), (2, 33)] {
                var rng = TestRNG(UInt64(7 + B * H + cell.rawValue))
                let G = cell.gates, T = 2, t = 1
                let gi = rng.array(T * B * G * H, -2, 2), gh = rng.array(B * G * H, -2, 2), bias = rng.array(G * H)
                let hPrev = rng.array(B * H), cells = rng.array((T + 1) * B * H)
                let out = try poisoned([T, B, H], on: bk), hNext = try poisoned([B, H], on: bk)
                let saved = try poisoned([T, B, 4 * H], on: bk), cellsT = try tensor(cells, [T + 1, B, H], on: bk)
                try bk.cellForward(cell, gi: try tensor(gi, [T, B, G * H], on: bk), gh: try tensor(gh, [B, G * H], on: bk),
                                   bias: try tensor(bias, [G * H], on: bk), hPrev: try tensor(hPrev, [B, H], on: bk),
                                   cells: cell == .lstm ? cellsT : nil, into: out, hNext: hNext, saved: saved,
                                   step: CellStep(batch: B, hidden: H, t: t, slot: 1, prevOffset: 0))
                var expH: [Double] = [], expC: [Double] = [], expS: [Double] = []
                for b in 0..<B {
                    let r = Ref.recurrentCell(cell, x: Array(gi[(t * B + b) * G * H..<(t * B + b + 1) * G * H]),
                                          y: Array(gh[b * G * H..<(b + 1) * G * H]), bias: bias,
                                          h: Array(hPrev[b * H..<(b + 1) * H]),
                                          c: Array(cells[(B + b) * H..<(B + b + 1) * H]))
                    expH += r.h; expC += r.c; expS += r.saved
                }
                try expectClose(hNext, expH, "\(cell) h' (B \(B), H \(H))")
                let outRow = try out.slice(axis: 0, 1..<2)
                try expectClose(outRow, expH, "\(cell) out[t]")
                if cell != .rnnTanh { try expectClose(saved.slice(axis: 0, 1..<2), expS, "\(cell) saved gates") }
                if cell == .lstm { try expectClose(cellsT.slice(axis: 0, 2..<3), expC, "lstm c'") }
            }
        }
        report(device, "fused cell forward steps")
    }

    /// The backward step on each device against the float64 CPU primitive (itself checked by
    /// finite differences in GradientTests), with every output poisoned.
    @Test(arguments: allDevices)
    func backwardStepWithPoisonedOutputs(device: Device) throws {
        let bk = try backend(device), cpu = CPUBackend.shared
        for cell in Self.cells {
            let B = 3, H = 7, G = cell.gates, T = 2, t = 0
            var rng = TestRNG(99 + UInt64(cell.rawValue))
            let saved = rng.array(T * B * 4 * H, 0.05, 0.95), hPrev = rng.array(T * B * H), cells = rng.array((T + 1) * B * H)
            let out = rng.array(T * B * H), dOut = rng.array(T * B * H), dh = rng.array(B * H), dc = rng.array(B * H)
            func run(_ b: Backend, double: Bool) throws -> [Tensor] {
                let dhT = try tensor(dh, [B, H], on: b, double: double), dcT = try tensor(dc, [B, H], on: b, double: double)
                let dtype: DType = double ? .float64 : .float32
                let dGi = try poisoned([T, B, G * H], on: b, dtype: dtype), dGh = try poisoned([T, B, G * H], on: b, dtype: dtype)
                let dgh = try poisoned([B, G * H], on: b, dtype: dtype)
                try b.cellBackward(cell, saved: try tensor(saved, [T, B, 4 * H], on: b, double: double),
                                   hPrev: try tensor(hPrev, [T, B, H], on: b, double: double),
                                   cells: cell == .lstm ? try tensor(cells, [T + 1, B, H], on: b, double: double) : nil,
                                   out: try tensor(out, [T, B, H], on: b, double: double),
                                   gradOut: try tensor(dOut, [T, B, H], on: b, double: double), dh: dhT,
                                   dc: cell == .lstm ? dcT : nil, into: dGi, dGh: dGh, dgh: dgh,
                                   step: CellStep(batch: B, hidden: H, t: t, slot: 1, prevOffset: B * H))
                return [try dGi.slice(axis: 0, 0..<1), try dGh.slice(axis: 0, 0..<1), dgh, dhT, dcT]
            }
            let expected = try run(cpu, double: true).map { try $0.toDoubleArray() }
            for (name, (actual, exp)) in zip(["dgi", "dgh[t]", "dgh", "dh", "dc"], zip(try run(bk, double: false), expected)) {
                try expectClose(actual, exp, "\(cell) backward \(name)")
            }
        }
        report(device, "fused cell backward steps")
    }

    @Test(arguments: recurrentTargets)
    func sequencesMatchFloat64(_ target: DeviceVariant<RecurrentPath>) throws {
        try KernelVariants.$recurrent.withValue(target.variant) {
            let device = target.device
            let bk = try backend(device)
            for cell in Self.cells {
                for reverse in [false, true] {
                    // The vector kernels take H in multiples of 8.
                let T = 5, B = 3, H = target.variant == .vectors ? 16 : 9, G = cell.gates
                    var rng = TestRNG(1234 + UInt64(cell.rawValue))
                    let gi = rng.array(T * B * G * H), w = rng.array(G * H * H, -0.5, 0.5), b = rng.array(G * H)
                    let h0 = rng.array(B * H), c0 = rng.array(B * H)
                    let y = try Tensor.recurrentSequence(cell, gi: try tensor(gi, [T, B, G * H], on: bk),
                                                         wHH: try tensor(w, [G * H, H], on: bk), bHH: try tensor(b, [G * H], on: bk),
                                                         h0: try tensor(h0, [B, H], on: bk),
                                                         c0: cell == .lstm ? try tensor(c0, [B, H], on: bk) : nil, reverse: reverse)
                    let expected = Ref.recurrentSequence(cell, gi: gi, w: w, b: b, h0: h0, c0: c0, T: T, B: B, H: H, reverse: reverse)
                    try expectClose(y, expected, rtol: 1e-4, atol: 1e-5, "\(cell) sequence reverse=\(reverse)")
                }
            }
            report(device, "recurrent sequences (RNN, GRU, LSTM, both directions) (\(target.variant))")
        }
    }

    /// Sequences large enough for the CPU's split recurrence (batch rows across cores, W_hh packed
    /// once): outputs against the float64 reference, and gradients of Σ y·r against the float64
    /// per-step path (never split; checked by finite differences in GradientTests). Hidden 70
    /// leaves partial 16-column panels in both the forward (G·70) and the backward (70) products.
    @Test(arguments: recurrentTargets)
    func largeSequencesAndGradientsMatchFloat64(_ target: DeviceVariant<RecurrentPath>) throws {
        try KernelVariants.$recurrent.withValue(target.variant) {
            let device = target.device
            let bk = try backend(device), cpu = CPUBackend.shared
            for cell in Self.cells {
              for reverse in [false, true] {
                let T = 14, B = 20, H = target.variant == .vectors ? 72 : 70, G = cell.gates
                var rng = TestRNG(77 + UInt64(cell.rawValue))
                let gi = rng.array(T * B * G * H), w = rng.array(G * H * H, -0.2, 0.2), b = rng.array(G * H)
                let h0 = rng.array(B * H), c0 = rng.array(B * H)
                let rows = cell == .lstm ? T + 1 : T
                let r = rng.array(rows * B * H)
                func run(_ on: Backend, double: Bool) throws -> (y: Tensor, grads: [Tensor]) {
                    let inputs = try [tensor(gi, [T, B, G * H], on: on, double: double), tensor(w, [G * H, H], on: on, double: double),
                                      tensor(b, [G * H], on: on, double: double), tensor(h0, [B, H], on: on, double: double)]
                        .map { $0.requiringGrad() }
                    let c = cell == .lstm ? try tensor(c0, [B, H], on: on, double: double).requiringGrad() : nil
                    let y = try Tensor.recurrentSequence(cell, gi: inputs[0], wHH: inputs[1], bHH: inputs[2], h0: inputs[3], c0: c,
                                                     reverse: reverse)
                    try (y * tensor(r, y.shape, on: on, double: double)).sum().backward()
                    return (y, try (inputs + (c.map { [$0] } ?? [])).map { try #require($0.grad) })
                }
                let expected = Ref.recurrentSequence(cell, gi: gi, w: w, b: b, h0: h0, c0: c0, T: T, B: B, H: H, reverse: reverse)
                let (y, grads) = try run(bk, double: false)
                try expectClose(y, expected, rtol: 1e-4, atol: 1e-4, "\(cell) large sequence reverse=\(reverse)")
                let (_, reference) = try run(cpu, double: true)
                for (i, (g, ref)) in zip(grads, reference).enumerated() {
                    try expectClose(g, try ref.toDoubleArray(), rtol: 1e-3, atol: 1e-3, "\(cell) large sequence reverse=\(reverse) gradient \(i)")
                }
              }
            }
            report(device, "large recurrent sequences and their gradients, both directions (\(target.variant))")
        }
    }

    @Test(arguments: allDevices)
    func sgdStepMatchesFormula(device: Device) throws {
        let bk = try backend(device)
        var rng = TestRNG(3)
        for n in awkwardSizes {
            let p0 = rng.array(n), g = rng.array(n)
            for scale in [nil, 0.25] as [Double?] {
                let p = try tensor(p0, [n], on: bk).requiringGrad()
                p.grad = try tensor(g, [n], on: bk)
                try p.sgdUpdate(lr: 0.5, gradScale: try scale.map { try tensor([$0], [1], on: bk) })
                let s = scale ?? 1
                try expectClose(p, zip(p0, g).map { Double(Float($0) - Float(0.5) * Float(s) * Float($1)) }, "sgd n=\(n)")
            }
        }
        report(device, "sgd step")
    }
}
