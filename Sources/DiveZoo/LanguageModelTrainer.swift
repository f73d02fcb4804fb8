// The book's `train_ch8`: per minibatch the state is created (first batch, or every batch for
// random iteration) or detached, the mean cross-entropy over Y.T is back-propagated, gradients
// are clipped to θ, and the optimiser steps. Reports perplexity and tokens/s of the last epoch.
// The loss is summed on the device and read once per epoch, so a step never waits for the device.
// Checkpoints carry model, optimiser, vocabulary, configuration and data position.
import Dive
import DiveData
import DiveNN
import Foundation

/// The outcome of a language-model training run.
public struct LanguageModelRun {
    public var model: any LanguageModel
    public var vocab: Vocab
    public var history: [EpochRecord]
    public var perplexity: Double { history.last?.perplexity ?? .nan }
    public var tokensPerSecond: Double { history.last?.tokensPerSecond ?? 0 }
}

public struct LanguageModelTrainer {
    public var recipe: String
    public var config: LanguageModelConfig
    public var hyper: Hyperparameters
    public var numSteps: Int
    public var randomIter: Bool
    public var options: RunOptions

    /// Trains on `corpus` with `vocab`; resumes from `options.checkpoint` when `options.resume`.
    public func train(corpus: [Int32], vocab: Vocab) throws -> LanguageModelRun {
        let backend = try options.backend
        let model = try config.makeModel(on: backend, rng: HostRNG(seed: options.seed))
        let params = model.parameters
        let optimizer = try Training.makeOptimizer(hyper, params)
        var position: LoaderPosition? = nil
        var step = 0
        if options.resume, let url = options.checkpoint, FileManager.default.fileExists(atPath: url.path) {
            let info = try Checkpoint.load(from: url, into: model, optimizer: optimizer)
            position = try Training.decode(LoaderPosition.self, info.extra["position"], key: "position", path: url.path)
            step = info.step
        }
        var data = try LanguageModelBatches.make(corpus: corpus, preset: options.preset, batchSize: hyper.batchSize,
                                                 numSteps: numSteps, randomIter: randomIter, seed: options.seed, position: position)
        let startEpoch = data.position.epoch
        let schedule = Training.makeSchedule(hyper.resolvedSchedule, lr: hyper.lr, warmup: hyper.resolvedWarmupSteps,
                                             totalSteps: hyper.epochs * 8, width: config.hidden)
        let log = try MetricsLog(options.metricsLog, append: options.resume)
        var history: [EpochRecord] = []
        var lastCheckpoint: String? = options.resume ? options.checkpoint?.path : nil

        func save() throws {
            guard let url = options.checkpoint else { return }
            try Checkpoint.save(to: url, model: model, optimizer: optimizer, info: CheckpointInfo(step: step, extra: [
                "recipe": recipe, "kind": "language-model", "config": try Training.json(config),
                "vocab": try Training.json(vocab), "position": try Training.json(data.position),
                "hyper": try Training.json(hyper)]))
            lastCheckpoint = url.path
        }

        for epoch in startEpoch..<max(hyper.epochs, startEpoch) {
            var state: RecurrentState? = nil
            var tokens = 0
            let epochLoss = try EpochLoss(on: backend, epoch: epoch, firstStep: step)
            let t0 = Training.now(), trace0 = backend.trace
            var minibatches = 0
            while let batch = data.next() {
                let B = batch.batchSize, T = batch.numSteps
                if state == nil || !data.carriesState {
                    state = try model.beginState(batchSize: B, on: backend)
                } else {
                    state = state!.detached()
                }
                let x = try Tensor(batch.xTimeMajor, shape: [T, B], on: backend)       // (T, B)
                let y = try Tensor(batch.yTimeMajor, shape: [T * B], on: backend)      // (T·B)
                optimizer.lr = schedule.lr(at: hyper.resolvedSchedule == .noam ? step + 1 : step)
                optimizer.zeroGrad()
                let (logits, next) = try model.forward(x, state: state!)               // (T·B, V)
                state = next
                let loss = try Loss.crossEntropy(logits, targets: y, labelSmoothing: hyper.resolvedLabelSmoothing)
                try loss.backward()
                let scale = try hyper.clip.flatMap { try GradientClipping.scale(params, maxNorm: $0) }
                try optimizer.step(gradScale: scale)
                try epochLoss.add(loss, weight: Float(T * B))
                step += 1
                minibatches += 1
                tokens += T * B
                let elapsed = Training.now() - t0
                options.progress?.update(epoch: epoch, of: hyper.epochs, loss: nil,
                                         tokensPerSecond: Double(tokens) / max(elapsed, 1e-9))
                if options.interrupt?.isRaised == true {
                    try save()
                    throw ZooError.interrupted(step: step, checkpoint: options.checkpoint?.path)
                }
            }
            let lossSum = try epochLoss.total(lastStep: step, lastCheckpoint: lastCheckpoint)
            let seconds = Training.now() - t0
            let mean = lossSum / Double(max(tokens, 1))
            let record = EpochRecord(epoch: epoch, loss: mean, perplexity: Foundation.exp(mean),
                                     tokensPerSecond: Double(tokens) / max(seconds, 1e-9), lr: Double(optimizer.lr), seconds: seconds,
                                     minibatches: minibatches, trace: backend.trace - trace0)
            history.append(record)
            try log.write(record, recipe: recipe)
            options.progress?.endEpoch(record, of: hyper.epochs, metric: "perplexity \(String(format: "%.2f", record.perplexity!))")
            if (epoch + 1) % max(options.checkpointEvery, 1) == 0 || epoch + 1 == hyper.epochs { try save() }
        }
        return LanguageModelRun(model: model, vocab: vocab, history: history)
    }

    /// Rebuilds a trained model and its vocabulary from a checkpoint `dive train` wrote.
    public static func load(checkpoint url: URL, on backend: Backend) throws -> (model: any LanguageModel, vocab: Vocab, recipe: String) {
        let file = try SafeTensorsFile.read(from: url)
        let meta = file.metadata
        guard meta["extra.kind"] == "language-model" else {
            throw ZooError.badCheckpoint(path: url.path, detail: "not a language-model checkpoint (kind '\(meta["extra.kind"] ?? "none")'); use `dive translate` for seq2seq")
        }
        let config = try Training.decode(LanguageModelConfig.self, meta["extra.config"], key: "config", path: url.path)
        let vocab = try Training.decode(Vocab.self, meta["extra.vocab"], key: "vocab", path: url.path)
        let model = try config.makeModel(on: backend, rng: HostRNG(seed: 0))
        try Checkpoint.load(from: url, into: model)
        return (model, vocab, meta["extra.recipe"] ?? "?")
    }
}
