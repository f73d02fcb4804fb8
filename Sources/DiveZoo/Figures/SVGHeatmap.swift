// Attention weights as heatmaps in a self-contained SVG (the book's `show_heatmaps`): a grid of
// panels, each one matrix of weights drawn as cells shaded from white (the panel's minimum) to
// red (its maximum), with optional token labels on the axes and a shared colour bar.
import Foundation

/// One matrix to draw: `values[row][column]`, with optional labels for the rows and columns.
public struct HeatmapPanel: Sendable {
    /// The weights, `values[row][column]`.
    public var values: [[Double]]
    /// The panel's title, drawn above it (empty: none).
    public var title: String
    /// Tokens written beside the rows (nil: none).
    public var rowLabels: [String]?
    /// Tokens written under the columns (nil: none).
    public var columnLabels: [String]?

    /// A panel from its rows of values, with an optional title and axis labels.
    public init(_ values: [[Double]], title: String = "", rowLabels: [String]? = nil, columnLabels: [String]? = nil) {
        self.values = values; self.title = title; self.rowLabels = rowLabels; self.columnLabels = columnLabels
    }

    /// A panel from a row-major buffer of `rows × columns` values.
    public init(
        flat: [Float], rows: Int, columns: Int, title: String = "",
        rowLabels: [String]? = nil, columnLabels: [String]? = nil
    ) {
        precondition(flat.count >= rows * columns, "heatmap: \(flat.count) values for \(rows)×\(columns)")
        let values = (0..<rows).map { r in (0..<columns).map { c in Double(flat[r * columns + c]) } }
        self.init(values, title: title, rowLabels: rowLabels, columnLabels: columnLabels)
    }
}

/// Draws heatmap panels as one self-contained SVG document (the book's `show_heatmaps`).
public enum SVGHeatmap {
    /// An SVG document laying `panels` out in rows of `columns` panels, axes named `xLabel`/`yLabel`.
    /// All panels share one colour scale (the minimum and maximum over every finite value).
    public static func document(
        _ panels: [HeatmapPanel], columns: Int = 4, xLabel: String = "Keys",
        yLabel: String = "Queries", title: String = ""
    ) -> String {
        let columns = max(1, min(columns, panels.count))
        let gridRows = (panels.count + columns - 1) / max(columns, 1)
        let all = panels.flatMap { $0.values.flatMap { $0 } }.filter(\.isFinite)
        let lo = all.min() ?? 0, hi = max(all.max() ?? 1, lo + 1e-12)
        // Every panel uses the same cell size, chosen so the largest matrix fits 220 px.
        let maxRows = panels.map { $0.values.count }.max() ?? 1
        let maxCols = panels.map { $0.values.first?.count ?? 0 }.max() ?? 1
        let cell = max(2.0, min(24.0, 220.0 / Double(max(maxRows, maxCols, 1))))
        let labelled = panels.contains { $0.rowLabels != nil || $0.columnLabels != nil }
        let margin = labelled ? 70.0 : 40.0, gap = 24.0, top = title.isEmpty ? 24.0 : 44.0
        let panelW = cell * Double(maxCols), panelH = cell * Double(maxRows)
        let barW = 70.0
        let width = margin + Double(columns) * (panelW + gap + margin / 2) + barW
        let height = top + Double(gridRows) * (panelH + margin + gap) + 10
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="10">
            <rect width="100%" height="100%" fill="white"/>

            """
        if !title.isEmpty { s += "<text x=\"\(f(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>\n" }
        for (index, panel) in panels.enumerated() {
            let x0 = margin + Double(index % columns) * (panelW + gap + margin / 2)
            let y0 = top + Double(index / columns) * (panelH + margin + gap)
            if !panel.title.isEmpty {
                s += "<text x=\"\(f(x0 + panelW / 2))\" y=\"\(f(y0 - 6))\" text-anchor=\"middle\">\(escape(panel.title))</text>\n"
            }
            for (r, row) in panel.values.enumerated() {
                for (c, v) in row.enumerated() {
                    s +=
                        "<rect x=\"\(f(x0 + Double(c) * cell))\" y=\"\(f(y0 + Double(r) * cell))\" width=\"\(f(cell))\" height=\"\(f(cell))\" fill=\"\(colour(v, lo, hi))\"/>"
                }
                s += "\n"
            }
            let rows = panel.values.count, cols = panel.values.first?.count ?? 0
            s +=
                "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(cell * Double(cols)))\" height=\"\(f(cell * Double(rows)))\" fill=\"none\" stroke=\"#444\"/>\n"
            if let labels = panel.rowLabels {
                for (r, label) in labels.prefix(rows).enumerated() {
                    s +=
                        "<text x=\"\(f(x0 - 4))\" y=\"\(f(y0 + (Double(r) + 0.5) * cell + 3))\" text-anchor=\"end\">\(escape(label))</text>\n"
                }
            }
            if let labels = panel.columnLabels {
                for (c, label) in labels.prefix(cols).enumerated() {
                    let x = x0 + (Double(c) + 0.5) * cell, y = y0 + Double(rows) * cell + 6
                    s +=
                        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"end\" transform=\"rotate(-60 \(f(x)) \(f(y)))\">\(escape(label))</text>\n"
                }
            }
            let yLabelX = x0 - (panel.rowLabels == nil ? 10 : margin - 8)
            s +=
                "<text x=\"\(f(x0 + cell * Double(cols) / 2))\" y=\"\(f(y0 + cell * Double(rows) + (panel.columnLabels == nil ? 14 : margin - 10)))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
            s +=
                "<text x=\"\(f(yLabelX))\" y=\"\(f(y0 + cell * Double(rows) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 \(f(yLabelX)) \(f(y0 + cell * Double(rows) / 2)))\">\(escape(yLabel))</text>\n"
        }
        // The colour bar: ten steps from the minimum (bottom) to the maximum (top).
        let bx = width - barW + 10, by = top, bh = max(60.0, min(panelH, 200.0))
        for k in 0..<10 {
            let v = lo + (hi - lo) * Double(9 - k) / 9
            s +=
                "<rect x=\"\(f(bx))\" y=\"\(f(by + bh * Double(k) / 10))\" width=\"12\" height=\"\(f(bh / 10 + 0.5))\" fill=\"\(colour(v, lo, hi))\"/>"
        }
        s += "\n<rect x=\"\(f(bx))\" y=\"\(f(by))\" width=\"12\" height=\"\(f(bh))\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(f(bx + 16))\" y=\"\(f(by + 8))\">\(String(format: "%.3g", hi))</text>\n"
        s += "<text x=\"\(f(bx + 16))\" y=\"\(f(by + bh))\">\(String(format: "%.3g", lo))</text>\n"
        return s + "</svg>\n"
    }

    /// Writes `document(...)` to `url`, with a clear error when the file cannot be written.
    public static func write(
        _ panels: [HeatmapPanel], to url: URL, columns: Int = 4, xLabel: String = "Keys",
        yLabel: String = "Queries", title: String = ""
    ) throws {
        try FigureFile.write(document(panels, columns: columns, xLabel: xLabel, yLabel: yLabel, title: title), to: url)
    }

    /// matplotlib's "Reds" in spirit: white at the minimum, dark red at the maximum.
    static func colour(_ v: Double, _ lo: Double, _ hi: Double) -> String {
        guard v.isFinite else { return "#888888" }
        let t = min(1, max(0, (v - lo) / (hi - lo)))
        let r = 255 - 152 * t * t, g = 245 * (1 - t), b = 240 * (1 - t) * (1 - t) + 13 * t
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    private static func f(_ x: Double) -> String { String(format: "%.1f", x) }
    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
