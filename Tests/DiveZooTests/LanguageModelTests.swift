// Language-model recipes: short trainings reach stated perplexities, cpu and opencl agree within
// 1e-3 at the same seed, checkpoints reload for prediction, resume continues to the same numbers,
// and a non-finite loss stops training by the end of its epoch, naming the steps and keeping the
// last good checkpoint.
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation
import Testing

@Suite(.serialized) struct LanguageModelTests {
    static let lmRecipes = ["rnn-scratch", "rnn", "gru-scratch", "gru", "lstm-scratch", "lstm", "deep-lstm", "bi-lstm"]

    func recipe(_ name: String) throws -> LanguageModelRecipe {
        try #require(try RecipeRegistry.recipe(named: name) as? LanguageModelRecipe)
    }

    @Test func dataIsTheBooks() throws {
        let (corpus, vocab) = try LanguageModelRecipe.rnn.corpus(shortRun(epochs: 1))
        #expect(corpus.count == 10_000)
        #expect(vocab.count == 28)
    }

    @Test func rnnLearnsInAFewEpochs() throws {
        let run = try recipe("rnn").train(shortRun(epochs: 30))
        // Unigram entropy of the text is ≈ exp(2.8) ≈ 17 perplexity; 30 epochs get well below it.
        #expect(run.history[0].perplexity! > 15)
        #expect(run.perplexity < 9, "perplexity after 30 epochs: \(run.perplexity)")
    }

    @Test func gruLearnsInAFewEpochs() throws {
        let run = try recipe("gru").train(shortRun(epochs: 40))
        // Epoch 1 is ≈ 24; the unigram perplexity of the text is ≈ 17.
        #expect(run.perplexity < 11.5, "perplexity after 40 epochs: \(run.perplexity)")
    }

    @Test(arguments: lmRecipes)
    func cpuAndOpenCLAgree(_ name: String) throws {
        guard let device = openCLDevices.first else { return }
        let epochs = 3
        let cpu = try recipe(name).train(shortRun(.cpu, epochs: epochs))
        let cl = try recipe(name).train(shortRun(device, epochs: epochs))
        expectSameLosses(cpu.history, cl.history, on: device, "\(name) ")
    }

    @Test func checkpointReloadsForPrediction() throws {
        try withCheckpointedRun(epochs: 3, "lstm.safetensors") { o, url in
            let run = try recipe("lstm").train(o)
            let cpu = CPUBackend.shared
            let direct = try LanguageModelPrediction.predict("time traveller", count: 20, model: run.model, vocab: run.vocab, on: cpu)
            let (model, vocab, name, _) = try LanguageModelTask.load(checkpoint: url, on: cpu)
            #expect(name == "lstm")
            #expect(vocab == run.vocab)
            #expect(try LanguageModelPrediction.predict("time traveller", count: 20, model: model, vocab: vocab, on: cpu) == direct)
            #expect(direct.hasPrefix("time traveller") && direct.count == 34)
        }
    }

    @Test func resumeContinuesToTheSameNumbers() throws {
        let straight = try recipe("gru").train(shortRun(epochs: 4))
        try withCheckpointedRun(epochs: 2, "gru.safetensors") { o, url in
            var o = o
            _ = try recipe("gru").train(o)
            o.override(\.epochs, 4)
            o.resume = true
            let resumed = try recipe("gru").train(o)
            #expect(resumed.history.map(\.epoch) == [2, 3])
            for (a, b) in zip(straight.history.suffix(2), resumed.history) {
                #expect(abs(a.loss - b.loss) < 1e-5, "epoch \(a.epoch + 1): straight \(a.loss), resumed \(b.loss)")
            }
        }
    }

    @Test func nonFiniteLossStopsByTheEpochsEndAndKeepsTheCheckpoint() throws {
        let url = temporaryFile("rnn-nonfinite.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var good = shortRun(epochs: 1)
        good.checkpoint = url
        _ = try recipe("rnn").train(good)
        let saved = try Data(contentsOf: url)
        var bad = shortRun(epochs: 2)
        bad.checkpoint = url
        bad.resume = true
        bad.override(\.lr, .infinity)  // the first update makes the weights infinite, the next loss NaN
        bad.override(\.clip, nil)
        do {
            _ = try recipe("rnn").train(bad)
            Issue.record("training with an infinite lr and no clipping should have stopped")
        } catch let ZooError.nonFiniteLoss(steps, epoch, value, last) {
            #expect(!value.isFinite)
            #expect(epoch == 1 && steps.lowerBound > 0 && last == url.path)
            #expect(try Data(contentsOf: url) == saved, "the last good checkpoint must stay as it was")
            let message = ZooError.nonFiniteLoss(steps: steps, epoch: epoch, value: value, lastCheckpoint: last).description
            #expect(message.contains("steps \(steps.lowerBound)–\(steps.upperBound)") && message.contains("epoch 2"))
        }
    }

    @Test func interruptWritesACheckpoint() throws {
        try withCheckpointedRun(epochs: 5, "rnn.safetensors") { o, url in
            var o = o
            let flag = InterruptFlag()
            flag.raise()
            o.interrupt = flag
            #expect(throws: ZooError.interrupted(step: 1, checkpoint: url.path)) { try recipe("rnn").train(o) }
            #expect(FileManager.default.fileExists(atPath: url.path))
        }
    }
}
