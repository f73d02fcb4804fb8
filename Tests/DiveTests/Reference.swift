// The float64 reference every kernel and CPU loop is checked against: plain loops written from
// the definitions, independent of both backends.
import Foundation

enum Ref {
    /// C = alpha · op(A) · op(B) + beta · C0 for each batch item (row-major).
    static func gemm(_ a: [Double], _ b: [Double], _ c0: [Double]?, batch: Int, m: Int, n: Int, k: Int,
                     transA: Bool, transB: Bool, strideA: Int, strideB: Int, alpha: Double, beta: Double) -> [Double] {
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
    static func broadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ f: (Double, Double) -> Double) -> ([Double], [Int]) {
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
    static func softmaxRow(_ x: [Double], valid: Int) -> [Double] {
        let z = x.enumerated().map { $0.offset < valid ? $0.element : -1e6 }
        let m = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func softmax(_ x: [Double], rows: Int, cols: Int, lens: [Int32]?) -> [Double] {
        let rep = lens.map { rows / max($0.count, 1) } ?? 1
        return (0..<rows).flatMap { r in
            softmaxRow(Array(x[(r * cols)..<((r + 1) * cols)]), valid: lens.map { Int($0[r / rep]) } ?? cols)
        }
    }

    /// Per-row label-smoothed cross-entropy.
    static func crossEntropy(_ x: [Double], targets: [Int32], weights: [Double]?, eps: Double, classes v: Int) -> [Double] {
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

    static func layerNorm(_ x: [Double], gamma: [Double], beta: [Double], rows: Int, cols: Int, eps: Double) -> [Double] {
        (0..<rows).flatMap { r -> [Double] in
            let row = x[(r * cols)..<((r + 1) * cols)]
            let mu = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(cols)
            return row.enumerated().map { ($0.element - mu) / (variance + eps).squareRoot() * gamma[$0.offset] + beta[$0.offset] }
        }
    }

    /// Masked attention output and weights, from the definition.
    static func attention(q: [Double], k: [Double], v: [Double], lens: [Int32]?, b: Int, tq: Int, tk: Int, d: Int, dv: Int)
        -> (out: [Double], weights: [Double]) {
        let scale = 1 / Double(d).squareRoot()
        var scores = [Double](repeating: 0, count: b * tq * tk)
        for bi in 0..<b { for i in 0..<tq { for j in 0..<tk {
            var s = 0.0
            for c in 0..<d { s += q[(bi * tq + i) * d + c] * k[(bi * tk + j) * d + c] }
            scores[(bi * tq + i) * tk + j] = s * scale
        } } }
        let p = softmax(scores, rows: b * tq, cols: tk, lens: lens)
        var out = [Double](repeating: 0, count: b * tq * dv)
        for bi in 0..<b { for i in 0..<tq { for c in 0..<dv {
            var s = 0.0
            for j in 0..<tk { s += p[(bi * tq + i) * tk + j] * v[(bi * tk + j) * dv + c] }
            out[(bi * tq + i) * dv + c] = s
        } } }
        return (out, p)
    }

    /// Permutes a row-major array: result dim i is input dim order[i].
    static func permute(_ x: [Double], shape: [Int], order: [Int]) -> [Double] {
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
}
