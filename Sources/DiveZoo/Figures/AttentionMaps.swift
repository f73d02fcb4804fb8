// The attention weights of one greedy translation as heatmap figures (the book's plots after
// 10.4 and 10.7): Bahdanau's decoder attention over the source, and the Transformer's encoder
// self-attention, decoder self-attention and decoder-encoder attention, per block and head.
import Dive
import DiveData
import Foundation

/// One heatmap file: its name (`attention`, `encoder`, `decoder-self`, `decoder-cross`) and panels.
public struct AttentionFigure: Sendable {
    /// The file's name: `attention`, `encoder`, `decoder-self` or `decoder-cross`, also its title.
    public var name: String
    /// One panel per block and head (Transformer), or the one panel of Bahdanau's attention.
    public var panels: [HeatmapPanel]
    /// The axes' names under and beside every panel (keys and queries).
    public var xLabel: String, yLabel: String

    /// The SVG document of this figure.
    public var svg: String { SVGHeatmap.document(panels, columns: 4, xLabel: xLabel, yLabel: yLabel, title: name) }
}

extension Translator {
    /// Greedy decoding that keeps every step's attention weights and returns them as figures;
    /// rows are the decoding steps, keys are padded to num_steps as the book pads them.
    public func greedyWithAttention(_ sentence: String) throws -> (Decoded, [AttentionFigure]) {
        let model = self.model
        model.recordsAttention = true
        defer { model.recordsAttention = false }
        var rows: [(figure: String, panel: String, rows: [[Float]])] = []
        let out = try greedy(sentence) {
            for r in try model.lastStepAttention() {
                if let i = rows.firstIndex(where: { $0.figure == r.figure && $0.panel == r.panel }) {
                    rows[i].rows.append(r.row)
                } else {
                    rows.append((r.figure, r.panel, [r.row]))
                }
            }
        }
        let encoded = try model.lastEncoderAttention()
        guard !rows.isEmpty || !encoded.isEmpty else {
            throw ZooError.invalidOption(
                "a \(model.modelConfig.kind) model has no attention weights to draw; "
                    + "train `bahdanau` or `transformer` for --attention")
        }
        let n = numSteps
        let source = Translation.encodeSource(sentence, vocab: srcVocab, numSteps: n).indices.map { srcVocab.token(at: Int($0)) }
        let outputs = out.tokens.map { tgtVocab.token(at: $0) } + (out.endedWithEOS ? ["<eos>"] : [])
        let decoderInputs = ["<bos>"] + out.tokens.map { tgtVocab.token(at: $0) }
        func padded(_ r: [Float]) -> [Double] { r.prefix(n).map(Double.init) + Array(repeating: 0, count: max(0, n - r.count)) }

        var figures: [AttentionFigure] = []
        let encPanels = encoded.map { HeatmapPanel($0.matrix.map { padded($0) }, title: $0.panel, rowLabels: source, columnLabels: source) }
        if !encPanels.isEmpty { figures.append(AttentionFigure(name: "encoder", panels: encPanels, xLabel: "Keys", yLabel: "Queries")) }
        let names = rows.map(\.figure).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }  // in first-seen order
        for name in names {
            let keys = name == "decoder-self" ? Array(decoderInputs.prefix(n)) : source
            let panels = rows.filter { $0.figure == name }.map {
                HeatmapPanel($0.rows.map { padded($0) }, title: $0.panel, rowLabels: outputs, columnLabels: keys)
            }
            figures.append(AttentionFigure(name: name, panels: panels, xLabel: "Key positions", yLabel: "Query positions"))
        }
        return (out, figures)
    }
}
