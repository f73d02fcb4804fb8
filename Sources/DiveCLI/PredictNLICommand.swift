// `dive predict-nli CHECKPOINT "premise" "hypothesis"`: the book's `predict_snli` with a model
// `dive train nli` saved; prints entailment, contradiction or neutral.
import ArgumentParser
import Dive
import DiveZoo
import Foundation

struct PredictNLICommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-nli", abstract: "Classify a premise/hypothesis pair with a model `dive train nli` saved.")

    @Argument(help: "A checkpoint written by `dive train nli`.") var checkpoint: String
    @Argument(help: "The premise, tokens separated by spaces as in SNLI (\"he is good .\"); case is kept.") var premise: String
    @Argument(help: "The hypothesis, tokenised the same way.") var hypothesis: String
    @OptionGroup var deviceOption: DeviceOption

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        try reportingZooErrors {
            let backend = try deviceOption.backend()
            let predictor = try NLIPredictor(checkpoint: URL(fileURLWithPath: checkpoint), on: backend)
            print(try predictor.predict(premise: premise, hypothesis: hypothesis).name)
        }
    }
}
