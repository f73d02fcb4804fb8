// The Float32 fused recurrent cells: the tanh RNN and GRU on SIMD8 lanes (VectorMath's exp/tanh/
// sigmoid), the LSTM through CKernels' AVX2 cell (lstm_cell.c; the same math, compiled to a third
// of the Swift loop's time). The equations are those of the generic loops in
// CPUBackend+Recurrent.swift, which stay the Float64 path and the readable definition. A partial
// vector covers H % 8, so every element takes this code.
import CKernels
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

    /// One forward step on `rows` (all when nil). `hNextT`, a copy of the step's output, may be nil.
    func cellForwardFloat(_ cell: CellKind, _ giT: Tensor, _ ghT: Tensor, _ biasT: Tensor, _ hPrevT: Tensor,
                          _ cellsT: Tensor?, _ outT: Tensor, _ hNextT: Tensor?, _ savedT: Tensor, _ s: CellStep,
                          rows only: Range<Int>? = nil) {
        let B = s.batch, H = s.hidden, G = cell.gates, S = cell.savedBlocks
        let gi = giT.cpuPointer(Float.self) + s.t * B * G * H, gh = ghT.cpuPointer(Float.self), bias = biasT.cpuPointer(Float.self)
        let hPrev = hPrevT.cpuPointer(Float.self) + s.prevOffset
        let out = outT.cpuPointer(Float.self) + s.t * B * H, hNext = hNextT?.cpuPointer(Float.self)
        let saved = savedT.cpuPointer(Float.self) + s.t * B * S * H
        let cPrev = cellsT.map { $0.cpuPointer(Float.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(Float.self) + (s.slot + 1) * B * H }
        if cell == .lstm, let cPrev, let cNext {
            Self.overRows(B, only, cost: Self.cellCost * H * G) { rows in
                let r = rows.lowerBound
                dive_lstm_cell_forward(rows.count, H, gi + r * G * H, gh + r * G * H, bias, cPrev + r * H, cNext + r * H,
                                       out + r * H, hNext.map { $0 + r * H }, saved + r * S * H)
            }
            return
        }
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
                        preconditionFailure("the LSTM cell runs in CKernels")
                    }
                    Self.st(h, out + b * H + j, n)
                    if let hNext { Self.st(h, hNext + b * H + j, n) }
                    j += 8
                }
            }
        }
    }

    /// One backward step on `rows` (all when nil). dGh may be dGi itself (the tanh RNN and LSTM,
    /// whose gi and gh enter the cell only through their sum): it is then written once. `dghT`, a
    /// (B, G·H) copy of the step's dGh for a GEMM that cannot read dGh in place, may be nil.
    func cellBackwardFloat(_ cell: CellKind, _ savedT: Tensor, _ hPrevT: Tensor, _ cellsT: Tensor?, _ outT: Tensor,
                           _ dOutT: Tensor, _ dhT: Tensor, _ dcT: Tensor?, _ dGiT: Tensor, _ dGhT: Tensor,
                           _ dghT: Tensor?, _ s: CellStep, rows only: Range<Int>? = nil) {
        let B = s.batch, H = s.hidden, G = cell.gates, S = cell.savedBlocks
        let saved = savedT.cpuPointer(Float.self) + s.t * B * S * H
        let hPrev = hPrevT.cpuPointer(Float.self) + s.prevOffset
        let out = outT.cpuPointer(Float.self) + s.t * B * H, dOut = dOutT.cpuPointer(Float.self) + s.t * B * H
        let dh = dhT.cpuPointer(Float.self), dc = dcT?.cpuPointer(Float.self)
        let dGi = dGiT.cpuPointer(Float.self) + s.t * B * G * H, dGh = dGhT.cpuPointer(Float.self) + s.t * B * G * H
        let dGhSeparate = dGh != dGi ? dGh : nil
        let dgh = dghT?.cpuPointer(Float.self)
        let cPrev = cellsT.map { $0.cpuPointer(Float.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(Float.self) + (s.slot + 1) * B * H }
        if cell == .lstm, let cPrev, let cNext, let dc {
            Self.overRows(B, only, cost: Self.cellCost * H * G) { rows in
                let r = rows.lowerBound, n = rows.count
                dive_lstm_cell_backward(n, H, saved + r * S * H, cPrev + r * H, cNext + r * H, dOut + r * H, dh + r * H,
                                        dc + r * H, dGi + r * G * H, dGhSeparate.map { $0 + r * G * H })
                if let dgh { (dgh + r * G * H).update(from: dGi + r * G * H, count: n * G * H) }
            }
            return
        }
        Self.overRows(B, only, cost: Self.cellCost * H * G) { rows in
            for b in rows {
                let sv = saved + b * S * H
                let xi = dGi + b * G * H, hi = dGhSeparate.map { $0 + b * G * H }, gi = dgh.map { $0 + b * G * H }
                var j = 0
                while j < H {
                    let n = min(8, H - j), e = b * H + j
                    let dhTotal = Self.ld(dOut + e, n) + Self.ld(dh + e, n)
                    func put(_ k: Int, _ v: V8) {
                        Self.st(v, xi + k * H + j, n)
                        if let hi { Self.st(v, hi + k * H + j, n) }
                        if let gi { Self.st(v, gi + k * H + j, n) }
                    }
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
                        if let hi { Self.st(dhn, hi + 2 * H + j, n) }
                        if let gi { Self.st(dhn, gi + 2 * H + j, n) }
                        Self.st(dhTotal * z, dh + e, n)
                    case .lstm:
                        preconditionFailure("the LSTM cell runs in CKernels")
                    }
                    j += 8
                }
            }
        }
    }
}
