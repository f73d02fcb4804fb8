// CPU recurrent cells (Ops/Recurrent.swift; tanh RNN, GRU, LSTM): one step forward and backward,
// in Float64 through the generic loops here (gradient checks; the readable definition) and in
// Float32 through CKernels' cells (CPUBackend+RecurrentCells.swift). Whole sequences:
// CPUBackend+RecurrentSequence.swift.
import RealModule

extension CPUBackend {
    /// One recurrent-cell step forward: Float64 through the generic loop, Float32 through CKernels' cells.
    public func cellForward(
        _ cell: CellKind, gi: Tensor, gh: Tensor, bias: Tensor, hPrev: Tensor, cells: Tensor?,
        into out: Tensor, hNext: Tensor, saved: Tensor, step: CellStep
    ) throws {
        if try isDouble(gi, "cellForward") {
            cellForwardLoop(cell, gi, gh, bias, hPrev, cells, out, hNext, saved, step, Double.self)
        } else {
            cellForwardFloat(cell, gi, gh, bias, hPrev, cells, out, hNext, saved, step)
        }
    }

    /// One recurrent-cell step backward: Float64 through the generic loop, Float32 through CKernels' cells.
    public func cellBackward(
        _ cell: CellKind, saved: Tensor, hPrev: Tensor, cells: Tensor?, out: Tensor,
        gradOut dOut: Tensor, dh: Tensor, dc: Tensor?, into dGi: Tensor, dGh: Tensor,
        dgh: Tensor, step: CellStep
    ) throws {
        if try isDouble(dOut, "cellBackward") {
            cellBackwardLoop(cell, saved, hPrev, cells, out, dOut, dh, dc, dGi, dGh, dgh, step, Double.self)
        } else {
            cellBackwardFloat(cell, saved, hPrev, cells, out, dOut, dh, dc, dGi, dGh, dgh, step)
        }
    }

    @inline(__always) private static func sigmoid<T: CPUFloat>(_ x: T) -> T { 1 / (1 + T.exp(-x)) }

