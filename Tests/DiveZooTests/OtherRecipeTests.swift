// seq-model (8.1), numerics (4.8), the SVG plot and the metrics log.
import Dive
import DiveZoo
import Foundation
import Testing

@Suite struct OtherRecipeTests {
    @Test func sequenceModelLearnsTheSine() throws {
        let r = try SequenceModelRecipe().train(shortRun(epochs: 5))
        #expect(r.epochLosses.count == 5)
        // The book prints 0.0768 → 0.0517; the noise alone is 0.04 (σ = 0.2).
        #expect(r.epochLosses.last! < 0.09 && r.epochLosses.last! > 0.03, "\(r.epochLosses)")
        let mse = Dictionary(uniqueKeysWithValues: r.predictionMSE)
        #expect(mse["1-step"]! < 0.09)
        #expect(mse["k=64"]! > mse["k=1"]!)  // errors accumulate k steps ahead
    }

    @Test func numericsShowsVanishingAndExploding() throws {
        let report = try NumericsRecipe().run(shortRun(epochs: 0))
        #expect(abs(report.metrics["sigmoid_grad_max"]! - 0.25) < 1e-4)
        // σ'(−8) = σ(−8)(1 − σ(−8)) ≈ 3.35e-4
        let s = 1 / (1 + exp(8.0))
        #expect(abs(report.metrics["sigmoid_grad_at_-8"]! - s * (1 - s)) < 1e-6)
        #expect(report.metrics["product_max_abs"]! > 1e10)
        let xavier = report.metrics["variance.Xavier uniform"]!
        #expect(xavier > 0.05 && xavier < 20, "Xavier variance \(xavier)")
        #expect(report.metrics["variance.N(0, 1)"]! > 1e20)
        #expect(report.metrics["variance.N(0, 0.01)"]! < 1e-10)
    }

    @Test func plotAndLog() throws {
        var o = shortRun(epochs: 3)
        let log = temporaryFile("metrics.jsonl"), svg = temporaryFile("loss.svg")
        defer { try? FileManager.default.removeItem(at: log); try? FileManager.default.removeItem(at: svg) }
        o.metricsLog = log
        let report = try LanguageModelRecipe.rnn.run(o)
        try SVGPlot.write(report, recipe: "rnn", to: svg)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["epoch"] as? Int == 1 && first["perplexity"] != nil && first["tokens_per_s"] != nil)
        let doc = try String(contentsOf: svg, encoding: .utf8)
        #expect(doc.hasPrefix("<svg") && doc.contains("<polyline") && doc.hasSuffix("</svg>\n"))
        #expect(report.lines[0].hasPrefix("perplexity "))
        #expect(report.lines[1].hasPrefix("time traveller") && report.lines[2].hasPrefix("traveller"))
    }
}
