// The book's `train_ch13` for decomposable attention: per batch, cross-entropy per example
// summed and back-propagated (`l.sum().backward()`), one optimiser step. Reports per epoch the
// mean train loss and the running train accuracy (dropout on), the test accuracy (eval mode),
// and examples/s over the timed training batches. Checkpoints carry the vocabulary and config.
import Dive
import DiveData
import DiveNN
import Foundation

/// One epoch of `train_ch13`, as the book prints it.
public struct NLIEpoch: Codable, Equatable, Sendable {
    public var epoch: Int
    /// Σ per-example cross-entropy / examples.
    public var loss: Double
    /// Running accuracy over the epoch's training batches, dropout on.
    public var trainAccuracy: Double
    public var testAccuracy: Double
    /// Training examples per second of the epoch's batches (evaluation not timed).
    public var examplesPerSecond: Double
    public var seconds: Double
}

public struct NLIRun {
    public var model: DecomposableAttention
    public var vocab: Vocab
    public var epochs: [NLIEpoch]
    /// The book's `metric[2] * num_epochs / timer.sum()`: examples of all epochs over their training time.
    public var examplesPerSecond: Double
    public var last: NLIEpoch? { epochs.last }
}

public struct NLITrainer {
    public var recipe: String
    public var config: NLIConfig
    public var hyper: Hyperparameters
    public var options: RunOptions

    /// Trains a fresh model (embedding rows from `embedding` when given, `vocab × embed` values).
    public func train(train: SNLIDataset, test: SNLIDataset, embedding: [Float]?) throws -> NLIRun {
        let backend = try options.backend
        let model = try DecomposableAttention(config, on: backend, rng: HostRNG(seed: options.seed))
        if let embedding { try model.embedding.weight.assign(embedding) }
        model.useRandomStream(RandomStream(seed: options.seed))
        model.train()
        let params = model.parameters
        let optimizer = try Training.makeOptimizer(hyper, params)
        let resumed = try Training.startOrResume(options, model: model, optimizer: optimizer) { meta, url in
            let stored = try Training.decode(NLIConfig.self, meta["extra.config"], key: "config", path: url.path)
            guard stored == config, meta["extra.vocab"] == (try Training.json(train.vocab)) else {
                throw ZooError.badCheckpoint(path: url.path, detail: "it was trained with other sizes or another vocabulary (\(stored)); start without --resume")
            }
        }
        let start = resumed.position
        var step = resumed.step
        var loader = try DataLoader(train, batchSize: hyper.batchSize, shuffle: true, resumingFrom: start)
        let schedule = Training.makeSchedule(hyper.resolvedSchedule, lr: hyper.lr, warmup: hyper.resolvedWarmupSteps,
                                             totalSteps: hyper.epochs * loader.batchesPerEpoch, width: config.hidden)
        let log = try MetricsLog(options.metricsLog, append: options.resume)
        var epochs: [NLIEpoch] = []
        var lastCheckpoint: String? = options.resume ? options.checkpoint?.path : nil
        var totalExamples = 0, totalSeconds = 0.0
        options.progress?.unit = "examples/s"

        func save() throws {
            guard let url = options.checkpoint else { return }
            try Checkpoint.save(to: url, model: model, optimizer: optimizer, info: CheckpointInfo(step: step, extra: [
                "recipe": recipe, "kind": "nli", "config": try Training.json(config), "vocab": try Training.json(train.vocab),
                "position": try Training.json(loader.position), "hyper": try Training.json(hyper)]))
            lastCheckpoint = url.path
        }

        for epoch in start.epoch..<max(hyper.epochs, start.epoch) {
            var lossSum = 0.0, correct = 0, examples = 0, seconds = 0.0
            while let batch = loader.next() {
                let t0 = Training.now()
                optimizer.lr = schedule.lr(at: hyper.resolvedSchedule == .noam ? step + 1 : step)
                optimizer.zeroGrad()
                let (logits, labels) = try Self.forward(model, batch)               // (B, 3), (B)
                let total = try logits.crossEntropySum(targets: labels, labelSmoothing: hyper.resolvedLabelSmoothing)            // l.sum()
                try total.backward()
                let scale = try hyper.clip.flatMap { try GradientClipping.scale(params, maxNorm: $0) }
                try optimizer.step(gradScale: scale)
                let l = try total.item()
                correct += try Self.matches(logits, batch.labels)
                seconds += Training.now() - t0
                guard l.isFinite else {
                    throw ZooError.nonFiniteLoss(steps: step...step, epoch: epoch, value: l, lastCheckpoint: lastCheckpoint)
                }
                step += 1
                lossSum += l
                examples += batch.batchSize
                options.progress?.update(epoch: epoch, of: hyper.epochs, loss: lossSum / Double(examples),
                                         tokensPerSecond: Double(examples) / max(seconds, 1e-9))
                if options.interrupt?.isRaised == true {
                    try save()
                    throw ZooError.interrupted(step: step, checkpoint: options.checkpoint?.path)
                }
            }
            let testAccuracy = try Self.accuracy(model, test, batchSize: hyper.batchSize)
            totalExamples += examples
            totalSeconds += seconds
            let record = NLIEpoch(epoch: epoch, loss: lossSum / Double(max(examples, 1)),
                                  trainAccuracy: Double(correct) / Double(max(examples, 1)), testAccuracy: testAccuracy,
                                  examplesPerSecond: Double(examples) / max(seconds, 1e-9), seconds: seconds)
            epochs.append(record)
            let generic = EpochRecord(epoch: epoch, loss: record.loss, perplexity: nil,
                                      tokensPerSecond: record.examplesPerSecond, lr: Double(optimizer.lr), seconds: seconds)
            try log.write(generic, recipe: recipe)
            options.progress?.endEpoch(generic, of: hyper.epochs,
                                       metric: String(format: "train acc %.3f  test acc %.3f", record.trainAccuracy, testAccuracy))
            if (epoch + 1) % max(options.checkpointEvery, 1) == 0 || epoch + 1 == hyper.epochs { try save() }
        }
        model.eval()
        return NLIRun(model: model, vocab: train.vocab, epochs: epochs,
                      examplesPerSecond: Double(totalExamples) / max(totalSeconds, 1e-9))
    }