    private func cellForwardLoop<T: CPUFloat>(
        _ cell: CellKind, _ giT: Tensor, _ ghT: Tensor, _ biasT: Tensor,
        _ hPrevT: Tensor, _ cellsT: Tensor?, _ outT: Tensor, _ hNextT: Tensor,
        _ savedT: Tensor, _ s: CellStep, _: T.Type, rows only: Range<Int>? = nil
    ) {
        let B = s.batch, H = s.hidden, G = cell.gates
        let gi = giT.cpuPointer(T.self) + s.t * B * G * H, gh = ghT.cpuPointer(T.self), bias = biasT.cpuPointer(T.self)
        let hPrev = hPrevT.cpuPointer(T.self) + s.prevOffset
        let out = outT.cpuPointer(T.self) + s.t * B * H, hNext = hNextT.cpuPointer(T.self)
        let saved = savedT.cpuPointer(T.self) + s.t * B * cell.savedBlocks * H
        let cPrev = cellsT.map { $0.cpuPointer(T.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(T.self) + (s.slot + 1) * B * H }
        Self.overRows(B, only, cost: H * 16 * G) { rows in
            for b in rows {
                let x = gi + b * G * H, y = gh + b * G * H, sv = saved + b * cell.savedBlocks * H
                for j in 0..<H {
                    let h: T
                    switch cell {
                    case .rnnTanh:
                        h = T.tanh(x[j] + y[j] + bias[j])
                    case .gru:
                        let r = Self.sigmoid(x[j] + y[j] + bias[j])
                        let z = Self.sigmoid(x[H + j] + y[H + j] + bias[H + j])
                        let hn = y[2 * H + j] + bias[2 * H + j]
                        let n = T.tanh(x[2 * H + j] + r * hn)
                        h = (1 - z) * n + z * hPrev[b * H + j]
                        sv[j] = r; sv[H + j] = z; sv[2 * H + j] = n; sv[3 * H + j] = hn
                    case .lstm:
                        let i = Self.sigmoid(x[j] + y[j] + bias[j])
                        let f = Self.sigmoid(x[H + j] + y[H + j] + bias[H + j])
                        let g = T.tanh(x[2 * H + j] + y[2 * H + j] + bias[2 * H + j])
                        let o = Self.sigmoid(x[3 * H + j] + y[3 * H + j] + bias[3 * H + j])
                        let c = f * cPrev![b * H + j] + i * g
                        cNext![b * H + j] = c
                        h = o * T.tanh(c)
                        sv[j] = i; sv[H + j] = f; sv[2 * H + j] = g; sv[3 * H + j] = o
                    }
                    out[b * H + j] = h
                    hNext[b * H + j] = h
                }
            }
        }
    }

    private func cellBackwardLoop<T: CPUFloat>(
        _ cell: CellKind, _ savedT: Tensor, _ hPrevT: Tensor, _ cellsT: Tensor?,
        _ outT: Tensor, _ dOutT: Tensor, _ dhT: Tensor, _ dcT: Tensor?,
        _ dGiT: Tensor, _ dGhT: Tensor, _ dghT: Tensor, _ s: CellStep, _: T.Type, rows only: Range<Int>? = nil
    ) {
        let B = s.batch, H = s.hidden, G = cell.gates
        let saved = savedT.cpuPointer(T.self) + s.t * B * cell.savedBlocks * H
        let hPrev = hPrevT.cpuPointer(T.self) + s.prevOffset
        let out = outT.cpuPointer(T.self) + s.t * B * H, dOut = dOutT.cpuPointer(T.self) + s.t * B * H
        let dh = dhT.cpuPointer(T.self), dc = dcT?.cpuPointer(T.self)
        let dGi = dGiT.cpuPointer(T.self) + s.t * B * G * H, dGh = dGhT.cpuPointer(T.self) + s.t * B * G * H
        let dgh = dghT.cpuPointer(T.self)
        let cPrev = cellsT.map { $0.cpuPointer(T.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(T.self) + (s.slot + 1) * B * H }
        Self.overRows(B, only, cost: H * 16 * G) { rows in
            for b in rows {
                let sv = saved + b * cell.savedBlocks * H
                let xi = dGi + b * G * H, hi = dGh + b * G * H, gi = dgh + b * G * H
                for j in 0..<H {
                    let e = b * H + j
                    let dhTotal = dOut[e] + dh[e]
                    switch cell {
                    case .rnnTanh:
                        let h = out[e]
                        let d = dhTotal * (1 - h * h)
                        xi[j] = d; hi[j] = d; gi[j] = d
                    case .gru:
                        let r = sv[j], z = sv[H + j], n = sv[2 * H + j], hn = sv[3 * H + j]
                        let dnPre = dhTotal * (1 - z) * (1 - n * n)
                        let dzPre = dhTotal * (hPrev[e] - n) * z * (1 - z)
                        let drPre = dnPre * hn * r * (1 - r)
                        xi[j] = drPre; xi[H + j] = dzPre; xi[2 * H + j] = dnPre
                        hi[j] = drPre; hi[H + j] = dzPre; hi[2 * H + j] = dnPre * r
                        gi[j] = drPre; gi[H + j] = dzPre; gi[2 * H + j] = dnPre * r
                        dh[e] = dhTotal * z
                    case .lstm:
                        let i = sv[j], f = sv[H + j], g = sv[2 * H + j], o = sv[3 * H + j]
                        let tc = T.tanh(cNext![e])
                        let dcTotal = dc![e] + dhTotal * o * (1 - tc * tc)
                        let di = dcTotal * g * i * (1 - i)
                        let df = dcTotal * cPrev![e] * f * (1 - f)
                        let dg = dcTotal * i * (1 - g * g)
                        let dO = dhTotal * tc * o * (1 - o)
                        xi[j] = di; xi[H + j] = df; xi[2 * H + j] = dg; xi[3 * H + j] = dO
                        hi[j] = di; hi[H + j] = df; hi[2 * H + j] = dg; hi[3 * H + j] = dO
                        gi[j] = di; gi[H + j] = df; gi[2 * H + j] = dg; gi[3 * H + j] = dO
                        dc![e] = dcTotal * f
                    }
                }
            }
        }
    }
}
