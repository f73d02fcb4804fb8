// The book's `train_seq2seq`: Xavier init, Adam, teacher forcing with `<bos>` + Y[:, :-1], the
// masked softmax cross-entropy (per sequence Σ valid CE / num_steps) summed over the batch and
// back-propagated, gradient clipping θ, one step. Reports Σ loss / Σ valid target tokens and
// valid target tokens per second of the last epoch. One path for every `EncoderDecoder` (GRU,
// Bahdanau, Transformer); the checkpoint names the model's kind and configuration.
import Dive
import DiveData
import DiveNN
import Foundation

public struct Seq2SeqRun {
    public var model: any EncoderDecoder
    public var srcVocab: Vocab, tgtVocab: Vocab
    public var history: [EpochRecord]
    public var loss: Double { history.last?.loss ?? .nan }
    public var tokensPerSecond: Double { history.last?.tokensPerSecond ?? 0 }
}

public struct Seq2SeqTrainer {
    public var recipe: String
    public var config: TranslationModelConfig
    public var hyper: Hyperparameters
    public var options: RunOptions

    public init(recipe: String, config: TranslationModelConfig, hyper: Hyperparameters, options: RunOptions) {
        self.recipe = recipe; self.config = config; self.hyper = hyper; self.options = options
    }

    public func train(dataset: TranslationDataset) throws -> Seq2SeqRun {
        let backend = try options.backend
        let rng = HostRNG(seed: options.seed)
        let model = try config.build(on: backend, rng: rng)
        try model.xavierInit(rng: rng)
        model.useRandomStream(RandomStream(seed: options.seed))
        model.train()
        let params = model.parameters
        let optimizer = try Training.makeOptimizer(hyper, params)
        let resumed = try Training.startOrResume(options, model: model, optimizer: optimizer)
        let start = resumed.position
        var step = resumed.step
        var loader = try DataLoader(dataset, batchSize: hyper.batchSize, shuffle: true, resumingFrom: start)
        let schedule = Training.makeSchedule(hyper.resolvedSchedule, lr: hyper.lr, warmup: hyper.resolvedWarmupSteps,
                                             totalSteps: hyper.epochs * loader.batchesPerEpoch, width: config.width)
        let log = try MetricsLog(options.metricsLog, append: options.resume)
        let bos = Int32(dataset.tgtVocab["<bos>"])
        var history: [EpochRecord] = []
        var lastCheckpoint: String? = options.resume ? options.checkpoint?.path : nil

        func save() throws {
            guard let url = options.checkpoint else { return }
            try Checkpoint.save(to: url, model: model, optimizer: optimizer, info: CheckpointInfo(step: step, extra: [
                "recipe": recipe, "kind": config.kind, "config": try config.json(),
                "src_vocab": try Training.json(dataset.srcVocab), "tgt_vocab": try Training.json(dataset.tgtVocab),
                "position": try Training.json(loader.position), "hyper": try Training.json(hyper)]))
            lastCheckpoint = url.path
        }

        for epoch in start.epoch..<max(hyper.epochs, start.epoch) {
            var tokens = 0, minibatches = 0
            let epochLoss = try EpochLoss(on: backend, epoch: epoch, firstStep: step)
            let t0 = Training.now(), trace0 = backend.trace
            while let batch = loader.next() {
                optimizer.lr = schedule.lr(at: hyper.resolvedSchedule == .noam ? step + 1 : step)
                optimizer.zeroGrad()
                let total = try Self.loss(model, batch, bos: bos, labelSmoothing: hyper.resolvedLabelSmoothing)
                try total.backward()
                let scale = try hyper.clip.flatMap { try GradientClipping.scale(params, maxNorm: $0) }
                try optimizer.step(gradScale: scale)
                try epochLoss.add(total)
                step += 1
                minibatches += 1
                let n = batch.tgtValidLen.reduce(0) { $0 + Int($1) }
                tokens += n
                options.progress?.update(epoch: epoch, of: hyper.epochs, loss: nil,
                                         tokensPerSecond: Double(tokens) / max(Training.now() - t0, 1e-9))
                if options.interrupt?.isRaised == true {
                    try save()
                    throw ZooError.interrupted(step: step, checkpoint: options.checkpoint?.path)
                }
            }
            let lossSum = try epochLoss.total(lastStep: step, lastCheckpoint: lastCheckpoint)
            let seconds = Training.now() - t0
            let record = EpochRecord(epoch: epoch, loss: lossSum / Double(max(tokens, 1)), perplexity: nil,
                                     tokensPerSecond: Double(tokens) / max(seconds, 1e-9), lr: Double(optimizer.lr), seconds: seconds,
                                     minibatches: minibatches, trace: backend.trace - trace0)
            history.append(record)
            try log.write(record, recipe: recipe)
            options.progress?.endEpoch(record, of: hyper.epochs, metric: "")
            if (epoch + 1) % max(options.checkpointEvery, 1) == 0 || epoch + 1 == hyper.epochs { try save() }
        }
        model.eval()
        return Seq2SeqRun(model: model, srcVocab: dataset.srcVocab, tgtVocab: dataset.tgtVocab, history: history)
    }

