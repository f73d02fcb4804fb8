// 10.5 Multi-head attention: MultiHeadAttention(100, 100, 100, 100, 5 heads, dropout 0.5) in eval
// mode on X = ones(2, 4, 100) queries and Y = ones(2, 6, 100) keys/values with lengths [3, 2]:
// the book prints the output shape (2, 4, 100). --plot draws the 5 heads' weights per batch item.
import Dive
import DiveData
import DiveNN
import Foundation

/// 10.5: multi-head attention (width 100, 5 heads, dropout 0.5) in eval mode on the book's ones
/// input, whose output shape is (2, 4, 100).
public struct MultiHeadRecipe: Demonstration {
    /// Registered as `multihead`: zh section 10.5, en 11.5.
    public let listing = RecipeListing(
        name: "multihead", section: "10.5", enSection: "11.5",
        summary: "multi-head attention on the book's toy input: output shape (2, 4, 100)")

    /// The demonstration; it has no settings of its own.
    public init() {}

    /// The book's toy layer of 10.5 and 10.6: MultiHeadAttention(100, 100, 100, 100, 5 heads,
    /// dropout 0.5), in eval mode.
    static func bookAttention(on backend: Backend, rng: HostRNG) throws -> MultiHeadAttention {
        let attention = try MultiHeadAttention(
            keySize: 100, querySize: 100, valueSize: 100, numHiddens: 100, numHeads: 5,
            dropout: 0.5, on: backend, rng: rng)
        attention.eval()
        return attention
    }

    /// Prints the output shape beside the book's; `--plot` adds the 5 heads' weights for each batch item.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let backend = try options.backend
        let rng = HostRNG(seed: options.seed)
        let (hiddens, heads, batch, queries, pairs) = (100, 5, 2, 4, 6)
        let attention = try Self.bookAttention(on: backend, rng: rng)
        attention.keepsWeights = true
        let x = try Tensor.ones([batch, queries, hiddens], on: backend)  // (2, 4, 100)
        let y = try Tensor.ones([batch, pairs, hiddens], on: backend)  // (2, 6, 100)
        let lens = try Tensor([Int32(3), 2], shape: [2], on: backend)
        let out = try Autograd.withoutGrad { try attention(x, y, y, validLens: lens) }  // (2, 4, 100)
        let shape = "(" + out.shape.map(String.init).joined(separator: ", ") + ")"
        var report = RecipeReport(
            lines: [
                "MultiHeadAttention(100, 100, 100, 100, 5, 0.5)(X, Y, Y, [3, 2]).shape = \(shape)",
                "(book: torch.Size([2, 4, 100]))"
            ],
            metrics: ["shape.0": Double(out.shape[0]), "shape.1": Double(out.shape[1]), "shape.2": Double(out.shape[2])])
        if options.plot != nil, let w = attention.attention.attentionWeights {  // (2·5, 4, 6), batch-major
            let flat = try w.toArray()
            let panels = (0..<(batch * heads)).map { i in
                HeatmapPanel(
                    flat: Array(flat[(i * queries * pairs)..<((i + 1) * queries * pairs)]), rows: queries, columns: pairs,
                    title: "batch \(i / heads) head \(i % heads + 1)")
            }
            report.figures = [("attention", SVGHeatmap.document(panels, columns: heads, title: "multi-head attention weights (10.5)"))]
        }
        return report
    }
}
