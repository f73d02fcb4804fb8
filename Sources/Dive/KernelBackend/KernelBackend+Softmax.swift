// Kernel-device (OpenCL, CUDA) masked softmax (Ops/Softmax.swift) and its backward: argument plumbing for
// Kernels/softmax.cl (GPUs: a team of work-items per row, RowLaunch; CPU-type devices: a work-item per row).
import Foundation

/// How a GPU-shaped row kernel launches: `team` work-items per row, `local` per work-group
/// (local / team rows each).
struct RowLaunch: Equatable {
    var team, local: Int
    func groups(rows: Int) -> Int { (rows + local / team - 1) / (local / team) }
}

/// A row op's shape and variant, as `rowLaunches` keeps its launch.
struct RowKey: Hashable {
    var variant: RowVariant, op: String, cols, rows: Int
}

extension KernelBackend {
    /// The launch of the GPU-shaped row kernels for `op` on rows of `cols` (nil: one work-item per
    /// row). `perGroup`: one row per group of 32 to 256 items, about four columns each, so a short
    /// row does not pay for a deep reduction tree. `perTeam`: teams of 4 to 256 items, about eight
    /// columns each, up to 256 items per group, but no fewer groups than compute units where there
    /// are rows enough. `auto`: per item on CPU-type devices, the faster of the two on GPUs.
    func rowLaunch(_ op: String, cols: Int, rows: Int) throws -> RowLaunch? {
        lock.lock(); defer { lock.unlock() }
        let key = RowKey(variant: KernelVariants.rows, op: op, cols: cols, rows: rows)
        if let known = rowLaunches[key] { return known }
        let launch = try workOutRowLaunch(op, cols: cols, rows: rows)
        rowLaunches[key] = .some(launch)
        return launch
    }

    private func workOutRowLaunch(_ op: String, cols: Int, rows: Int) throws -> RowLaunch? {
        let most = min(256, limits.maxWorkGroupSize)
        switch KernelVariants.rows {
        case .perItem: return nil
        case .auto where !limits.isGPU: return nil
        case .auto:
            let pick = try tunedRows(op, cols: cols, rows: rows)
            return try KernelVariants.$rows.withValue(RowVariant(rawValue: pick ?? "perGroup") ?? .perGroup) {
                try rowLaunch(op, cols: cols, rows: rows)
            }
        case .perGroup:
            var L = min(32, most)
            while L * 4 < cols && L < most { L *= 2 }
            return RowLaunch(team: L, local: L)
        case .perTeam:
            var T = min(4, most)
            while T * 8 < cols && T < most { T *= 2 }
            let perGroup = max(1, min(most / T, rows / max(limits.computeUnits, 1)))
            return RowLaunch(team: T, local: T * perGroup)
        }
    }

    /// The row variant `auto` takes on a GPU for `op` on rows of `cols`: timed once per row width and
    /// power-of-two class of row counts (`retime`: even where a choice is made or cached).
    private func tunedRows(_ op: String, cols: Int, rows: Int, retime: Bool = false) throws -> String? {
        var rowClass = 1
        while rowClass < rows { rowClass *= 2 }
        return try tuner.choose(
            family: op, shape: "cols=\(cols) rows=\(rowClass)", program: op == "crossEntropy" ? "losses" : op,
            candidates: [RowVariant.perGroup, .perTeam].map(\.rawValue), retime: retime
        ) { name in
            try KernelVariants.$rows.withValue(RowVariant(rawValue: name)!) { try timeRows(op, cols: cols, rows: rowClass) }
        }
    }

    /// Times the row candidates of `op` ("softmax", "layernorm" or "crossEntropy") for rows of `cols`
    /// now, even where a choice is cached (`dive tune`); returns the choice (nil on CPU-type devices).
    public func tuneRows(_ op: String, cols: Int, rows: Int) throws -> TunedChoice? {
        guard limits.isGPU, ["softmax", "layernorm", "crossEntropy"].contains(op) else { return nil }
        return try tuner.retimed {
            rowLaunches = rowLaunches.filter { $0.key.variant != .auto || $0.key.op != op || $0.key.cols != cols }
            _ = try tunedRows(op, cols: cols, rows: rows, retime: true)
        }
    }

