// 10.3 Attention scoring functions: the book's masked softmax on a random (2, 2, 4) input with
// 1-D lengths [2, 3] and 2-D lengths [[1, 3], [2, 4]]; additive attention (key 2, query 20,
// hidden 8, dropout 0.1) and scaled dot-product attention (dropout 0.5) in eval mode on the
// book's toy inputs. Keys are all ones, so every valid key scores the same and both layers must
// average the first 2 and 6 value rows: [[2, 3, 4, 5]] and [[10, 11, 12, 13]].
import Dive
import DiveData
import DiveNN
import Foundation

/// 10.3: the masked softmax with 1-D and 2-D valid lengths, then additive and scaled dot-product
/// attention on the book's toy inputs, both averaging the valid value rows.
public struct AttentionScoringRecipe: Demonstration {
    /// Registered as `attention-scoring`: zh section 10.3, en 11.3.
    public let listing = RecipeListing(
        name: "attention-scoring", section: "10.3", enSection: "11.3",
        summary: "masked softmax, additive and scaled dot-product attention on the book's toy inputs")

    /// The demonstration; it has no settings of its own.
    public init() {}

    /// The book's inputs: values arange(40) as (2, 10, 4) (both batch items alike), keys ones (2, 10, 2), lengths [2, 6].
    public static func toyInputs(on backend: Backend) throws -> (keys: Tensor, values: Tensor, validLens: Tensor) {
        let values = (0..<2).flatMap { _ in (0..<40).map(Float.init) }
        return (
            try Tensor.ones([2, 10, 2], on: backend), try Tensor(values, shape: [2, 10, 4], on: backend),
            try Tensor([Int32(2), 6], shape: [2], on: backend)
        )
    }

    /// Prints the masked softmaxes and both attention layers' outputs (eval mode) beside the book's;
    /// `--plot` adds their attention weights.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let backend = try options.backend
        let rng = HostRNG(seed: options.seed)
        var lines: [String] = [], metrics: [String: Double] = [:]
        let x = try Tensor((0..<16).map { _ in Float(rng.uniform()) }, shape: [2, 2, 4], on: backend)  // torch.rand(2, 2, 4)
        let s1 = try x.maskedSoftmax(validLens: Tensor([Int32(2), 3], shape: [2], on: backend))
        let s2 = try x.maskedSoftmax(validLens: Tensor([Int32(1), 3, 2, 4], shape: [4], on: backend))  // [[1, 3], [2, 4]] flattened
        for (i, v) in try s1.toArray().enumerated() { metrics["softmax.lens1d.\(i)"] = Double(v) }
        for (i, v) in try s2.toArray().enumerated() { metrics["softmax.lens2d.\(i)"] = Double(v) }
        lines += [
            "masked_softmax(rand(2, 2, 4), [2, 3]):", try DemoFormatting.nested(s1),
            "masked_softmax(rand(2, 2, 4), [[1, 3], [2, 4]]):", try DemoFormatting.nested(s2)
        ]

        let (keys, values, lens) = try Self.toyInputs(on: backend)
        let additive = try AdditiveAttention(keySize: 2, querySize: 20, numHiddens: 8, dropout: 0.1, on: backend, rng: rng)
        additive.eval(); additive.keepsWeights = true
        let qa = try Tensor((0..<40).map { _ in Float(rng.normal()) }, shape: [2, 1, 20], on: backend)  // normal(0, 1, (2, 1, 20))
        let outA = try Autograd.withoutGrad { try additive(qa, keys, values, validLens: lens) }
        let dot = DotProductAttention(dropout: 0.5)
        dot.eval(); dot.keepsWeights = true
        let qd = try Tensor((0..<4).map { _ in Float(rng.normal()) }, shape: [2, 1, 2], on: backend)  // normal(0, 1, (2, 1, 2))
        let outD = try Autograd.withoutGrad { try dot(qd, keys, values, validLens: lens) }
        lines += [
            "AdditiveAttention(2, 20, 8, 0.1) with valid_lens [2, 6]:", try DemoFormatting.nested(outA),
            "DotProductAttention(0.5) with valid_lens [2, 6]:", try DemoFormatting.nested(outD),
            "(book: both [[[2, 3, 4, 5]], [[10, 11, 12, 13]]])"
        ]
        for (label, out) in [("additive", outA), ("dot", outD)] {
            for (i, v) in try out.toArray().enumerated() { metrics["\(label).\(i)"] = Double(v) }
        }
        var report = RecipeReport(lines: lines, metrics: metrics)
        if options.plot != nil {
            var panels: [HeatmapPanel] = []
            for (label, layerWeights) in [("additive", additive.attentionWeights), ("dot product", dot.attentionWeights)] {
                guard let w = layerWeights else { continue }  // (2, 1, 10)
                let flat = try w.toArray()
                panels += (0..<2).map {
                    HeatmapPanel(
                        flat: Array(flat[($0 * 10)..<($0 * 10 + 10)]), rows: 1, columns: 10,
                        title: "\(label), batch \($0)")
                }
            }
            report.figures = [
                (
                    "attention",
                    SVGHeatmap.document(
                        panels, columns: 2, xLabel: "Keys", yLabel: "Queries",
                        title: "attention weights (10.3)")
                )
            ]
        }
        return report
    }
}
