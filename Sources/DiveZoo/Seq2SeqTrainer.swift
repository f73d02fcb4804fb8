// The book's `train_seq2seq`: Xavier init, Adam, teacher forcing with `<bos>` + Y[:, :-1], the
// masked softmax cross-entropy (per sequence Σ valid CE / num_steps) summed over the batch and
// back-propagated, gradient clipping θ, one step. Reports Σ loss / Σ valid target tokens and
// valid target tokens per second of the last epoch.
import Dive
import DiveData
import DiveNN
import Foundation

public struct Seq2SeqRun {
    public var model: Seq2Seq
    public var srcVocab: Vocab, tgtVocab: Vocab
    public var history: [EpochRecord]
    public var loss: Double { history.last?.loss ?? .nan }
    public var tokensPerSecond: Double { history.last?.tokensPerSecond ?? 0 }
}

public struct Seq2SeqTrainer {
    public var recipe: String
    public var config: Seq2SeqConfig
    public var hyper: Hyperparameters
    public var options: RunOptions

    public func train(dataset: TranslationDataset) throws -> Seq2SeqRun {
        let backend = try options.backend
        let rng = HostRNG(seed: options.seed)
        let model = try Seq2Seq(config, on: backend, rng: rng)
        try model.xavierInit(rng: rng)
        model.useRandomStream(RandomStream(seed: options.seed))
        model.train()
        let params = model.parameters
        let optimizer = try Training.makeOptimizer(hyper.optimizer, params, lr: hyper.lr)
        var start = LoaderPosition(epoch: 0, batchIndex: 0, rng: DataRNG(seed: options.seed))
        var step = 0
        if options.resume, let url = options.checkpoint, FileManager.default.fileExists(atPath: url.path) {
            let info = try Checkpoint.load(from: url, into: model, optimizer: optimizer)
            start = try Training.decode(LoaderPosition.self, info.extra["position"], key: "position", path: url.path)
            step = info.step
        }
        var loader = try DataLoader(dataset, batchSize: hyper.batchSize, shuffle: true, resumingFrom: start)
        let schedule = Training.makeSchedule(options.schedule, lr: hyper.lr, warmup: options.warmupSteps,
                                             totalSteps: hyper.epochs * loader.batchesPerEpoch, width: config.hidden)
        let log = try MetricsLog(options.metricsLog, append: options.resume)
        let bos = Int32(dataset.tgtVocab["<bos>"])
        var history: [EpochRecord] = []
        var lastCheckpoint: String? = options.resume ? options.checkpoint?.path : nil

        func save() throws {
            guard let url = options.checkpoint else { return }
            try Checkpoint.save(to: url, model: model, optimizer: optimizer, info: CheckpointInfo(step: step, extra: [
                "recipe": recipe, "kind": "seq2seq", "config": try Training.json(config),
                "src_vocab": try Training.json(dataset.srcVocab), "tgt_vocab": try Training.json(dataset.tgtVocab),
                "position": try Training.json(loader.position), "hyper": try Training.json(hyper)]))
            lastCheckpoint = url.path
        }

        for epoch in start.epoch..<max(hyper.epochs, start.epoch) {
            var lossSum = 0.0, tokens = 0
            let t0 = Training.now()
            while let batch = loader.next() {
                optimizer.lr = schedule.lr(at: options.schedule == .noam ? step + 1 : step)
                optimizer.zeroGrad()
                let total = try Self.loss(model, batch, bos: bos, labelSmoothing: options.labelSmoothing)
                try total.backward()
                let scale = try hyper.clip.flatMap { try GradientClipping.scale(params, maxNorm: $0) }
                try optimizer.step(gradScale: scale)
                let l = try total.item()
                guard l.isFinite else {
                    throw ZooError.nonFiniteLoss(step: step, epoch: epoch, value: l, lastCheckpoint: lastCheckpoint)
                }
                step += 1
                let n = batch.tgtValidLen.reduce(0) { $0 + Int($1) }
                lossSum += l
                tokens += n
                options.progress?.update(epoch: epoch, of: hyper.epochs, loss: lossSum / Double(max(tokens, 1)),
                                         tokensPerSecond: Double(tokens) / max(Training.now() - t0, 1e-9))
                if options.interrupt?.isRaised == true {
                    try save()
                    throw ZooError.interrupted(step: step, checkpoint: options.checkpoint?.path)
                }
            }
            let seconds = Training.now() - t0
            let record = EpochRecord(epoch: epoch, loss: lossSum / Double(max(tokens, 1)), perplexity: nil,
                                     tokensPerSecond: Double(tokens) / max(seconds, 1e-9), lr: Double(optimizer.lr), seconds: seconds)
            history.append(record)
            try log.write(record, recipe: recipe)
            options.progress?.endEpoch(record, of: hyper.epochs, metric: "")
            if (epoch + 1) % max(options.checkpointEvery, 1) == 0 || epoch + 1 == hyper.epochs { try save() }
        }
        model.eval()
        return Seq2SeqRun(model: model, srcVocab: dataset.srcVocab, tgtVocab: dataset.tgtVocab, history: history)
    }

