// `dive check`: every kernel variant of a device against the CPU backend in float64 (BLAS's dgemm
// and plain loops, code shared with no OpenCL kernel and no float32 SIMD path), on awkward
// shapes (1, 7, 33, 257, non-multiples of every tile). Each check is one body run twice, in
// float32 on the device with a variant forced and in float64 on the CPU; it returns the tensors
// to compare (outputs and gradients).
import Dive
import DiveReference
import Foundation

/// The outcome of one check: an op and variant, the cases it ran and the worst normalised error
/// (|a - e| / (atol + rtol·|e|); ≤ 1 passes).
public struct CheckResult: Sendable {
    public var op: String, variant: String, device: String
    public var cases: Int
    /// Cases the variant cannot run by construction (the vector recurrences: H a multiple of 8).
    public var notApplicable = 0
    public var worst: Double
    public var failure: String?
    public var passed: Bool { failure == nil && worst <= 1 }

    public var textLine: String {
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        return pad(device, 10) + pad(op, 14) + pad(variant, 12) + String(format: "%4d cases  worst %-9.3g ", cases, worst)
            + (notApplicable > 0 ? "(\(notApplicable) n/a) " : "")
            + (passed ? "PASS" : "FAIL" + (failure.map { ": \($0)" } ?? ""))
    }

    public var jsonLine: String {
        let fail = failure.map { ", \"error\": \"\($0.replacingOccurrences(of: "\"", with: "'"))\"" } ?? ""
        return "{\"device\": \"\(device)\", \"op\": \"\(op)\", \"variant\": \"\(variant)\", \"cases\": \(cases), "
            + "\"not_applicable\": \(notApplicable), \"worst\": \(worst.isFinite ? String(format: "%.4g", worst) : "null"), \"pass\": \(passed)\(fail)}"
    }
}

public enum DeviceCheck {
    /// Thrown by a body whose forced variant cannot run its shape by construction.
    struct NotApplicable: Error {}

    /// A check body: builds its inputs on `backend` (Float64 when `double`) and returns the tensors to compare.
    typealias Body = (_ backend: Backend, _ double: Bool) throws -> [Tensor]

    struct Check {
        let op: String
        let rtol: Double, atol: Double
        let cases: [(String, Body)]
    }

    /// Runs every check on `device` (each OpenCL variant forced in turn), calling `progress` with
    /// each op's name as it starts and `emit` with each result.
    public static func run(device: Device, progress: (String) -> Void = { _ in }, emit: (CheckResult) -> Void) throws {
        let backend = try Backends.backend(for: device)
        let runsKernels = backend is KernelBackend
        for check in checks() {
            progress(check.op)
            for variant in variants(of: check.op, openCL: runsKernels) {
                emit(run(check, variant: variant, on: backend))
            }
        }
    }

    /// The variants an op has on a device family: "auto" on the CPU.
    static func variants(of op: String, openCL: Bool) -> [String] {
        guard openCL else { return ["auto"] }
        switch op {
        case "gemm", "linear": return GemmVariant.allCases.filter { $0 != .auto }.map(\.rawValue) + KernelVariants.gemmTileCandidates
        case "recurrent": return RecurrentPath.allCases.filter { $0 != .auto }.map(\.rawValue)
        case "softmax", "layernorm", "cross-entropy": return RowVariant.allCases.filter { $0 != .auto }.map(\.rawValue)
        default: return ["auto"]
        }
    }

    /// Runs `body` with the variant forced.
    static func forcing<R>(_ op: String, _ variant: String, _ body: () throws -> R) rethrows -> R {
        switch op {
        case "gemm", "linear":
            // A variant's name, or a gemm_lt tile's (run as localTiles with that tile).
            let tiles = GemmVariant(rawValue: variant) == nil ? variant : nil
            return try KernelVariants.$gemmTiles.withValue(tiles) {
                try KernelVariants.$gemm.withValue(GemmVariant(rawValue: variant) ?? .localTiles, operation: body)
            }
        case "recurrent": return try KernelVariants.$recurrent.withValue(RecurrentPath(rawValue: variant) ?? .auto, operation: body)
        case "softmax", "layernorm", "cross-entropy":
            return try KernelVariants.$rows.withValue(RowVariant(rawValue: variant) ?? .auto, operation: body)
        default: return try body()
        }
    }

