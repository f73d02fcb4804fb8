// 10.6 Self-attention and positional encoding: multi-head self-attention of X = ones(2, 4, 100)
// with lengths [3, 2] (shape (2, 4, 100)), and PositionalEncoding(32, 0) over 60 positions: the
// book plots columns 6–9 against the position and the whole table as a heatmap (--plot), and
// prints 0..7 in binary to show the same falling frequencies.
import Dive
import DiveData
import DiveNN
import Foundation

/// 10.6: the shape of multi-head self-attention on the book's ones input, and the sinusoidal
/// positional encoding of width 32 over 60 positions.
public struct SelfAttentionRecipe: Demonstration {
    /// Registered as `self-attention`: zh section 10.6, en 11.6.
    public let listing = RecipeListing(
        name: "self-attention", section: "10.6", enSection: "11.6",
        summary: "self-attention shape and the sinusoidal positional encoding (PositionalEncoding(32, 0))")

    /// The demonstration; it has no settings of its own.
    public init() {}

    /// Prints the self-attention's output shape, columns 6–9 of the encoding at four positions and 0…7
    /// in binary; `--plot` adds the columns' curves and the whole table as a heatmap.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let backend = try options.backend
        let rng = HostRNG(seed: options.seed)
        let attention = try MultiHeadRecipe.bookAttention(on: backend, rng: rng)
        let x = try Tensor.ones([2, 4, 100], on: backend)  // (2, 4, 100)
        let out = try Autograd.withoutGrad { try attention(x, x, x, validLens: Tensor([Int32(3), 2], shape: [2], on: backend)) }
        let (dim, steps) = (32, 60)
        let encoding = PositionalEncoding(numHiddens: dim, dropout: 0)
        encoding.eval()
        let p = try Autograd.withoutGrad { try encoding(Tensor.zeros([1, steps, dim], on: backend)) }.toArray()  // (1, 60, 32)
        var lines = ["self-attention output shape (" + out.shape.map(String.init).joined(separator: ", ") + ")  (book: (2, 4, 100))"]
        lines.append("P[:, 6:10] at positions 0, 1, 2, 59:")
        for pos in [0, 1, 2, 59] {
            lines.append("  \(pos): " + (6..<10).map { String(format: "%.4f", p[pos * dim + $0]) }.joined(separator: ", "))
        }
        let binary = (0..<8).map { i -> String in
            let b = String(i, radix: 2); return String(repeating: "0", count: 3 - b.count) + b
        }
        lines.append("0..7 in binary: " + binary.joined(separator: " "))
        var metrics = ["shape.0": Double(out.shape[0]), "shape.1": Double(out.shape[1]), "shape.2": Double(out.shape[2])]
        for pos in [1, 59] { for c in 6..<10 { metrics["P.\(pos).\(c)"] = Double(p[pos * dim + c]) } }
        var report = RecipeReport(lines: lines, metrics: metrics)
        if options.plot != nil {
            let series = (6..<10).map { c in ("Col \(c)", (0..<steps).map { Double(p[$0 * dim + c]) }) }
            report.figures = [
                ("columns", SVGPlot.lines(series, xLabel: "Row (position)", title: "positional encoding, columns 6-9 (10.6)")),
                (
                    "heatmap",
                    SVGHeatmap.document(
                        [HeatmapPanel(flat: p, rows: steps, columns: dim)], columns: 1,
                        xLabel: "Column (encoding dimension)", yLabel: "Row (position)",
                        title: "positional encoding P (10.6)")
                )
            ]
        }
        return report
    }
}