    /// The book's `l.sum()` for one batch under teacher forcing: Σ over sequences of
    /// (Σ valid-step CE / num_steps), computed as one masked cross-entropy in the model's layout.
    public static func loss(_ model: any EncoderDecoder, _ batch: TranslationBatch, bos: Int32, labelSmoothing: Float = 0) throws -> Tensor {
        guard let backend = model.backend else { throw ZooError.invalidOption("the model has no parameters") }
        let B = batch.batchSize, T = batch.numSteps
        var decIn = [Int32](repeating: bos, count: B * T)                    // <bos> + Y[:, :-1], (B, T)
        for b in 0..<B { for t in 1..<T { decIn[b * T + t] = batch.tgt[b * T + t - 1] } }
        var mask = [Float](repeating: 0, count: B * T)                       // sequence mask, (B, T)
        for b in 0..<B { for t in 0..<min(Int(batch.tgtValidLen[b]), T) { mask[b * T + t] = 1 } }
        var src = batch.src, tgt = batch.tgt
        let shape = model.timeMajor ? [T, B] : [B, T]
        if model.timeMajor {                                                 // everything (T, B)
            src = TokenBatch.transpose(src, rows: B, cols: T)
            tgt = TokenBatch.transpose(tgt, rows: B, cols: T)
            decIn = TokenBatch.transpose(decIn, rows: B, cols: T)
            mask = (0..<(T * B)).map { mask[($0 % B) * T + $0 / B] }
        }
        let logits = try model.logits(source: Tensor(src, shape: shape, on: backend),
                                      sourceValidLens: Tensor(batch.srcValidLen, shape: [B], on: backend),
                                      decoderInput: Tensor(decIn, shape: shape, on: backend))   // (shape, V)
        // Σ over the batch of each sequence's masked loss / T.
        return try logits.reshaped([T * B, model.tgtVocabSize]).crossEntropySum(
            targets: Tensor(tgt, shape: [T * B], on: backend), weights: Tensor(mask, shape: [T * B], on: backend),
            labelSmoothing: labelSmoothing, scale: 1 / Float(T))
    }

    /// Rebuilds a trained model (GRU, Bahdanau or Transformer, as the checkpoint says) and its vocabularies.
    public static func load(checkpoint url: URL, on backend: Backend) throws -> (model: any EncoderDecoder, srcVocab: Vocab, tgtVocab: Vocab) {
        let meta = try SafeTensorsFile.read(from: url).metadata
        let config = try TranslationModelConfig.decode(kind: meta["extra.kind"], config: meta["extra.config"], path: url.path)
        let src = try Training.decode(Vocab.self, meta["extra.src_vocab"], key: "src_vocab", path: url.path)
        let tgt = try Training.decode(Vocab.self, meta["extra.tgt_vocab"], key: "tgt_vocab", path: url.path)
        let model = try config.build(on: backend, rng: HostRNG(seed: 0))
        try Checkpoint.load(from: url, into: model)
        model.eval()
        return (model, src, tgt)
    }
}