    static func run(_ check: Check, variant: String, on backend: Backend) -> CheckResult {
        var result = CheckResult(op: check.op, variant: variant, device: backend.device.description, cases: 0, worst: 0)
        for (name, body) in check.cases {
            do {
                let actual = try forcing(check.op, variant) { try body(backend, false).map { try $0.toDoubleArray() } }
                let expected = try body(CPUBackend.shared, true).map { try $0.toDoubleArray() }
                for (a, e) in zip(actual, expected) {
                    result.worst = max(result.worst, DiveReference.closeness(a, e, rtol: check.rtol, atol: check.atol))
                }
                if result.worst > 1 && result.failure == nil {
                    result.failure = "\(name) off by \(String(format: "%.3g", result.worst))× the tolerance"
                }
            } catch is NotApplicable {
                result.notApplicable += 1
            } catch {
                result.failure = "\(name): \(error)"
            }
            result.cases += 1
        }
        return result
    }

    // MARK: inputs

    /// n values in [lo, hi) from the counter RNG, exactly representable in Float32.
    static func values(_ n: Int, seed: UInt64, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
        (0..<n).map { Double(Float(lo + (hi - lo) * Double(CounterRNG.uniform(seed: seed, counter: UInt64($0))))) }
    }

    static func tensor(
        _ shape: [Int], seed: UInt64, on b: Backend, double: Bool, grad: Bool = false,
        _ lo: Double = -1, _ hi: Double = 1
    ) throws -> Tensor {
        let v = values(shape.reduce(1, *), seed: seed, lo, hi)
        let t = double ? try Tensor(v, shape: shape, on: b) : try Tensor(v.map { Float($0) }, shape: shape, on: b)
        return grad ? t.requiringGrad() : t
    }

    /// Σ y·r for a fixed random r: a scalar whose gradient reaches every element of y.
    static func probe(_ y: Tensor, seed: UInt64, double: Bool) throws -> Tensor {
        try (y * tensor(y.shape, seed: seed, on: y.backend, double: double)).sum()
    }

    // MARK: the checks

    static func checks() -> [Check] {
        [
            gemmCheck(), linearCheck(), elementwiseCheck(), softmaxCheck(), layerNormCheck(), crossEntropyCheck(),
            attentionCheck(), embeddingCheck(), recurrentCheck(), optimiserCheck()
        ]
    }

    static func gemmCheck() -> Check {
        var cases: [(String, Body)] = []
        for (batch, m, n, k) in [(1, 1, 1, 1), (2, 7, 33, 5), (1, 257, 33, 65), (3, 33, 257, 7), (1, 129, 257, 65), (1, 300, 300, 300)] {
            for (tA, tB) in [(false, false), (true, false), (false, true), (true, true)] {
                cases.append(
                    (
                        "\(batch)×\(m)x\(n)x\(k) tA=\(tA) tB=\(tB)",
                        { b, double in
                            let a = try tensor([batch, tA ? k : m, tA ? m : k], seed: 1, on: b, double: double)
                            let x = try tensor([batch, tB ? n : k, tB ? k : n], seed: 2, on: b, double: double)
                            return [try a.bmm(x, transposeA: tA, transposeB: tB)]
                        }
                    ))
            }
        }
        return Check(op: "gemm", rtol: 1e-4, atol: 1e-3, cases: cases)
    }

    /// x Wᵀ + b (then ReLU) with the bias and activation in the GEMM's epilogue, and its gradients.
    static func linearCheck() -> Check {
        let shapes = [(1, 1, 1, false), (7, 33, 5, false), (257, 28, 33, true), (1120, 28, 256, false), (1120, 28, 256, true)]
        let cases: [(String, Body)] = shapes.map { rows, out, inp, relu in
            (
                "\(rows)x\(inp) → \(out)\(relu ? ", ReLU" : "")",
                { b, double in
                    let x = try tensor([rows, inp], seed: 3, on: b, double: double, grad: true)
                    let w = try tensor([out, inp], seed: 4, on: b, double: double, grad: true)
                    let bias = try tensor([out], seed: 5, on: b, double: double, grad: true)
                    let y = try x.matmul(w, transposeB: true, bias: bias, relu: relu)
                    try probe(y, seed: 6, double: double).backward()
                    return [y, x.grad!, w.grad!, bias.grad!]
                }
            )
        }
        return Check(op: "linear", rtol: 1e-4, atol: 1e-3, cases: cases)
    }

