// Float64 references of the recurrent cells and whole sequences, from PyTorch's equations
// (gate order r,z,n for the GRU, i,f,g,o for the LSTM).
import Dive
import Foundation

extension Ref {
    /// PyTorch's cell equations in float64 for one batch row: pre-activations x (gi), y (gh), bias.
    public static func recurrentCell(_ cell: CellKind, x: [Double], y: [Double], bias: [Double], h: [Double], c: [Double])
        -> (h: [Double], c: [Double], saved: [Double])
    {
        let H = h.count
        func sig(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        var hn = [Double](repeating: 0, count: H), cn = c, saved = [Double](repeating: 0, count: 4 * H)
        for j in 0..<H {
            func pre(_ k: Int) -> Double { x[k * H + j] + y[k * H + j] + bias[k * H + j] }
            switch cell {
            case .rnnTanh: hn[j] = Foundation.tanh(pre(0))
            case .gru:
                let r = sig(pre(0)), z = sig(pre(1)), ghn = y[2 * H + j] + bias[2 * H + j]
                let n = Foundation.tanh(x[2 * H + j] + r * ghn)
                hn[j] = (1 - z) * n + z * h[j]
                saved[j] = r; saved[H + j] = z; saved[2 * H + j] = n; saved[3 * H + j] = ghn
            case .lstm:
                let i = sig(pre(0)), f = sig(pre(1)), g = Foundation.tanh(pre(2)), o = sig(pre(3))
                cn[j] = f * c[j] + i * g
                hn[j] = o * Foundation.tanh(cn[j])
                saved[j] = i; saved[H + j] = f; saved[2 * H + j] = g; saved[3 * H + j] = o
            }
        }
        return (hn, cn, saved)
    }

    /// A whole sequence in float64: gi (T, B, G·H), W_hh (G·H, H), b_hh, h0/c0 (B, H).
    public static func recurrentSequence(
        _ cell: CellKind, gi: [Double], w: [Double], b: [Double], h0: [Double], c0: [Double],
        T: Int, B: Int, H: Int, reverse: Bool
    ) -> [Double] {
        let G = cell.gates
        var out = [Double](repeating: 0, count: T * B * H)
        var h = h0, c = c0
        for s in 0..<T {
            let t = reverse ? T - 1 - s : s
            var hNew = h, cNew = c
            for bi in 0..<B {
                let hp = Array(h[bi * H..<(bi + 1) * H]), cp = Array(c[bi * H..<(bi + 1) * H])
                let y = (0..<(G * H)).map { k in (0..<H).reduce(0.0) { $0 + hp[$1] * w[k * H + $1] } }
                let x = Array(gi[(t * B + bi) * G * H..<(t * B + bi + 1) * G * H])
                let r = recurrentCell(cell, x: x, y: y, bias: b, h: hp, c: cp)
                hNew.replaceSubrange(bi * H..<(bi + 1) * H, with: r.h)
                cNew.replaceSubrange(bi * H..<(bi + 1) * H, with: r.c)
            }
            h = hNew; c = cNew
            out.replaceSubrange(t * B * H..<(t + 1) * B * H, with: h)
        }
        return cell == .lstm ? out + c : out
    }
}