    /// The book's `l.sum()` for one batch under teacher forcing: Σ over sequences of
    /// (Σ valid-step CE / num_steps), computed time-major as one masked cross-entropy.
    public static func loss(_ model: Seq2Seq, _ batch: TranslationBatch, bos: Int32, labelSmoothing: Float = 0) throws -> Tensor {
        guard let backend = model.backend else { throw ZooError.invalidOption("the model has no parameters") }
        let B = batch.batchSize, T = batch.numSteps
        let src = TokenBatch.transpose(batch.src, rows: B, cols: T)          // (T, B)
        var decIn = [Int32](repeating: bos, count: T * B)                    // <bos> + Y[:, :-1], (T, B)
        for b in 0..<B { for t in 1..<T { decIn[t * B + b] = batch.tgt[b * T + t - 1] } }
        let tgt = TokenBatch.transpose(batch.tgt, rows: B, cols: T)          // (T, B)
        var mask = [Float](repeating: 0, count: T * B)                       // time-major sequence mask
        for b in 0..<B { for t in 0..<min(Int(batch.tgtValidLen[b]), T) { mask[t * B + b] = 1 } }
        let logits = try model(source: Tensor(src, shape: [T, B], on: backend),
                               decoderInput: Tensor(decIn, shape: [T, B], on: backend))   // (T, B, V)
        let ce = try logits.reshaped([T * B, model.config.tgtVocabSize]).crossEntropy(
            targets: Tensor(tgt, shape: [T * B], on: backend), weights: Tensor(mask, shape: [T * B], on: backend),
            labelSmoothing: labelSmoothing)                                              // (T·B)
        return try ce.sum() / Float(T)
    }

    /// Rebuilds a trained model and its vocabularies from a checkpoint `dive train seq2seq` wrote.
    public static func load(checkpoint url: URL, on backend: Backend) throws -> (model: Seq2Seq, srcVocab: Vocab, tgtVocab: Vocab) {
        let meta = try SafeTensorsFile.read(from: url).metadata
        guard meta["extra.kind"] == "seq2seq" else {
            throw ZooError.badCheckpoint(path: url.path, detail: "not a seq2seq checkpoint (kind '\(meta["extra.kind"] ?? "none")'); use `dive predict` for language models")
        }
        let config = try Training.decode(Seq2SeqConfig.self, meta["extra.config"], key: "config", path: url.path)
        let src = try Training.decode(Vocab.self, meta["extra.src_vocab"], key: "src_vocab", path: url.path)
        let tgt = try Training.decode(Vocab.self, meta["extra.tgt_vocab"], key: "tgt_vocab", path: url.path)
        let model = try Seq2Seq(config, on: backend, rng: HostRNG(seed: 0))
        try Checkpoint.load(from: url, into: model)
        model.eval()
        return (model, src, tgt)
    }
}