    static func elementwiseCheck() -> Check {
        let cases: [(String, Body)] = [1, 7, 33, 257].map { n in
            (
                "n=\(n)",
                { b, double in
                    let x = try tensor([n], seed: 7, on: b, double: double, grad: true, 0.1, 2)
                    let y = try tensor([1], seed: 8, on: b, double: double, grad: true)
                    let z = try ((x.exp() + x.log() * y).tanh().sigmoid() + x.relu() * x.sqrt()) / (x + 1)
                    let s = try z.sum(axis: 0, keepDims: true)
                    let acc = try tensor([n], seed: 9, on: b, double: double)
                    try acc.accumulate(z.detached(), scale: 0.5)
                    try probe(z, seed: 10, double: double).backward()
                    return [z, s, acc, x.grad!, y.grad!]
                }
            )
        }
        return Check(op: "elementwise", rtol: 1e-4, atol: 1e-5, cases: cases)
    }

    static func softmaxCheck() -> Check {
        var cases: [(String, Body)] = []
        for (rows, cols) in [(1, 1), (7, 33), (33, 257), (4096, 7)] {
            cases.append(
                (
                    "\(rows)x\(cols) with lengths",
                    { b, double in
                        let x = try tensor([rows, cols], seed: 11, on: b, double: double, grad: true, -5, 5)
                        let lens = try Tensor((0..<rows).map { Int32($0 % (cols + 1)) }, on: b)
                        let y = try x.maskedSoftmax(validLens: lens)
                        try probe(y, seed: 12, double: double).backward()
                        return [y, x.grad!]
                    }
                ))
        }
        return Check(op: "softmax", rtol: 1e-4, atol: 1e-6, cases: cases)
    }

    /// Layer norm alone, and fused with the residual sum and dropout before it (AddNorm).
    static func layerNormCheck() -> Check {
        var cases: [(String, Body)] = [(1, 1), (7, 33), (33, 257), (300, 7)].map { rows, cols in
            (
                "\(rows)x\(cols)",
                { b, double in
                    let x = try tensor([rows, cols], seed: 13, on: b, double: double, grad: true, -3, 3)
                    let g = try tensor([cols], seed: 14, on: b, double: double, grad: true)
                    let be = try tensor([cols], seed: 15, on: b, double: double, grad: true)
                    let y = try x.layerNorm(gamma: g, beta: be)
                    try probe(y, seed: 16, double: double).backward()
                    return [y, x.grad!, g.grad!, be.grad!]
                }
            )
        }
        for (rows, cols, p) in [(7, 33, Float(0)), (33, 257, 0.1), (640, 32, 0.3)] {
            cases.append(
                (
                    "addnorm \(rows)x\(cols) dropout \(p)",
                    { b, double in
                        let x = try tensor([rows, cols], seed: 33, on: b, double: double, grad: true, -3, 3)
                        let y = try tensor([rows, cols], seed: 34, on: b, double: double, grad: true, -3, 3)
                        let g = try tensor([cols], seed: 35, on: b, double: double, grad: true)
                        let be = try tensor([cols], seed: 36, on: b, double: double, grad: true)
                        let out = try Tensor.addNorm(x, y, gamma: g, beta: be, dropout: p, stream: RandomStream(seed: 37))
                        try probe(out, seed: 38, double: double).backward()
                        return [out, x.grad!, y.grad!, g.grad!, be.grad!]
                    }
                ))
        }
        return Check(op: "layernorm", rtol: 1e-3, atol: 1e-4, cases: cases)
    }

    static func crossEntropyCheck() -> Check {
        let cases: [(String, Body)] = [(1, 1, Float(0)), (7, 33, 0.1), (257, 28, 0), (33, 257, 0.2)].map { rows, classes, eps in
            (
                "\(rows)x\(classes) ε=\(eps)",
                { b, double in
                    let x = try tensor([rows, classes], seed: 17, on: b, double: double, grad: true, -4, 4)
                    let t = try Tensor((0..<rows).map { Int32(($0 * 7) % classes) }, on: b)
                    let w = try tensor([rows], seed: 18, on: b, double: double, 0, 1)
                    let l = try x.crossEntropy(targets: t, weights: w, labelSmoothing: eps)
                    try probe(l, seed: 19, double: double).backward()
                    let dRows = x.grad!
                    x.zeroGrad()
                    // The scaled sum, whose backward shares one gradient across the rows.
                    let s = try x.crossEntropySum(targets: t, weights: w, labelSmoothing: eps, scale: 0.7)
                    try (s * 1.3).sum().backward()
                    return [l, dRows, s, x.grad!]
                }
            )
        }
        return Check(op: "cross-entropy", rtol: 1e-4, atol: 1e-5, cases: cases)
    }

