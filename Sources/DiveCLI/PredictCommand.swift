// `dive predict CHECKPOINT PREFIX`: continues a text greedily with a trained language model
// (the book's `predict_ch8`), in the checkpoint's tokens: characters, or words joined by spaces.
import ArgumentParser
import Dive
import DiveData
import DiveZoo
import Foundation

struct PredictCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Continue a text with a language model `dive train` saved.")

    @Argument(help: "A checkpoint written by `dive train` for rnn, gru, lstm, ...") var checkpoint: String
    @Argument(help: "The text to continue.") var prefix: String
    @Option(help: "Tokens to generate: characters, or words for a model trained with --tokens word.") var length = 50
    @OptionGroup var loading: CheckpointOptions<LanguageModelStateDicts>

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingZooErrors {
            try require((0...maxGeneratedLength).contains(length), "--length must be in 0…\(maxGeneratedLength) (got \(length))")
            let backend = try loading.backend()
            let (model, vocab, _, tokens) = try LanguageModelTask.load(
                checkpoint: URL(fileURLWithPath: checkpoint), on: backend,
                recipe: loading.plainRecipe(), data: loading.dataDirectory)
            // The text streams out as it is generated; Ctrl-C ends it where it is.
            let flag = InterruptFlag()
            InterruptHandler.install(flag, quiet: true)
            // The book's vocabulary is lower case: a prefix is folded for a vocabulary without capitals.
            let cased = vocab.idxToToken.contains { $0 != Vocab.unknownToken && $0.contains(where: \.isUppercase) }
            _ = try LanguageModelPrediction.predict(
                cased ? prefix : prefix.lowercased(), count: length, model: model, vocab: vocab, tokens: tokens, on: backend,
                emit: {
                    print($0, terminator: ""); fflush(nil)
                }, stop: { flag.isRaised })
            print("")
            if flag.isRaised { throw ExitCode(130) }
        }
    }
}
