// The float64 reference every kernel and CPU loop is checked against (the tests and `dive check`):
// plain loops written from the definitions, independent of both backends.
import Dive
import Foundation

/// The float64 reference of every op, plain loops written from the definitions, independent of both backends.
public enum Ref {
    /// C = alpha · op(A) · op(B) + beta · C0 for each batch item (row-major).
    public static func gemm(
        _ a: [Double], _ b: [Double], _ c0: [Double]?, batch: Int, m: Int, n: Int, k: Int,
        transA: Bool, transB: Bool, strideA: Int, strideB: Int, alpha: Double, beta: Double
    ) -> [Double] {
        var c = [Double](repeating: 0, count: batch * m * n)
        for bi in 0..<batch {
            for i in 0..<m {
                for j in 0..<n {
                    var acc = 0.0
                    for l in 0..<k {
                        let av = transA ? a[bi * strideA + l * m + i] : a[bi * strideA + i * k + l]
                        let bv = transB ? b[bi * strideB + j * k + l] : b[bi * strideB + l * n + j]
                        acc += av * bv
                    }
                    let idx = bi * m * n + i * n + j
                    c[idx] = alpha * acc + (beta != 0 ? beta * c0![idx] : 0)
                }
            }
        }
        return c
    }

    /// NumPy broadcasting of f over two shapes.
    public static func broadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ f: (Double, Double) -> Double) -> (
        [Double], [Int]
    ) {
        let rank = max(sa.count, sb.count)
        let pa = Array(repeating: 1, count: rank - sa.count) + sa, pb = Array(repeating: 1, count: rank - sb.count) + sb
        let out = zip(pa, pb).map { max($0, $1) }
        let total = out.reduce(1, *)
        var result = [Double](repeating: 0, count: total)
        for flat in 0..<total {
            var rem = flat, ia = 0, ib = 0, mulA = 1, mulB = 1
            for d in stride(from: rank - 1, through: 0, by: -1) {
                let idx = rem % out[d]; rem /= out[d]
                ia += (pa[d] == 1 ? 0 : idx) * mulA; mulA *= pa[d]
                ib += (pb[d] == 1 ? 0 : idx) * mulB; mulB *= pb[d]
            }
            result[flat] = f(a[ia], b[ib])
        }
        return (result, out)
    }

    /// The book's masked softmax of one row: entries at or beyond `valid` count as -1e6.
    public static func softmaxRow(_ x: [Double], valid: Int) -> [Double] {
        let z = x.enumerated().map { $0.offset < valid ? $0.element : -1e6 }
        let m = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// The book's masked softmax of each row of (rows, cols), row r masked by lens[r / (rows / lens.count)].
    public static func softmax(_ x: [Double], rows: Int, cols: Int, lens: [Int32]?) -> [Double] {
        let rep = lens.map { rows / max($0.count, 1) } ?? 1
        return (0..<rows).flatMap { r in
            softmaxRow(Array(x[(r * cols)..<((r + 1) * cols)]), valid: lens.map { Int($0[r / rep]) } ?? cols)
        }
    }

    /// Per-row label-smoothed cross-entropy.
    public static func crossEntropy(_ x: [Double], targets: [Int32], weights: [Double]?, eps: Double, classes v: Int) -> [Double] {
        (0..<targets.count).map { r in
            let row = Array(x[(r * v)..<((r + 1) * v)])
            let m = row.max()!
            let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            let logp = row.map { $0 - lse }
            let t = Int(targets[r])
            let loss = -((1 - eps) * logp[t] + eps / Double(v) * logp.reduce(0, +))
            return loss * (weights?[r] ?? 1)
        }
    }

    /// Layer normalisation of each row of (rows, cols) with biased variance, then γ·x̂ + β per column.
    public static func layerNorm(_ x: [Double], gamma: [Double], beta: [Double], rows: Int, cols: Int, eps: Double) -> [Double] {
        (0..<rows).flatMap { r -> [Double] in
            let row = x[(r * cols)..<((r + 1) * cols)]
            let mu = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(cols)
            return row.enumerated().map { ($0.element - mu) / (variance + eps).squareRoot() * gamma[$0.offset] + beta[$0.offset] }
        }
    }

    /// Masked attention output and weights, from the definition.
    public static func attention(q: [Double], k: [Double], v: [Double], lens: [Int32]?, b: Int, tq: Int, tk: Int, d: Int, dv: Int)
        -> (out: [Double], weights: [Double])
    {
        let scale = 1 / Double(d).squareRoot()
        var scores = [Double](repeating: 0, count: b * tq * tk)
        for bi in 0..<b {
            for i in 0..<tq {
                for j in 0..<tk {
                    var s = 0.0
                    for c in 0..<d { s += q[(bi * tq + i) * d + c] * k[(bi * tk + j) * d + c] }
                    scores[(bi * tq + i) * tk + j] = s * scale
                }
            }
        }
        let p = softmax(scores, rows: b * tq, cols: tk, lens: lens)
        return (attentionOutput(weights: p, v: v, b: b, tq: tq, tk: tk, dv: dv), p)
    }

    /// Permutes a row-major array: result dim i is input dim order[i].
    public static func permute(_ x: [Double], shape: [Int], order: [Int]) -> [Double] {
        let outShape = order.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let total = x.count
        var out = [Double](repeating: 0, count: total)
        for flat in 0..<total {
            var rem = flat, src = 0
            for d in stride(from: outShape.count - 1, through: 0, by: -1) {
                src += (rem % outShape[d]) * inStrides[order[d]]; rem /= outShape[d]
            }
            out[flat] = x[src]
        }
        return out
    }

    /// Softmax backward of rows given the forward output y: dx = y · (dy - Σ y·dy) at valid
    /// positions (one length per row), 0 at masked ones.
    public static func softmaxBackward(y: [Double], dy: [Double], rows: Int, cols: Int, lens: [Int32]) -> [Double] {
        (0..<rows).flatMap { r -> [Double] in
            let dot = (0..<cols).map { y[r * cols + $0] * dy[r * cols + $0] }.reduce(0, +)
            return (0..<cols).map { $0 < Int(lens[r]) ? y[r * cols + $0] * (dy[r * cols + $0] - dot) : 0 }
        }
    }

    /// Gradient of the per-row label-smoothed, weighted cross-entropy with respect to the logits.
    public static func crossEntropyBackward(
        _ x: [Double], targets: [Int32], weights: [Double]?, eps: Double, classes v: Int,
        gradLoss g: [Double]
    ) -> [Double] {
        (0..<targets.count).flatMap { r -> [Double] in
            let p = softmaxRow(Array(x[(r * v)..<((r + 1) * v)]), valid: v)
            let w = weights?[r] ?? 1
            return (0..<v).map { j in g[r] * w * (p[j] - (j == Int(targets[r]) ? 1 - eps : 0) - eps / Double(v)) }
        }
    }

    /// LayerNorm's gradients (dx, dγ, dβ) from the analytic formula.
    public static func layerNormBackward(_ x: [Double], dy: [Double], gamma: [Double], rows: Int, cols: Int, eps: Double)
        -> (dx: [Double], dGamma: [Double], dBeta: [Double])
    {
        var edx = [Double](repeating: 0, count: rows * cols), edg = [Double](repeating: 0, count: cols), edb = edg
        for r in 0..<rows {
            let row = Array(x[(r * cols)..<((r + 1) * cols)])
            let mu = row.reduce(0, +) / Double(cols)
            let inv = 1 / (row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(cols) + eps).squareRoot()
            let xh = row.map { ($0 - mu) * inv }
            let d = (0..<cols).map { dy[r * cols + $0] * gamma[$0] }
            let md = d.reduce(0, +) / Double(cols), mdx = zip(d, xh).map(*).reduce(0, +) / Double(cols)
            for j in 0..<cols {
                edx[r * cols + j] = inv * (d[j] - md - xh[j] * mdx)
                edg[j] += dy[r * cols + j] * xh[j]; edb[j] += dy[r * cols + j]
            }
        }
        return (edx, edg, edb)
    }

    /// Masked attention output with dropout on the weights multiplying V: weight i of the
    /// (b, tq, tk) weights is kept when CounterRNG.uniform(seed, offset + i) >= p, then scaled by 1/(1-p).
    public static func attentionOutput(
        weights p: [Double], v: [Double], b: Int, tq: Int, tk: Int, dv: Int,
        dropout: (p: Float, seed: UInt64, offset: UInt64)? = nil
    ) -> [Double] {
        var w = p
        if let d = dropout {
            for idx in w.indices {
                w[idx] = CounterRNG.uniform(seed: d.seed, counter: d.offset + UInt64(idx)) >= d.p ? w[idx] / (1 - Double(d.p)) : 0
            }
        }
        // (b, tq, tk) weights · (b, tk, dv) values.
        return gemm(
            w, v, nil, batch: b, m: tq, n: dv, k: tk, transA: false, transB: false, strideA: tq * tk, strideB: tk * dv, alpha: 1, beta: 0)
    }

    /// Attention's gradients (dQ, dK, dV) from the forward weights p; masked scores (one length
    /// per batch item) pass no gradient.
    public static func attentionBackward(
        q: [Double], k: [Double], v: [Double], weights p: [Double], gradOutput g: [Double],
        lens: [Int32], scale: Double, b: Int, tq: Int, tk: Int, d: Int, dv: Int
    )
        -> (dq: [Double], dk: [Double], dv: [Double])
    {
        var edq = [Double](repeating: 0, count: q.count), edk = [Double](repeating: 0, count: k.count)
        var edv = [Double](repeating: 0, count: v.count)
        for bi in 0..<b {
            for i in 0..<tq {
                let row = bi * tq + i
                let dp = (0..<tk).map { j in (0..<dv).map { g[row * dv + $0] * v[(bi * tk + j) * dv + $0] }.reduce(0, +) }
                let dot = (0..<tk).map { p[row * tk + $0] * dp[$0] }.reduce(0, +)
                for j in 0..<tk {
                    let ds = j < Int(lens[bi]) ? scale * p[row * tk + j] * (dp[j] - dot) : 0
                    for c in 0..<d {
                        edq[row * d + c] += ds * k[(bi * tk + j) * d + c]
                        edk[(bi * tk + j) * d + c] += ds * q[row * d + c]
                    }
                    for c in 0..<dv { edv[(bi * tk + j) * dv + c] += p[row * tk + j] * g[row * dv + c] }
                }
            }
        }
        return (edq, edk, edv)
    }

    /// Rows of `table` (vocab, dim) gathered by index; an index outside the table gives a zero row.
    public static func embedding(table: [Double], indices: [Int32], dim: Int) -> [Double] {
        let vocab = table.count / max(dim, 1)
        return indices.flatMap { i in (0..<dim).map { i >= 0 && Int(i) < vocab ? table[Int(i) * dim + $0] : 0 } }
    }

    /// The embedding's gradient: rows of g scatter-added into a zero table; out-of-range indices skipped.
    public static func embeddingBackward(gradOutput g: [Double], indices: [Int32], vocab: Int, dim: Int) -> [Double] {
        var out = [Double](repeating: 0, count: vocab * dim)
        for (n, i) in indices.enumerated() where i >= 0 && Int(i) < vocab { for c in 0..<dim { out[Int(i) * dim + c] += g[n * dim + c] } }
        return out
    }

    /// Dropout with the counter-based mask: x[i] / (1 - p) where CounterRNG.uniform(seed, counter(i)) >= p, else 0.
    public static func dropout(_ x: [Double], mask: DropoutMask) -> [Double] {
        x.indices.map { i in CounterRNG.uniform(seed: mask.seed, counter: mask.counter(i)) >= mask.p ? x[i] / (1 - Double(mask.p)) : 0 }
    }

    /// PyTorch's Adam (or AdamW) on float64 arrays, the gradient multiplied by `scale` first.
    public static func adam(
        _ p: inout [Double], _ m: inout [Double], _ v: inout [Double], g: [Double], scale: Double,
        step: Int, lr: Double, b1: Double, b2: Double, eps: Double, wd: Double, decoupled: Bool
    ) {
        for i in p.indices {
            var gi = g[i] * scale
            if decoupled { p[i] *= 1 - lr * wd } else { gi += wd * p[i] }
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            let mhat = m[i] / (1 - Foundation.pow(b1, Double(step))), vhat = v[i] / (1 - Foundation.pow(b2, Double(step)))
            p[i] -= lr * mhat / (vhat.squareRoot() + eps)
        }
    }

    /// The middle axis of x viewed as (outer, length, inner) reduced by f.
    public static func reduce(_ x: [Double], outer: Int, length: Int, inner: Int, _ f: ([Double]) -> Double) -> [Double] {
        (0..<outer).flatMap { o in (0..<inner).map { i in f((0..<length).map { x[(o * length + $0) * inner + i] }) } }
    }

    /// The reduction of `op` over one slice (argmax: index of the first maximum).
    public static func reduction(_ op: ReduceOp) -> ([Double]) -> Double {
        switch op {
        case .sum: return { $0.reduce(0, +) }
        case .mean: return { $0.reduce(0, +) / Double($0.count) }
        case .scaledSum(let s): return { $0.reduce(0, +) * Double(s) }
        case .max: return { $0.max()! }
        case .argmax: return { v in Double(v.firstIndex(of: v.max()!)!) }
        }
    }

    /// f(x) of an elementwise op.
    public static func unary(_ op: UnaryOp, _ x: Double) -> Double {
        switch op {
        case .neg: return -x
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .relu: return max(x, 0)
        case .sqrt: return x.squareRoot()
        case let .addScalar(s): return x + Double(s)
        case let .mulScalar(s): return x * Double(s)
        case let .rsubScalar(s): return Double(s) - x
        case let .rdivScalar(s): return Double(s) / x
        case let .powScalar(s): return Foundation.pow(x, Double(s))
        }
    }

    /// f'(x) of an elementwise op, from x and y = f(x).
    public static func unaryDerivative(_ op: UnaryOp, x: Double, y: Double) -> Double {
        switch op {
        case .neg: return -1
        case .exp: return y
        case .log: return 1 / x
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .relu: return x > 0 ? 1 : 0
        case .sqrt: return 0.5 / y
        case .addScalar: return 1
        case let .mulScalar(s): return Double(s)
        case .rsubScalar: return -1
        case let .rdivScalar(s): return -Double(s) / (x * x)
        case let .powScalar(s): return Double(s) * Foundation.pow(x, Double(s) - 1)
        }
    }

    /// NumPy's binary ops.
    public static func binary(_ op: BinaryOp) -> (Double, Double) -> Double {
        switch op {
        case .add: return (+)
        case .sub: return (-)
        case .mul: return (*)
        case .div: return (/)
        }
    }
}
