// The training curve as a small self-contained SVG (the book's Animator plots): one polyline of
// a per-epoch figure against the epoch (and of the held-out figure, when there is one), with axes,
// ticks and labels.
import Foundation

/// Draws training curves and named series as self-contained SVG line charts (the book's Animator and
/// `d2l.plot`).
public enum SVGPlot {
    /// The plot area both charts share: size and margins, the y range of the finite values (widened
    /// when flat) and the number of x positions, with the maps from data to pixels.
    private struct Frame {
        let w: Double, h: Double, left: Double, right: Double, top = 30.0, bottom = 45.0
        let lo: Double, hi: Double, n: Int

        init(width: Double, right: Double, values: [Double], count: Int) {
            w = width; h = 320; left = 60; self.right = right
            let finite = values.filter(\.isFinite)
            var lo = finite.min() ?? 0, hi = finite.max() ?? 1
            if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
            self.lo = lo; self.hi = hi; n = max(count, 2)
        }

        func px(_ i: Int) -> Double { left + (w - left - right) * Double(i) / Double(n - 1) }
        func py(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }

        /// The document's opening: white background, title, x and y axes.
        func header(_ title: String) -> String {
            """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(w / 2)" y="18" text-anchor="middle" font-size="13">\(SVGPlot.escape(title))</text>
            <line x1="\(left)" y1="\(h - bottom)" x2="\(w - right)" y2="\(h - bottom)" stroke="black"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(h - bottom)" stroke="black"/>

            """
        }

        /// The polyline through the finite values at x = 0, 1, 2, ….
        func polyline(_ values: [Double], colour: String) -> String {
            let points = values.enumerated().filter { $0.element.isFinite }.map {
                "\(SVGPlot.f(px($0.offset))),\(SVGPlot.f(py($0.element)))"
            }
            return "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
    }

    /// An SVG document plotting `values` (index i is epoch i + 1), titled `title`, y labelled `label`;
    /// `heldOut`, when not empty, the same epochs' held-out figures as a second line labelled `heldOutLabel`.
    public static func curve(
        _ values: [Double], title: String, label: String, heldOut: [Double] = [], heldOutLabel: String = "held-out"
    ) -> String {
        let fr = Frame(width: 480, right: 20, values: values + heldOut, count: max(values.count, heldOut.count))
        let (w, h, left, right, top, bottom) = (fr.w, fr.h, fr.left, fr.right, fr.top, fr.bottom)
        var s = fr.header(title)
        for k in 0...4 {
            let v = fr.lo + (fr.hi - fr.lo) * Double(k) / 4, y = fr.py(v)
            s += "<line x1=\"\(left - 4)\" y1=\"\(f(y))\" x2=\"\(w - right)\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(String(format: "%.3g", v))</text>\n"
            let i = (fr.n - 1) * k / 4
            s += "<text x=\"\(f(fr.px(i)))\" y=\"\(f(h - bottom + 16))\" text-anchor=\"middle\">\(i + 1)</text>\n"
        }
        s += "<text x=\"\(f((left + w - right) / 2))\" y=\"\(f(h - 8))\" text-anchor=\"middle\">epoch</text>\n"
        s +=
            "<text x=\"14\" y=\"\(f((top + h - bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f((top + h - bottom) / 2)))\">\(escape(label))</text>\n"
        s += fr.polyline(values, colour: "#1f77b4")
        if !heldOut.isEmpty {
            s += fr.polyline(heldOut, colour: "#ff7f0e")
            s += "<text x=\"\(f(w - right))\" y=\"\(f(top + 10))\" text-anchor=\"end\" fill=\"#1f77b4\">train</text>\n"
            s += "<text x=\"\(f(w - right))\" y=\"\(f(top + 24))\" text-anchor=\"end\" fill=\"#ff7f0e\">\(escape(heldOutLabel))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// Several named series over x = 0, 1, 2, … in one plot with a legend (the book's `d2l.plot`).
    public static func lines(_ series: [(String, [Double])], xLabel: String, title: String) -> String {
        let fr = Frame(width: 520, right: 90, values: series.flatMap(\.1), count: series.map(\.1.count).max() ?? 2)
        let (w, h, left, right, top, bottom) = (fr.w, fr.h, fr.left, fr.right, fr.top, fr.bottom)
        let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
        var s = fr.header(title)
        for k in 0...4 {
            let v = fr.lo + (fr.hi - fr.lo) * Double(k) / 4, i = (fr.n - 1) * k / 4
            s += "<text x=\"\(left - 6)\" y=\"\(f(fr.py(v) + 4))\" text-anchor=\"end\">\(String(format: "%.3g", v))</text>"
            s += "<text x=\"\(f(fr.px(i)))\" y=\"\(f(h - bottom + 16))\" text-anchor=\"middle\">\(i)</text>\n"
        }
        s += "<text x=\"\(f((left + w - right) / 2))\" y=\"\(f(h - 8))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        for (k, (label, values)) in series.enumerated() {
            let c = colours[k % colours.count]
            s += fr.polyline(values, colour: c)
            s += "<text x=\"\(f(w - right + 8))\" y=\"\(f(top + 14 * Double(k) + 8))\" fill=\"\(c)\">\(escape(label))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// Writes the curve of a report's history to `url`, with the held-out figures where the epochs have them.
    public static func write(_ report: RecipeReport, recipe: String, to url: URL) throws {
        let values = report.history.map { report.curve == "perplexity" ? ($0.perplexity ?? $0.loss) : $0.loss }
        let heldOut = report.history.contains { $0.validation != nil } ? report.history.map { $0.validation ?? .nan } : []
        try FigureFile.write(
            curve(values, title: "dive train \(recipe)", label: report.curve, heldOut: heldOut, heldOutLabel: report.heldOutLabel), to: url)
    }

    private static func f(_ x: Double) -> String { String(format: "%.1f", x) }
    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}
