// What the translation recipes (9.7 seq2seq, 10.4 Bahdanau, 10.7 Transformer) share: the
// English–French data, training through the `Trainer`, and the book's report (loss and
// tokens/s of the last epoch, the four translations with BLEU, attention heatmaps with --plot).
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

    /// Trains on the book's 600 examples (601 pairs) with this recipe's settings.
    public func train(_ options: RunOptions) throws -> Seq2SeqRun {
        let file = try options.dataDirectory.locate(.fraEng)
        let dataset = try Translation.loadDataset(file: file, numSteps: numSteps, numExamples: 600)
        let hyper = options.resolve(defaults(options.preset))
        let config = modelConfig(options.preset, srcVocab: dataset.srcVocab.count, tgtVocab: dataset.tgtVocab.count)
        let task = try TranslationTask(
            recipe: name, config: config, dataset: dataset, hyper: hyper,
            on: try options.backend, seed: options.seed)
        let history = try Trainer(task, hyper: hyper, options: options).run(steps: options.steps)
        task.encoderDecoder.eval()
        return Seq2SeqRun(model: task.encoderDecoder, srcVocab: dataset.srcVocab, tgtVocab: dataset.tgtVocab, history: history)
    }

    /// Trains, then translates the book's four sentences (greedy, or beam search with `--beam`) and reports
    /// loss, tokens/s and BLEU, with the attention heatmaps under `--plot`.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let run = try train(options)
        var lines = [
            String(
                format: "loss %.3f, %.1f tokens/sec on %@", run.loss, run.tokensPerSecond,
                options.device.description as NSString)
        ]
        var metrics = ["loss": run.loss, "tokens_per_s": run.tokensPerSecond]
        let translator = try Translator(model: run.model, srcVocab: run.srcVocab, tgtVocab: run.tgtVocab)
        for (eng, fra) in Seq2SeqRecipe.examples {
            let out = try translator.beamSearch(eng, beam: options.beam, lengthPenalty: options.lengthPenalty)
            let bleu = BLEU.score(out.text, fra, k: 2)
            lines.append(String(format: "%@ => %@, bleu %.3f", eng as NSString, out.text as NSString, bleu))
            metrics["bleu.\(eng)"] = bleu
        }
        lines.append(bookResult)
        var report = RecipeReport(lines: lines, metrics: metrics, history: run.history, curve: "loss")
        if options.plot != nil, run.model.modelConfig.kind != "seq2seq" {
            // The book draws the attention of the last sentence translated.
            let (_, figures) = try translator.greedyWithAttention(Seq2SeqRecipe.examples.last!.0)
            report.figures = figures.map { ($0.name, $0.svg) }
        }
        return report
    }
}
