// What the translation recipes (9.7 seq2seq, 10.4 Bahdanau, 10.7 Transformer) share: the
// English–French data (or pairs of one's own, `TranslationData`), training through the `Trainer`,
// and the book's report (loss, held-out BLEU and tokens/s of the last epoch, the four translations
// with BLEU, attention heatmaps with --plot).
import Dive
import DiveData
import Foundation

/// A recipe that trains a translation model; `dive bench models` times its epochs.
public protocol TranslationRecipe: Recipe {
    /// Steps per sequence of the data (10 for the book's models).
    var numSteps: Int { get }
    /// The model for a preset and the data's vocabulary sizes.
    func modelConfig(_ preset: BookEdition, srcVocab: Int, tgtVocab: Int) -> TranslationModelConfig
    /// What the book prints, for comparison.
    var bookResult: String { get }
}

extension TranslationRecipe {
    /// 10, the book's sequence length for translation.
    public var numSteps: Int { 10 }

    /// Trains on `data(options)` (the book's 600 examples, 601 pairs, unless pairs of one's own are
    /// given) with this recipe's settings.
    public func train(_ options: RunOptions) throws -> Seq2SeqRun {
        try train(options, data: self.data(options))
    }

    /// Trains on `data`, scoring its held-out pairs after every epoch.
    func train(_ options: RunOptions, data: TranslationData) throws -> Seq2SeqRun {
        let dataset = data.train
        let hyper = options.resolve(defaults(options.preset))
        let config = modelConfig(options.preset, srcVocab: dataset.srcVocab.count, tgtVocab: dataset.tgtVocab.count)
        let task = try TranslationTask(
            recipe: name, config: config, dataset: dataset, heldOut: data.heldOut, hyper: hyper,
            on: try options.backend, seed: options.seed)
        let history = try Trainer(task, hyper: hyper, options: options).run(steps: options.steps)
        task.encoderDecoder.eval()
        return Seq2SeqRun(model: task.encoderDecoder, srcVocab: dataset.srcVocab, tgtVocab: dataset.tgtVocab, history: history)
    }

    /// Trains, then translates the book's four sentences (greedy, or beam search with `--beam`) and reports
    /// loss, held-out BLEU (last and best, when pairs are held out), tokens/s and BLEU, with the
    /// attention heatmaps under `--plot`. Pairs of one's own translate their first held-out pairs
    /// instead of the book's sentences, and the book's figures are left out.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let data = try self.data(options)
        let run = try train(options, data: data)
        let heldOut = Training.heldOutSummary(run.history, name: "BLEU", format: "%.3f", lowerIsBetter: false)
        var lines = [
            String(
                format: "loss %.3f%@, %.1f tokens/sec on %@", run.loss, heldOut as NSString, run.tokensPerSecond,
                options.device.description as NSString)
        ]
        var metrics = ["loss": run.loss, "tokens_per_s": run.tokensPerSecond]
        metrics["validation"] = run.history.last?.validation
        let translator = try Translator(model: run.model, srcVocab: run.srcVocab, tgtVocab: run.tgtVocab)
        for (sentence, reference) in data.examples {
            let out = try translator.beamSearch(sentence, beam: options.beam, lengthPenalty: options.lengthPenalty)
            let bleu = BLEU.score(out.text, reference, k: 2)
            lines.append(String(format: "%@ => %@, bleu %.3f", sentence as NSString, out.text as NSString, bleu))
            metrics["bleu.\(sentence)"] = bleu
        }
        if options.pairs == nil { lines.append(bookResult) }
        var report = RecipeReport(lines: lines, metrics: metrics, history: run.history, curve: "loss")
        report.heldOutLabel = "held-out BLEU"
        if options.plot != nil, run.model.modelConfig.kind != "seq2seq", let last = data.examples.last {
            // The book draws the attention of the last sentence translated.
            let (_, figures) = try translator.greedyWithAttention(last.source)
            report.figures = figures.map { ($0.name, $0.svg) }
        }
        return report
    }
}
