// The Float32 fused recurrent cells: the tanh RNN, GRU and LSTM steps of CKernels' table
// (kernels.inc, on the CPU path chosen at load time). The equations are those of the generic
// loops in CPUBackend+Recurrent.swift, which stay the Float64 path and the readable definition.
import CKernels
import Foundation

extension CPUBackend {
    /// One forward step on `rows` (all when nil). `hNextT`, a copy of the step's output, may be nil.
    func cellForwardFloat(
        _ cell: CellKind, _ giT: Tensor, _ ghT: Tensor, _ biasT: Tensor, _ hPrevT: Tensor,
        _ cellsT: Tensor?, _ outT: Tensor, _ hNextT: Tensor?, _ savedT: Tensor, _ s: CellStep,
        rows only: Range<Int>? = nil
    ) {
        let B = s.batch, H = s.hidden, G = cell.gates, S = cell.savedBlocks, k = CPUKernels.table
        let gi = giT.cpuPointer(Float.self) + s.t * B * G * H, gh = ghT.cpuPointer(Float.self), bias = biasT.cpuPointer(Float.self)
        let hPrev = hPrevT.cpuPointer(Float.self) + s.prevOffset
        let out = outT.cpuPointer(Float.self) + s.t * B * H, hNext = hNextT?.cpuPointer(Float.self)
        let saved = savedT.cpuPointer(Float.self) + s.t * B * S * H
        let cPrev = cellsT.map { $0.cpuPointer(Float.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(Float.self) + (s.slot + 1) * B * H }
        Self.overRows(B, only, cost: H * G) { rows in
            let r = rows.lowerBound, n = rows.count
            let x = gi + r * G * H, y = gh + r * G * H, h = out + r * H, copy = hNext.map { $0 + r * H }
            switch cell {
            case .rnnTanh: k.rnn_tanh_forward(n, H, x, y, bias, h, copy)
            case .gru: k.gru_forward(n, H, x, y, bias, hPrev + r * H, h, copy, saved + r * S * H)
            case .lstm: k.lstm_forward(n, H, x, y, bias, cPrev! + r * H, cNext! + r * H, h, copy, saved + r * S * H)
            }
        }
    }

    /// One backward step on `rows` (all when nil). dGh may be dGi itself (the tanh RNN and LSTM,
    /// whose gi and gh enter the cell only through their sum): it is then written once. `dghT`, a
    /// (B, G·H) copy of the step's dGh for a GEMM that cannot read dGh in place, may be nil.
    func cellBackwardFloat(
        _ cell: CellKind, _ savedT: Tensor, _ hPrevT: Tensor, _ cellsT: Tensor?, _ outT: Tensor,
        _ dOutT: Tensor, _ dhT: Tensor, _ dcT: Tensor?, _ dGiT: Tensor, _ dGhT: Tensor,
        _ dghT: Tensor?, _ s: CellStep, rows only: Range<Int>? = nil
    ) {
        let B = s.batch, H = s.hidden, G = cell.gates, S = cell.savedBlocks, k = CPUKernels.table
        let saved = savedT.cpuPointer(Float.self) + s.t * B * S * H
        let hPrev = hPrevT.cpuPointer(Float.self) + s.prevOffset
        let out = outT.cpuPointer(Float.self) + s.t * B * H, dOut = dOutT.cpuPointer(Float.self) + s.t * B * H
        let dh = dhT.cpuPointer(Float.self), dc = dcT?.cpuPointer(Float.self)
        let dGi = dGiT.cpuPointer(Float.self) + s.t * B * G * H, dGh = dGhT.cpuPointer(Float.self) + s.t * B * G * H
        let dGhSeparate = dGh != dGi ? dGh : nil
        let dgh = dghT?.cpuPointer(Float.self)
        let cPrev = cellsT.map { $0.cpuPointer(Float.self) + s.slot * B * H }
        let cNext = cellsT.map { $0.cpuPointer(Float.self) + (s.slot + 1) * B * H }
        Self.overRows(B, only, cost: H * G) { rows in
            let r = rows.lowerBound, n = rows.count, e = r * H, g = r * G * H
            let separate = dGhSeparate.map { $0 + g }, copy = dgh.map { $0 + g }
            switch cell {
            case .rnnTanh: k.rnn_tanh_backward(n, H, out + e, dOut + e, dh + e, dGi + g, separate, copy)
            case .gru: k.gru_backward(n, H, saved + r * S * H, hPrev + e, dOut + e, dh + e, dGi + g, separate, copy)
            case .lstm: k.lstm_backward(n, H, saved + r * S * H, cPrev! + e, cNext! + e, dOut + e, dh + e, dc! + e, dGi + g, separate, copy)
            }
        }
    }
}