    static func attentionCheck() -> Check {
        var cases: [(String, Body)] = []
        for (batch, tq, tk, d, p) in [(1, 1, 1, 1, Float(0)), (8, 7, 10, 8, 0.1), (3, 33, 7, 16, 0), (2, 65, 129, 32, 0.2)] {
            cases.append(
                (
                    "(\(batch), \(tq), \(tk), \(d)) dropout \(p)",
                    { b, double in
                        let q = try tensor([batch, tq, d], seed: 20, on: b, double: double, grad: true)
                        let k = try tensor([batch, tk, d], seed: 21, on: b, double: double, grad: true)
                        let v = try tensor([batch, tk, d], seed: 22, on: b, double: double, grad: true)
                        let lens = try Tensor((0..<batch).map { Int32(($0 * 3) % (tk + 1)) }, on: b)
                        let r = try Tensor.attention(
                            query: q, key: k, value: v, validLens: lens, dropout: p,
                            stream: RandomStream(seed: 23))
                        try probe(r.output, seed: 24, double: double).backward()
                        return [r.output, r.weights, q.grad!, k.grad!, v.grad!]
                    }
                ))
        }
        for (items, heads, t, d, p, causal) in [
            (2, 4, 10, 8, Float(0.1), false), (2, 2, 129, 32, 0, false), (3, 4, 10, 8, 0.1, true),
            (2, 2, 129, 32, 0, true)
        ] {
            cases.append(
                (
                    "\(heads) heads in place (\(items), \(t), \(d)) dropout \(p)\(causal ? ", causal lengths" : "")",
                    { b, double in
                        let q = try tensor([items, t, heads * d], seed: 50, on: b, double: double, grad: true)
                        let k = try tensor([items, t, heads * d], seed: 51, on: b, double: double, grad: true)
                        let v = try tensor([items, t, heads * d], seed: 52, on: b, double: double, grad: true)
                        let lens = try Tensor(
                            causal ? (0..<(items * t)).map { Int32($0 % t + 1) } : (0..<items).map { Int32(t - $0) }, on: b)
                        let r = try Tensor.attention(
                            query: q, key: k, value: v, validLens: lens, heads: heads, dropout: p,
                            stream: RandomStream(seed: 53))
                        try probe(r.output, seed: 54, double: double).backward()
                        return [r.output, r.weights, q.grad!, k.grad!, v.grad!]
                    }
                ))
        }
        for (items, heads, tq, tk, d, p) in [(2, 4, 10, 10, 8, Float(0.1)), (2, 2, 7, 129, 32, 0)] {
            cases.append(
                (
                    "\(heads) heads, packed projections (\(items), \(tq), \(tk), \(d)) dropout \(p)",
                    { b, double in
                        let lens = try Tensor((0..<items).map { Int32(tk - $0) }, on: b)
                        let q = try tensor([items, tq, heads * d], seed: 55, on: b, double: double, grad: true)
                        let kv = try tensor([items, tk, 2 * heads * d], seed: 56, on: b, double: double, grad: true)
                        let r = try Tensor.attention(
                            query: q, packedKV: kv, validLens: lens, heads: heads, dropout: p, stream: RandomStream(seed: 57))
                        try probe(r.output, seed: 58, double: double).backward()
                        var results = [r.output, r.weights, q.grad!, kv.grad!]
                        if tq == tk {
                            let qkv = try tensor([items, tq, 3 * heads * d], seed: 59, on: b, double: double, grad: true)
                            let s = try Tensor.attention(
                                packedQKV: qkv, validLens: lens, heads: heads, dropout: p, stream: RandomStream(seed: 60))
                            try probe(s.output, seed: 61, double: double).backward()
                            results += [s.output, s.weights, qkv.grad!]
                        }
                        return results
                    }
                ))
        }
        return Check(op: "attention", rtol: 1e-3, atol: 1e-5, cases: cases)
    }

    static func embeddingCheck() -> Check {
        var cases: [(String, Body)] = [(1, 1, 1), (7, 33, 5), (257, 28, 256)].map { count, vocab, dim in
            (
                "\(count) of \(vocab)x\(dim)",
                { b, double in
                    let table = try tensor([vocab, dim], seed: 25, on: b, double: double, grad: true)
                    let idx = try Tensor((0..<count).map { Int32(($0 * 5) % vocab) }, on: b)
                    let y = try Tensor.embedding(table, indices: idx)
                    try probe(y, seed: 26, double: double).backward()
                    return [y, table.grad!]
                }
            )
        }
        // The transformer's chain in the same launch: scaled rows, positions, dropout.
        cases += [(3, 7, 28, 32), (16, 9, 201, 33)].map { batch, steps, vocab, dim in
            (
                "(\(batch), \(steps)) of \(vocab)x\(dim), scaled, positions, dropout",
                { b, double in
                    let table = try tensor([vocab, dim], seed: 27, on: b, double: double, grad: true)
                    let positions = try tensor([steps, dim], seed: 28, on: b, double: double)
                    let idx = try Tensor((0..<(batch * steps)).map { Int32(($0 * 5) % vocab) }, shape: [batch, steps], on: b)
                    let y = try Tensor.embedding(
                        table, indices: idx, scale: 5.6, positions: positions, dropout: 0.1,
                        stream: RandomStream(seed: 29))
                    try probe(y, seed: 30, double: double).backward()
                    return [y, table.grad!]
                }
            )
        }
        return Check(op: "embedding", rtol: 1e-5, atol: 1e-6, cases: cases)
    }