    /// Median seconds of `op` ("softmax", "layernorm" or "crossEntropy", each forward and backward) on
    /// rows × cols with the row variant in force.
    private func timeRows(_ op: String, cols: Int, rows: Int) throws -> Double {
        let x = try Tensor.full([rows, cols], 0.5, on: self), dy = try Tensor.full([rows, cols], 0.25, on: self)
        let y = try Tensor.empty([rows, cols], on: self), dx = try Tensor.empty([rows, cols], on: self)
        if op == "crossEntropy" {
            let targets = try Tensor.zeros([rows], dtype: .int32, on: self), loss = try Tensor.empty([rows], on: self)
            let g = try Tensor.ones([rows], on: self)
            return try medianTime {
                try crossEntropy(logits: x, targets: targets, weights: nil, labelSmoothing: 0.1, into: loss, rows: rows, classes: cols)
                try crossEntropyBackward(
                    logits: x, targets: targets, weights: nil, labelSmoothing: 0.1, gradLoss: g, gradScale: 1, into: dx, rows: rows,
                    classes: cols)
            }
        }
        if op == "softmax" {
            return try medianTime {
                try maskedSoftmax(x, validLens: nil, into: y, rows: rows, cols: cols)
                try softmaxBackward(output: y, gradOutput: dy, validLens: nil, into: dx, rows: rows, cols: cols)
            }
        }
        let gamma = try Tensor.ones([cols], on: self), beta = try Tensor.zeros([cols], on: self)
        let mean = try Tensor.empty([rows], on: self), rstd = try Tensor.empty([rows], on: self)
        let dGamma = try Tensor.empty([cols], on: self), dBeta = try Tensor.empty([cols], on: self)
        return try medianTime {
            try layerNorm(
                x, residual: nil, dropout: nil, gamma: gamma, beta: beta, eps: 1e-5, into: y, sum: nil, mean: mean, rstd: rstd,
                rows: rows, cols: cols)
            try layerNormBackward(
                x, gradOutput: dy, gamma: gamma, mean: mean, rstd: rstd, dropout: nil, into: dx, dResidual: nil,
                dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
        }
    }

    /// Float32 masked softmax of each row of (rows, cols) in one launch of the tuned row variant.
    public func maskedSoftmax(_ x: Tensor, validLens: Tensor?, into y: Tensor, rows: Int, cols: Int) throws {
        try requireFloat32(x, op: "maskedSoftmax")
        try softmaxLaunch(.sm_fw, .sm_fw_wg, validLens: validLens, rows: rows, cols: cols) { a in
            try a.buffer(x); try a.buffer(y)
        }
    }

    /// Float32 softmax backward of each row of (rows, cols) in one launch of the tuned row variant.
    public func softmaxBackward(
        output y: Tensor, gradOutput dy: Tensor, validLens: Tensor?, into dx: Tensor,
        rows: Int, cols: Int
    ) throws {
        try requireFloat32(y, op: "softmaxBackward")
        try softmaxLaunch(.sm_bw, .sm_bw_wg, validLens: validLens, rows: rows, cols: cols) { a in
            try a.buffer(y); try a.buffer(dy); try a.buffer(dx)
        }
    }

    /// One launch of a softmax row kernel: the buffers `setBuffers` binds and the valid lengths, then
    /// the row width, the rows per valid length and whether there are valid lengths, then the team's sizes.
    private func softmaxLaunch(
        _ perItem: Kernel, _ perTeam: Kernel, validLens: Tensor?, rows: Int, cols: Int,
        _ setBuffers: (inout KernelArgs) throws -> Void
    ) throws {
        let rep = validLens.map { rows / max($0.count, 1) } ?? 1
        try rowsLaunch("softmax", perItem, perTeam, cols: cols, rows: rows) { a, shape in
            try setBuffers(&a)
            try a.buffer(validLens)
            try a.int(cols); try a.int(rep); try a.int(validLens == nil ? 0 : 1)
            if let shape { try a.int(shape.team); try a.int(rows); try a.local(floats: shape.local) }
        }
    }

    /// One launch of row op `op` on (rows, cols): kernel `perItem`, a work-item per row, where
    /// `rowLaunch` gives no shape, else `perTeam` in work-groups of the shape's size; `setArgs` gets
    /// the shape too.
    func rowsLaunch(
        _ op: String, _ perItem: Kernel, _ perTeam: Kernel, cols: Int, rows: Int,
        _ setArgs: (inout KernelArgs, RowLaunch?) throws -> Void
    ) throws {
        let shape = try rowLaunch(op, cols: cols, rows: rows)
        try launch(
            shape == nil ? perItem : perTeam, global: (shape.map { $0.groups(rows: rows) * $0.local } ?? rows, 1, 1),
            local: shape.map { ($0.local, 1, 1) }
        ) { a in try setArgs(&a, shape) }
    }
}
