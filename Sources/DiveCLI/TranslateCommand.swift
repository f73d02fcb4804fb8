// `dive translate CHECKPOINT "sentence"`: translates with a trained seq2seq, Bahdanau or
// Transformer model (the checkpoint says which), greedily or by beam search, prints the
// log-probability of the output, and with --attention draws the attention weights of the translation.
import ArgumentParser
import Dive
import DiveData
import DiveZoo
import Foundation

struct TranslateCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate with a model `dive train seq2seq|bahdanau|transformer` saved.")

    @Argument(help: "A checkpoint written by `dive train seq2seq`, `bahdanau` or `transformer` (with or without --pairs).")
    var checkpoint: String
    @Argument(
        help:
            "The sentence, tokens separated by spaces as the model was trained (the book's: English, punctuation spaced, \"go .\"; a --raw model keeps case)."
    ) var sentence: String
    @Option(help: "Beam width (1: greedy).") var beam = 1
    @Option(name: .customLong("length-penalty"), help: "Length penalty α for beam search.") var lengthPenalty = 0.0
    @Option(help: "A reference translation: also print BLEU (k = 2).") var reference: String?
    @Option(
        help:
            "Draw the attention weights of the (greedy) translation to this SVG file; the Transformer's figures go to <name>-<figure>.svg.")
    var attention: String?
    @OptionGroup var loading: CheckpointOptions<TranslationStateDicts>

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingZooErrors {
            try require((1...maxBeam).contains(beam), "--beam must be in 1…\(maxBeam) (got \(beam))")
            try require(lengthPenalty.isFinite && lengthPenalty >= 0, "--length-penalty must be a number ≥ 0 (got \(lengthPenalty))")
            if let attention { try FigureFile.prepare(URL(fileURLWithPath: attention), flag: "--attention") }
            let backend = try loading.backend()
            let (model, src, tgt) = try TranslationTask.load(
                checkpoint: URL(fileURLWithPath: checkpoint), on: backend,
                recipe: loading.plainRecipe(), data: loading.dataDirectory)
            let translator = try Translator(model: model, srcVocab: src, tgtVocab: tgt)
            // Attention first: a model without attention fails before anything is printed.
            if let attention {
                let (_, figures) = try translator.greedyWithAttention(sentence)
                let url = URL(fileURLWithPath: attention)
                for figure in figures {
                    let path = figures.count == 1 ? url.path : url.deletingPathExtension().path + "-\(figure.name).svg"
                    try FigureFile.write(figure.svg, to: URL(fileURLWithPath: path))
                    FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
                }
            }
            let out = try translator.beamSearch(sentence, beam: beam, lengthPenalty: lengthPenalty)
            print(out.text)
            var note = String(format: "log P = %.4f", out.logProbability)
            if let reference { note += String(format: ", bleu %.3f", BLEU.score(out.text, reference, k: 2)) }
            FileHandle.standardError.write(Data((note + "\n").utf8))
        }
    }
}
