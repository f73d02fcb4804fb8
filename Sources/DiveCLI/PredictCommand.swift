// `dive predict CHECKPOINT PREFIX`: continues a text greedily with a trained language model
// (the book's `predict_ch8`), or by sampling with a GPT (`--temperature`, `--top-k`), in the
// checkpoint's tokens: characters, or words joined by spaces. The text streams out as it grows.
import ArgumentParser
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation

struct PredictCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Continue a text with a language model `dive train` saved.")

    @Argument(help: "A checkpoint written by `dive train` for rnn, gru, lstm, ...") var checkpoint: String
    @Argument(help: "The text to continue.") var prefix: String
    @Option(help: "Tokens to generate: characters, or words for a model trained with --tokens word.") var length = 50
    @Option(help: "gpt: divide the logits by this before sampling (0: always the likeliest token; default 0.8).")
    var temperature: Double?
    @Option(name: .customLong("top-k"), help: "gpt: sample among the k likeliest tokens only (default 200).") var topK: Int?
    @Option(help: "gpt: the seed of the sampling.") var seed: UInt64 = 0
    @OptionGroup var loading: CheckpointOptions<LanguageModelStateDicts>

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingZooErrors {
            try require((0...maxGeneratedLength).contains(length), "--length must be in 0…\(maxGeneratedLength) (got \(length))")
            let backend = try loading.backend()
            let url = URL(fileURLWithPath: checkpoint)
            if (try? SafeTensorsFile.read(from: url))?.metadata["extra.kind"] == "gpt" { return try sample(url, on: backend) }
            try require(
                temperature == nil && topK == nil, "--temperature and --top-k are for gpt checkpoints; this model continues greedily")
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

    /// Samples `length` tokens from a GPT checkpoint after the prefix, streaming them out.
    private func sample(_ url: URL, on backend: Backend) throws {
        guard case let .gpt(model, vocab, tokens) = try ZooModel.load(from: url, on: backend) else { return }
        let flag = InterruptFlag()
        InterruptHandler.install(flag, quiet: true)
        let cased = vocab.idxToToken.contains { $0 != Vocab.unknownToken && $0.contains(where: \.isUppercase) }
        _ = try GPTGeneration.generate(
            cased ? prefix : prefix.lowercased(), count: length, model: model, vocab: vocab, tokens: tokens,
            temperature: temperature ?? 0.8, topK: topK ?? 200, seed: seed,
            emit: {
                print($0, terminator: ""); fflush(nil)
            }, stop: { flag.isRaised })
        print("")
        if flag.isRaised { throw ExitCode(130) }
    }
}
