// Kernel-device (OpenCL, CUDA) optimiser steps and the global norm over tables of parameters: Kernels/optimisation.cl takes
// up to `slots` tensors per launch, so a model's whole update is ⌈parameters / 16⌉ launches and
// clipping two (partial sums, then the norm or clipping scale in one work-group).
import Foundation

extension KernelBackend {
    /// Tensors per launch of the optimiser kernels (the kernels' SLOT_PTR width).
    static let slots = 16

    /// Launches `id` once per chunk of `slots` rows of `table` (each row: the chunk's tensors for
    /// one argument list, e.g. params then grads), over a (width, chunk size) grid; unused slots
    /// get the dummy buffer and count 0. `rest` sets the arguments after the counts.
    private func launchSlots(
        _ id: Kernel, _ table: [[Tensor]], width: (Int) -> Int,
        _ rest: (inout KernelArgs, _ chunk: Int) throws -> Void
    ) throws {
        let count = table.first?.count ?? 0
        for (chunk, start) in stride(from: 0, to: count, by: Self.slots).enumerated() {
            let end = min(start + Self.slots, count)
            let largest = (start..<end).map { table[0][$0].count }.max() ?? 0
            try launch(id, global: (max(width(largest), 1), end - start, 1)) { a in
                for column in table {
                    for i in start..<start + Self.slots { if i < end { try a.buffer(column[i]) } else { try a.buffer(nil) } }
                }
                for i in start..<start + Self.slots { try a.int(i < end ? table[0][i].count : 0) }
                try rest(&a, chunk)
            }
        }
    }

    /// Work-items per slot for an elementwise update of `n` elements (each loops over the rest).
    private static func updateWidth(_ n: Int) -> Int { (min(n, 1 << 16) + 63) / 64 * 64 }

    /// Float32 SGD of every parameter in place, one `sgd_n` launch per 16 tensors.
    public func sgdStep(params: [Tensor], grads: [Tensor], lr: Float, gradScale: Tensor?) throws {
        try requireFloat32(params + grads, op: "sgdStep")
        try launchSlots(.sgd_n, [params, grads], width: Self.updateWidth) { a, _ in
            try a.buffer(gradScale); try a.stepFloat(lr); try a.int(gradScale == nil ? 0 : 1)
        }
    }

    /// Float32 Adam or AdamW of every parameter and its moments in place, one `adam_n` launch per 16 tensors.
    public func adamStep(params: [Tensor], grads: [Tensor], m: [Tensor], v: [Tensor], hyper h: AdamHyper) throws {
        try requireFloat32(params + grads + m + v, op: "adamStep")
        let t = Float(h.step)
        let stepSize = h.lr / (1 - Foundation.pow(h.beta1, t))
        let c2root = (1 - Foundation.pow(h.beta2, t)).squareRoot()
        try launchSlots(.adam_n, [params, grads, m, v], width: Self.updateWidth) { a, _ in
            try a.buffer(h.gradScale); try a.float(h.beta1); try a.float(h.beta2); try a.stepFloat(stepSize); try a.stepFloat(c2root)
            try a.float(h.eps); try a.stepFloat(h.decoupled ? 1 - h.lr * h.weightDecay : 1)
            try a.float(h.decoupled ? 0 : h.weightDecay); try a.int(h.gradScale == nil ? 0 : 1)
        }
    }

    /// Float32 global L2 norm or clipping scale: partial sums of squares, then one work-group's tree sum.
    public func globalNorm(_ tensors: [Tensor], clipTo maxNorm: Float?, into out: Tensor) throws {
        try requireFloat32(tensors + [out], op: "globalNorm")
        let width = 256
        let chunks = (tensors.count + Self.slots - 1) / Self.slots
        // Row i of partials holds tensor i's sums; norm_final adds the rows that were written.
        let partials = try Tensor.empty([max(chunks, 1) * Self.slots * width], on: self)
        try launchSlots(
            .sumsq_n, [tensors], width: { _ in width },
            { a, chunk in
                try a.buffer(partials); try a.int(chunk * Self.slots)
            })
        var local = 1
        while local * 2 <= min(256, limits.maxWorkGroupSize) { local *= 2 }  // the tree needs a power of two
        try launch(.norm_final, global: (local, 1, 1), local: (local, 1, 1)) { a in
            try a.buffer(partials); try a.buffer(out); try a.int(tensors.count * width); try a.float(maxNorm ?? 0)
            try a.local(floats: local)
        }
    }
}
