// The fused recurrent cells (tanh RNN, GRU, LSTM) on every device: one step of each primitive with
// poisoned outputs, and whole sequences (both directions) of `recurrentSequence`, against float64.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("RecurrentCell", .serialized) struct RecurrentCellTests {
    static let cells: [CellKind] = [.rnnTanh, .gru, .lstm]

    /// One `recurrentSequence` on random inputs: gate inputs (T, B, G·H) and b_hh in ±1, W_hh
    /// (G·H, H) in ±`wRange`, h0 and c0 (B, H) in ±1, drawn in that order.
    struct SequenceCase {
        let cell: CellKind, T: Int, B: Int, H: Int
        let gi: [Double], w: [Double], b: [Double], h0: [Double], c0: [Double]

        init(_ cell: CellKind, T: Int, B: Int, H: Int, wRange: Double, rng: inout TestRNG) {
            let G = cell.gates
            self.cell = cell; self.T = T; self.B = B; self.H = H
            gi = rng.array(T * B * G * H); w = rng.array(G * H * H, -wRange, wRange); b = rng.array(G * H)
            h0 = rng.array(B * H); c0 = rng.array(B * H)
        }

        /// gi, W_hh, b_hh, h0, and c0 for the LSTM only.
        func inputs(on backend: Backend, double: Bool = false) throws -> [Tensor] {
            let G = cell.gates
            return try [
                tensor(gi, [T, B, G * H], on: backend, double: double), tensor(w, [G * H, H], on: backend, double: double),
                tensor(b, [G * H], on: backend, double: double), tensor(h0, [B, H], on: backend, double: double)
            ]
                + (cell == .lstm ? [tensor(c0, [B, H], on: backend, double: double)] : [])
        }

        /// `recurrentSequence` of `inputs` (as `inputs(on:)` lays them out).
        func run(_ inputs: [Tensor], reverse: Bool) throws -> Tensor {
            try Tensor.recurrentSequence(
                cell, gi: inputs[0], wHH: inputs[1], bHH: inputs[2], h0: inputs[3],
                c0: inputs.count > 4 ? inputs[4] : nil, reverse: reverse)
        }

        /// The float64 reference's output.
        func expected(reverse: Bool) -> [Double] {
            Ref.recurrentSequence(cell, gi: gi, w: w, b: b, h0: h0, c0: c0, T: T, B: B, H: H, reverse: reverse)
        }
    }

    @Test(arguments: allDevices)
    func forwardStepWithPoisonedOutputs(device: Device) throws {
        try check(device, "fused cell forward steps") { bk in
            for cell in Self.cells {
                for (B, H) in [(1, 1), (3, 7), (2, 33)] {
                    var rng = TestRNG(UInt64(7 + B * H + cell.rawValue))
                    let G = cell.gates, T = 2, t = 1
                    let gi = rng.array(T * B * G * H, -2, 2), gh = rng.array(B * G * H, -2, 2), bias = rng.array(G * H)
                    let hPrev = rng.array(B * H), cells = rng.array((T + 1) * B * H)
                    let out = try poisoned([T, B, H], on: bk), hNext = try poisoned([B, H], on: bk)
                    let saved = try poisoned([T, B, 4 * H], on: bk), cellsT = try tensor(cells, [T + 1, B, H], on: bk)
                    try bk.cellForward(
                        cell, gi: try tensor(gi, [T, B, G * H], on: bk), gh: try tensor(gh, [B, G * H], on: bk),
                        bias: try tensor(bias, [G * H], on: bk), hPrev: try tensor(hPrev, [B, H], on: bk),
                        cells: cell == .lstm ? cellsT : nil, into: out, hNext: hNext, saved: saved,
                        step: CellStep(batch: B, hidden: H, t: t, slot: 1, prevOffset: 0))
                    var expH: [Double] = [], expC: [Double] = [], expS: [Double] = []
                    for b in 0..<B {
                        let r = Ref.recurrentCell(
                            cell, x: Array(gi[(t * B + b) * G * H..<(t * B + b + 1) * G * H]),
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
        }
    }

    /// The backward step on each device against the float64 CPU primitive (itself checked by
    /// finite differences in GradientTests), with every output poisoned.
    @Test(arguments: allDevices)
    func backwardStepWithPoisonedOutputs(device: Device) throws {
        try check(device, "fused cell backward steps") { bk in
            let cpu = CPUBackend.shared
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
                    try b.cellBackward(
                        cell, saved: try tensor(saved, [T, B, 4 * H], on: b, double: double),
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
        }
    }

    @Test(arguments: recurrentTargets)
    func sequencesMatchFloat64(_ target: DeviceVariant<RecurrentPath>) throws {
        try target.check(KernelVariants.$recurrent, "recurrent sequences (RNN, GRU, LSTM, both directions)") { bk in
            for cell in Self.cells {
                for reverse in [false, true] {
                    // The vector kernels take H in multiples of 8.
                    var rng = TestRNG(1234 + UInt64(cell.rawValue))
                    let s = SequenceCase(cell, T: 5, B: 3, H: target.variant == .vectors ? 16 : 9, wRange: 0.5, rng: &rng)
                    let y = try s.run(s.inputs(on: bk), reverse: reverse)
                    try expectClose(y, s.expected(reverse: reverse), rtol: 1e-4, atol: 1e-5, "\(cell) sequence reverse=\(reverse)")
                }
            }
        }
    }

    /// Sequences large enough for the CPU's split recurrence (batch rows across cores, W_hh packed
    /// once): outputs against the float64 reference, and gradients of Σ y·r against the float64
    /// per-step path (never split; checked by finite differences in GradientTests). Hidden 70
    /// leaves partial 16-column panels in both the forward (G·70) and the backward (70) products.
    @Test(arguments: recurrentTargets)
    func largeSequencesAndGradientsMatchFloat64(_ target: DeviceVariant<RecurrentPath>) throws {
        try target.check(KernelVariants.$recurrent, "large recurrent sequences and their gradients, both directions") { bk in
            let cpu = CPUBackend.shared
            for cell in Self.cells {
                for reverse in [false, true] {
                    var rng = TestRNG(77 + UInt64(cell.rawValue))
                    let s = SequenceCase(cell, T: 14, B: 20, H: target.variant == .vectors ? 72 : 70, wRange: 0.2, rng: &rng)
                    let rows = cell == .lstm ? s.T + 1 : s.T
                    let r = rng.array(rows * s.B * s.H)
                    func run(_ on: Backend, double: Bool) throws -> (y: Tensor, grads: [Tensor]) {
                        let inputs = try s.inputs(on: on, double: double).map { $0.requiringGrad() }
                        let y = try s.run(inputs, reverse: reverse)
                        try (y * tensor(r, y.shape, on: on, double: double)).sum().backward()
                        return (y, try inputs.map { try #require($0.grad) })
                    }
                    let (y, grads) = try run(bk, double: false)
                    try expectClose(y, s.expected(reverse: reverse), rtol: 1e-4, atol: 1e-4, "\(cell) large sequence reverse=\(reverse)")
                    let (_, reference) = try run(cpu, double: true)
                    for (i, (g, ref)) in zip(grads, reference).enumerated() {
                        try expectClose(
                            g, try ref.toDoubleArray(), rtol: 1e-3, atol: 1e-3, "\(cell) large sequence reverse=\(reverse) gradient \(i)")
                    }
                }
            }
        }
    }

    @Test(arguments: allDevices)
    func sgdStepMatchesFormula(device: Device) throws {
        try check(device, "sgd step", seed: 3) { bk, rng in
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
        }
    }
}