    /// One batch through the model: logits (B, 3) and the Int32 labels (B) on the model's device.
    public static func forward(_ model: DecomposableAttention, _ batch: SNLIBatch) throws -> (logits: Tensor, labels: Tensor) {
        guard let backend = model.backend else { throw ZooError.invalidOption("the model has no parameters") }
        let shape = [batch.batchSize, batch.numSteps]
        let logits = try model(premises: Tensor(batch.premises, shape: shape, on: backend),
                               hypotheses: Tensor(batch.hypotheses, shape: shape, on: backend))
        return (logits, try Tensor(batch.labels, shape: [batch.batchSize], on: backend))
    }

    /// How many rows of `logits` (B, 3) have their argmax at the label.
    static func matches(_ logits: Tensor, _ labels: [Int32]) throws -> Int {
        let predicted = try Autograd.withoutGrad { try logits.detached().argmax(axis: 1) }.toInt32Array()
        return zip(predicted, labels).filter { $0 == $1 }.count
    }

    /// The book's `evaluate_accuracy_gpu`: accuracy over a dataset in eval mode (dropout off).
    public static func accuracy(_ model: DecomposableAttention, _ data: SNLIDataset, batchSize: Int) throws -> Double {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var loader = try DataLoader(data, batchSize: batchSize, shuffle: false)
        var correct = 0
        try Autograd.withoutGrad {
            while let batch = loader.next() { correct += try matches(forward(model, batch).logits, batch.labels) }
        }
        return Double(correct) / Double(max(data.count, 1))
    }
}