    /// Whole sequences of every cell, both directions, outputs and every gradient. Hidden sizes
    /// are multiples of 8 (the vector kernels' requirement) but not of 16 or of any group size.
    static func recurrentCheck() -> Check {
        var cases: [(String, Body)] = []
        for cell in [CellKind.rnnTanh, .gru, .lstm] {
            // Batch 1, 7, 33 and hidden 8, 100, 257: no multiple of a tile, a row block or a vector.
            for (T, B, H) in [(1, 1, 8), (7, 33, 100), (3, 7, 257), (35, 5, 72)] {
                for reverse in [false, true] {
                    cases.append(
                        (
                            "\(cell) T=\(T) B=\(B) H=\(H)\(reverse ? " reverse" : "")",
                            { b, double in
                                if let k = b as? KernelBackend, !k.runs(KernelVariants.recurrent, cell: cell, batch: B, hidden: H) {
                                    throw NotApplicable()
                                }
                                let G = cell.gates
                                let gi = try tensor([T, B, G * H], seed: 27, on: b, double: double, grad: true)
                                let w = try tensor([G * H, H], seed: 28, on: b, double: double, grad: true, -0.3, 0.3)
                                let bias = try tensor([G * H], seed: 29, on: b, double: double, grad: true)
                                let h0 = try tensor([B, H], seed: 30, on: b, double: double, grad: true)
                                let c0 = cell == .lstm ? try tensor([B, H], seed: 31, on: b, double: double, grad: true) : nil
                                let y = try Tensor.recurrentSequence(cell, gi: gi, wHH: w, bHH: bias, h0: h0, c0: c0, reverse: reverse)
                                try probe(y, seed: 32, double: double).backward()
                                return [y, gi.grad!, w.grad!, bias.grad!, h0.grad!] + (c0.map { [$0.grad!] } ?? [])
                            }
                        ))
                }
            }
        }
        return Check(op: "recurrent", rtol: 1e-3, atol: 1e-4, cases: cases)
    }

    /// SGD and AdamW over tables of 19 parameters (two launches of 16 on OpenCL) with the clipping
    /// scale computed on the device, and dropout's mask.
    static func optimiserCheck() -> Check {
        let sizes = (0..<19).map { [1, 7, 33, 257][$0 % 4] + $0 }
        let cases: [(String, Body)] = [("sgd θ=0.5", false), ("adamw θ=0.5", true)].map { name, adam in
            (
                name,
                { b, double in
                    let params = try sizes.enumerated().map { try tensor([$1], seed: 40 + UInt64($0), on: b, double: double, grad: true) }
                    let m = try sizes.map { try Tensor.zeros([$0], dtype: double ? .float64 : .float32, on: b) }
                    let v = try sizes.map { try Tensor.zeros([$0], dtype: double ? .float64 : .float32, on: b) }
                    for step in 1...2 {
                        for (i, p) in params.enumerated() {
                            p.grad = try tensor(p.shape, seed: 80 + UInt64(i + 19 * step), on: b, double: double, -2, 2)
                        }
                        let scale = try Tensor.clipScale(params.map { $0.grad! }, maxNorm: 0.5)
                        if adam {
                            try Tensor.adamUpdate(
                                params, m: m, v: v,
                                hyper: AdamHyper(
                                    lr: 0.01, weightDecay: 0.1, decoupled: true,
                                    step: step, gradScale: scale))
                        } else {
                            try Tensor.sgdUpdate(params, lr: 0.5, gradScale: scale)
                        }
                    }
                    let x = try tensor([257], seed: 99, on: b, double: double)
                    let dropped = try x.dropout(p: 0.3, stream: RandomStream(seed: 5))
                    return params + [try Tensor.globalNorm(params), dropped]
                }
            )
        }
        return Check(op: "optimiser", rtol: 1e-4, atol: 1e-5, cases: cases)
    }
}
