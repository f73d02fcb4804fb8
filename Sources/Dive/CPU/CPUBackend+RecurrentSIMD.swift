// The Float32 fused recurrent cells on SIMD8 lanes (VectorMath's exp/tanh/sigmoid): the same
// equations as the generic loops in CPUBackend+Recurrent.swift, which stay the Float64 path and
// the readable definition. A partial vector covers H % 8, so every element takes this code.
import Foundation

extension CPUBackend {
    typealias V8 = SIMD8<Float>

    /// Cost per (row, gate unit) for `Parallel.forRanges` (`DIVE_CELL_COST` overrides).
    static let cellCost = ProcessInfo.processInfo.environment["DIVE_CELL_COST"].flatMap { Int($0) } ?? 1

    /// 8 lanes from `p` (fewer at the tail: `n` < 8 pads with 0).
    @inline(__always) private static func ld(_ p: UnsafePointer<Float>, _ n: Int) -> V8 {
        n == 8 ? VectorMath.load(p) : VectorMath.loadPartial(p, n, pad: 0)
    }

    @inline(__always) private static func st(_ v: V8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        if n == 8 { VectorMath.store(v, p) } else { VectorMath.storePartial(v, p, n) }
    }

    func cellForwardFloat(_ cell: CellKind, _ giT: Tensor, _ ghT: Tensor, _ biasT: Tensor, _ hPrevT: Tensor,
                          _ cellsT: Tensor?, _ outT: Tensor, _ hNextT: Tensor, _ savedT: Tensor, _ s: CellStep,
                          rows only: Range<Int>? = nil) {
        let B = s.batch, H = s.hidden, G = cell.gates, S = cell.savedBlocks
        let gi = giT.cpuPointer(Float.self) + s.t * B * G * H, gh = ghT.cpuPointer(Float.self), bias = biasT.cpuPointer(Float.self)
        let hPrev = hPrevT.cpuPointer(Float.self) + s.prevOffset
        let out = outT.cpuPointer(Float.self) + s.t * B * H, hNext = hNextT.cpuPointer(Float.self)
        let saved = savedT.cpuPointer(Float.self) + s.t * B * S * H
        let cPrev = cellsT.map { $0.cpuPointer(Float.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(Float.self) + (s.slot + 1) * B * H }
        Self.overRows(B, only, cost: Self.cellCost * H * G) { rows in
            for b in rows {
                let x = gi + b * G * H, y = gh + b * G * H, sv = saved + b * S * H
                var j = 0
                while j < H {
                    let n = min(8, H - j)
                    func pre(_ k: Int) -> V8 { Self.ld(x + k * H + j, n) + Self.ld(y + k * H + j, n) + Self.ld(bias + k * H + j, n) }
                    let h: V8
                    switch cell {
                    case .rnnTanh:
                        h = VectorMath.tanh(pre(0))
                    case .gru:
                        let r = VectorMath.sigmoid(pre(0)), z = VectorMath.sigmoid(pre(1))
                        let hn = Self.ld(y + 2 * H + j, n) + Self.ld(bias + 2 * H + j, n)
                        let nn = VectorMath.tanh(Self.ld(x + 2 * H + j, n) + r * hn)
                        h = (1 - z) * nn + z * Self.ld(hPrev + b * H + j, n)
                        Self.st(r, sv + j, n); Self.st(z, sv + H + j, n); Self.st(nn, sv + 2 * H + j, n); Self.st(hn, sv + 3 * H + j, n)
                    case .lstm:
                        let i = VectorMath.sigmoid(pre(0)), f = VectorMath.sigmoid(pre(1))
                        let g = VectorMath.tanh(pre(2)), o = VectorMath.sigmoid(pre(3))
                        let c = f * Self.ld(cPrev! + b * H + j, n) + i * g
                        Self.st(c, cNext! + b * H + j, n)
                        h = o * VectorMath.tanh(c)
                        Self.st(i, sv + j, n); Self.st(f, sv + H + j, n); Self.st(g, sv + 2 * H + j, n); Self.st(o, sv + 3 * H + j, n)
                    }
                    Self.st(h, out + b * H + j, n)
                    Self.st(h, hNext + b * H + j, n)
                    j += 8
                }
            }
        }
    }

    func cellBackwardFloat(_ cell: CellKind, _ savedT: Tensor, _ hPrevT: Tensor, _ cellsT: Tensor?, _ outT: Tensor,
                           _ dOutT: Tensor, _ dhT: Tensor, _ dcT: Tensor?, _ dGiT: Tensor, _ dGhT: Tensor,
                           _ dghT: Tensor, _ s: CellStep, rows only: Range<Int>? = nil) {
        let B = s.batch, H = s.hidden, G = cell.gates, S = cell.savedBlocks
        let saved = savedT.cpuPointer(Float.self) + s.t * B * S * H
        let hPrev = hPrevT.cpuPointer(Float.self) + s.prevOffset
        let out = outT.cpuPointer(Float.self) + s.t * B * H, dOut = dOutT.cpuPointer(Float.self) + s.t * B * H
        let dh = dhT.cpuPointer(Float.self), dc = dcT?.cpuPointer(Float.self)
        let dGi = dGiT.cpuPointer(Float.self) + s.t * B * G * H, dGh = dGhT.cpuPointer(Float.self) + s.t * B * G * H
        let dgh = dghT.cpuPointer(Float.self)
        let cPrev = cellsT.map { $0.cpuPointer(Float.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(Float.self) + (s.slot + 1) * B * H }
        Self.overRows(B, only, cost: Self.cellCost * H * G) { rows in
            for b in rows {
                let sv = saved + b * S * H
                let xi = dGi + b * G * H, hi = dGh + b * G * H, gi = dgh + b * G * H
                var j = 0
                while j < H {
                    let n = min(8, H - j), e = b * H + j
                    let dhTotal = Self.ld(dOut + e, n) + Self.ld(dh + e, n)
                    func put(_ k: Int, _ v: V8) { Self.st(v, xi + k * H + j, n); Self.st(v, hi + k * H + j, n); Self.st(v, gi + k * H + j, n) }
                    switch cell {
                    case .rnnTanh:
                        let h = Self.ld(out + e, n)
                        put(0, dhTotal * (1 - h * h))
                    case .gru:
                        let r = Self.ld(sv + j, n), z = Self.ld(sv + H + j, n), nn = Self.ld(sv + 2 * H + j, n), hn = Self.ld(sv + 3 * H + j, n)
                        let dnPre = dhTotal * (1 - z) * (1 - nn * nn)
                        let dzPre = dhTotal * (Self.ld(hPrev + e, n) - nn) * z * (1 - z)
                        let drPre = dnPre * hn * r * (1 - r)
                        put(0, drPre); put(1, dzPre)
                        Self.st(dnPre, xi + 2 * H + j, n)
                        let dhn = dnPre * r
                        Self.st(dhn, hi + 2 * H + j, n); Self.st(dhn, gi + 2 * H + j, n)
                        Self.st(dhTotal * z, dh + e, n)
                    case .lstm:
                        let i = Self.ld(sv + j, n), f = Self.ld(sv + H + j, n), g = Self.ld(sv + 2 * H + j, n), o = Self.ld(sv + 3 * H + j, n)
                        let tc = VectorMath.tanh(Self.ld(cNext! + e, n))
                        let dcTotal = Self.ld(dc! + e, n) + dhTotal * o * (1 - tc * tc)
                        put(0, dcTotal * g * i * (1 - i))
                        put(1, dcTotal * Self.ld(cPrev! + e, n) * f * (1 - f))
                        put(2, dcTotal * i * (1 - g * g))
                        put(3, dhTotal * tc * o * (1 - o))
                        Self.st(dcTotal * f, dc! + e, n)
                    }
                    j += 8
                }
            }
        }
    }
}
