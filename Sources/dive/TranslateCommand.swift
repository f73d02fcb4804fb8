// `dive translate CHECKPOINT "sentence"`: translates with a trained seq2seq model, greedily or by
// beam search, and prints the log-probability of the output.
import ArgumentParser
import Dive
import DiveZoo
import Foundation

struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "translate", abstract: "Translate with a seq2seq model `dive train seq2seq` saved.")

    @Argument(help: "A checkpoint written by `dive train seq2seq`.") var checkpoint: String
    @Argument(help: "The English sentence, punctuation spaced as in the book (\"go .\").") var sentence: String
    @Option(help: "Beam width (1: greedy).") var beam = 1
    @Option(name: .customLong("length-penalty"), help: "Length penalty α for beam search.") var lengthPenalty = 0.0
    @Option(help: "A reference translation: also print BLEU (k = 2).") var reference: String?
    @Option(help: "cpu, opencl, ...") var device = "cpu"

    func run() throws {
        try reportingZooErrors {
            let backend = try Backends.backend(for: resolveDevice(device))
            let (model, src, tgt) = try Seq2SeqTrainer.load(checkpoint: URL(fileURLWithPath: checkpoint), on: backend)
            let out = try Translator(model: model, srcVocab: src, tgtVocab: tgt).beamSearch(sentence, beam: beam, lengthPenalty: lengthPenalty)
            print(out.text)
            var note = String(format: "log P = %.4f", out.logProbability)
            if let reference { note += String(format: ", bleu %.3f", BLEU.score(out.text, reference, k: 2)) }
            FileHandle.standardError.write(Data((note + "\n").utf8))
        }
    }
}
