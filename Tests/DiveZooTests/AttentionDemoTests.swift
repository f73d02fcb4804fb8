// The chapter 10 demonstrations against independent float64 computations: masked softmax on the
// 10.3 toy input, both attention layers averaging the valid value rows ([[2,3,4,5]], [[10,11,12,13]]),
// Nadaraya–Watson predictions, the positional encoding table, shapes; and the heatmaps they
// write parse as XML with one cell per weight.
import Dive
import DiveNN
import DiveZoo
import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Counts the heatmap cells of an SVG (rects without a stroke, other than the background and the colour bar).
final class HeatmapCellCounter: NSObject, XMLParserDelegate {
    var cells = 0, rects = 0
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        guard name == "rect" else { return }
        rects += 1
        if attributes["stroke"] == nil && attributes["width"] != "100%" && attributes["width"] != "12" { cells += 1 }
    }

    /// Parses `svg`; nil when it is not well-formed XML.
    static func count(_ svg: String) -> Int? {
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = HeatmapCellCounter()
        parser.delegate = counter
        return parser.parse() ? counter.cells : nil
    }
}

@Suite(.serialized) struct AttentionDemoTests {
    static let devices: [Device] = [.cpu] + openCLDevices

    @Test(arguments: devices) func attentionScoringMatchesTheBook(device: Device) throws {
        var o = shortRun(device, epochs: 0)
        o.plot = URL(fileURLWithPath: "/dev/null")
        let report = try AttentionScoringRecipe().run(o)
        // Masked softmax by hand on the same draws: rows of 4, lengths [2, 3] per batch item or [1, 3, 2, 4] per row.
        let rng = HostRNG(seed: 0)
        let x = (0..<16).map { _ in Double(Float(rng.uniform())) }
        for (key, lens) in [("lens1d", [2, 2, 3, 3]), ("lens2d", [1, 3, 2, 4])] {
            for r in 0..<4 {
                let row = Array(x[(r * 4)..<(r * 4 + 4)])
                let e = row.prefix(lens[r]).map { Foundation.exp($0) }
                let total = e.reduce(0, +)
                for c in 0..<4 {
                    let expected = c < lens[r] ? e[c] / total : 0
                    let got = try #require(report.metrics["softmax.\(key).\(r * 4 + c)"])
                    #expect(abs(got - expected) < 1e-5, "\(key) row \(r) col \(c): \(got) vs \(expected)")
                }
            }
        }
        // The mean of value rows 0..<2 and 0..<6 of arange(40).reshape(10, 4).
        let expected: [Double] = [2, 3, 4, 5, 10, 11, 12, 13]
        for layer in ["additive", "dot"] {
            for (i, e) in expected.enumerated() {
                let got = try #require(report.metrics["\(layer).\(i)"])
                #expect(abs(got - e) < 1e-4, "\(layer)[\(i)] = \(got), book \(e)")
            }
        }
        // Two panels per layer, 1 × 10 weights each.
        #expect(report.figures.count == 1 && HeatmapCellCounter.count(report.figures[0].svg) == 40)
    }

    @Test func nadarayaWatsonAgainstFloat64() throws {
        var o = shortRun(epochs: 5)
        o.plot = URL(fileURLWithPath: "/dev/null")
        let report = try NadarayaWatsonRecipe().run(o)
        let (xTrain, yTrain, xTest) = NadarayaWatsonRecipe.data(seed: 0)
        for i in [0, 25, 49] {
            let q = Double(xTest[i])
            let s = xTrain.map { -(q - Double($0)) * (q - Double($0)) / 2 }
            let m = s.max()!
            let e = s.map { Foundation.exp($0 - m) }
            let yHat = zip(e, yTrain).reduce(0) { $0 + $1.0 * Double($1.1) } / e.reduce(0, +)
            #expect(abs(report.metrics["nonparametric.\(i)"]! - yHat) < 1e-4, "test input \(q)")
        }
        #expect(report.metrics["loss.5"]! < report.metrics["loss.1"]!)
        #expect(report.metrics["mse.parametric"]! < report.metrics["mse.average"]!)
        #expect(report.metrics["mse.nonparametric"]! < report.metrics["mse.average"]!)
        // Two 50 × 50 kernels.
        #expect(report.figures.map(\.name) == ["nonparametric", "parametric"])
        for f in report.figures { #expect(HeatmapCellCounter.count(f.svg) == 2500) }
    }

    @Test func multiHeadAndSelfAttentionShapesAndEncoding() throws {
        var o = shortRun(epochs: 0)
        o.plot = URL(fileURLWithPath: "/dev/null")
        let mha = try MultiHeadRecipe().run(o)
        #expect([mha.metrics["shape.0"], mha.metrics["shape.1"], mha.metrics["shape.2"]] == [2, 4, 100])
        #expect(HeatmapCellCounter.count(mha.figures[0].svg) == 10 * 4 * 6)
        let sa = try SelfAttentionRecipe().run(o)
        #expect([sa.metrics["shape.0"], sa.metrics["shape.1"], sa.metrics["shape.2"]] == [2, 4, 100])
        for pos in [1, 59] {
            for c in 6..<10 {
                let angle = Double(pos) / Foundation.pow(10000, Double(c / 2 * 2) / 32)
                let expected = c % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle)
                #expect(abs(sa.metrics["P.\(pos).\(c)"]! - expected) < 1e-4, "P[\(pos), \(c)]")
            }
        }
        let heatmap = try #require(sa.figures.first { $0.name == "heatmap" })
        #expect(HeatmapCellCounter.count(heatmap.svg) == 60 * 32)
        let columns = try #require(sa.figures.first { $0.name == "columns" })
        #expect(HeatmapCellCounter.count(columns.svg) != nil && columns.svg.components(separatedBy: "<polyline").count == 5)
    }

    @Test func heatmapIsValidXMLWithEscapedLabels() throws {
        let panels = [
            HeatmapPanel(
                [[0.1, 0.9], [0.5, 0.5], [1, 0]], title: "a<b & c", rowLabels: ["<bos>", "j'ai", "\"x\""],
                columnLabels: ["go", "<eos>"]),
            HeatmapPanel([[0.2, 0.3, 0.5]], title: "second")
        ]
        #expect(HeatmapCellCounter.count(SVGHeatmap.document(panels, title: "t & <u>")) == 6 + 3)
    }
}
