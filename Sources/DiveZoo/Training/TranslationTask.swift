// The book's `train_seq2seq` as a task: Xavier init, teacher forcing with `<bos>` + Y[:, :-1], the
// masked softmax cross-entropy (per sequence Σ valid CE / num_steps) summed over the batch; the
// epoch reports Σ loss / Σ valid target tokens, and the held-out pairs' mean BLEU when some are
// held out. One task for every `EncoderDecoder` (GRU, Bahdanau, Transformer); the checkpoint names
// the model's kind and configuration and holds both vocabularies.
import Dive
import DiveData
import DiveNN
import Foundation

/// The outcome of a translation training run: the trained model, its vocabularies and every epoch's record.
public struct Seq2SeqRun: TrainingRun {
    /// The trained model.
    public var model: any EncoderDecoder
    /// The source (English) and target (French) vocabularies it was trained with.
    public var srcVocab: Vocab, tgtVocab: Vocab
    /// Every epoch's record, the last one what the book reports.
    public var history: [EpochRecord]
}

/// The book's `train_seq2seq` as a `Trainer` task for any `EncoderDecoder` (9.7, 10.4, 10.7): Xavier
/// initialisation, teacher forcing and the masked cross-entropy summed over the batch.
public final class TranslationTask: DatasetTask {
    /// The recipe's registry name, stored in checkpoints.
    public let recipe: String
    /// Which model and its sizes.
    public let config: TranslationModelConfig
    /// The model trained.
    public let encoderDecoder: any EncoderDecoder
    /// The English–French pairs trained on, with their vocabularies.
    public let trainingSet: TranslationDataset
    /// The pairs held out, as (source, reference) sentences: each epoch's `validation` is their
    /// mean BLEU (`Evaluation.bleu`, greedy, k = 2); empty: none.
    public let heldOut: [(source: String, target: String)]
    /// Sentence pairs per global minibatch.
    public let batchSize: Int
    private let labelSmoothing: Float
    private let bos: Int32
    /// The epoch's shuffling loader; nil until `startData`.
    public var loader: DataLoader<TranslationDataset>?

    /// Builds the model `config` names, applies the book's Xavier initialisation with `seed`, and takes
    /// `hyper`'s batch size and label smoothing; `heldOut` pairs are scored after every epoch.
    public init(
        recipe: String, config: TranslationModelConfig, dataset: TranslationDataset, heldOut: [(source: String, target: String)] = [],
        hyper: Hyperparameters, on backend: Backend, seed: UInt64
    ) throws {
        self.recipe = recipe; self.config = config; trainingSet = dataset; self.heldOut = heldOut
        batchSize = hyper.batchSize
        labelSmoothing = hyper.resolvedLabelSmoothing
        bos = Int32(dataset.tgtVocab["<bos>"])
        let rng = HostRNG(seed: seed)
        encoderDecoder = try config.build(on: backend, rng: rng)
        try encoderDecoder.xavierInit(rng: rng)
        encoderDecoder.useRandomStream(RandomStream(seed: seed))
        encoderDecoder.train()
    }

    /// The encoder-decoder as a module.
    public var model: Module { encoderDecoder }
    /// The model width (hidden size or d_model), for the noam schedule.
    public var width: Int { config.width }

    /// The model's kind and configuration and both vocabularies.
    public func checkpointMetadata() throws -> [String: String] {
        try ZooModel.translation(encoderDecoder, source: trainingSet.srcVocab, target: trainingSet.tgtVocab).metadata()
    }

    /// Throws unless the checkpoint holds the same kind of model with the same sizes and
    /// vocabularies, naming what differs.
    public func checkCompatible(_ meta: [String: String], path: String) throws {
        let stored = try TranslationModelConfig.decode(kind: meta["extra.kind"], config: meta["extra.config"], path: path)
        if stored == config {
            let src = try Training.decode(Vocab.self, meta["extra.src_vocab"], key: "src_vocab", path: path)
            let tgt = try Training.decode(Vocab.self, meta["extra.tgt_vocab"], key: "tgt_vocab", path: path)
            guard src == trainingSet.srcVocab && tgt == trainingSet.tgtVocab else {
                throw Training.anotherModel(path: path, "other vocabularies: other sentence pairs")
            }
        }
        guard stored == config else {
            let detail: String
            switch (config, stored) {
            case let (.seq2seq(a), .seq2seq(b)), let (.bahdanau(a), .bahdanau(b)): detail = Training.differences(a, b)
            case let (.transformer(a), .transformer(b)): detail = Training.differences(a, b)
            default: detail = "kind \(config.kind) here, \(stored.kind) in the file"
            }
            throw Training.anotherModel(path: path, detail)
        }
    }

    /// Valid target tokens.
    public func count(_ batch: TranslationBatch) -> Int { batch.tgtValidLen.reduce(0) { $0 + Int($1) } }

    /// Sets the record's `validation` to the held-out pairs' mean BLEU, when there are some.
    public func evaluate(_ record: inout EpochRecord) throws {
        guard !heldOut.isEmpty else { return }
        record.validation = try Evaluation.bleu(
            encoderDecoder, source: trainingSet.srcVocab, target: trainingSet.tgtVocab, pairs: heldOut.map { ($0.source, $0.target) })
    }

    /// "held-out BLEU 0.412" for progress lines, when pairs are held out.
    public func metric(_ record: EpochRecord) -> String { record.validation.map { String(format: "held-out BLEU %.3f", $0) } ?? "" }

    /// A higher BLEU is better (`--keep best`).
    public var lowerValidationIsBetter: Bool { false }

    /// This rank's rows' loss: the book's `l.sum()` under teacher forcing.
    public func loss(_ shard: TranslationBatch, globalRows: Int) throws -> StepLoss {
        StepLoss(loss: try Self.loss(encoderDecoder, shard, bos: bos, labelSmoothing: labelSmoothing))
    }

    /// A second model of the same configuration whose parameters share this one's memory.
    public func makeReplica() throws -> ShardReplica<TranslationBatch>? {
        let copy = try config.build(on: try encoderDecoder.backend.orThrow(), rng: HostRNG(seed: 0))
        try copy.shareParameters(with: encoderDecoder)
        copy.useRandomStream(RandomStream(seed: 0))
        let bos = bos, labelSmoothing = labelSmoothing
        return ShardReplica(model: copy) { rows, _ in
            StepLoss(loss: try Self.loss(copy, rows, bos: bos, labelSmoothing: labelSmoothing))
        }
    }

    /// The book's `l.sum()` for one batch under teacher forcing: Σ over sequences of
    /// (Σ valid-step CE / num_steps), computed as one masked cross-entropy in the model's layout.
    public static func loss(_ model: any EncoderDecoder, _ batch: TranslationBatch, bos: Int32, labelSmoothing: Float = 0) throws -> Tensor
    {
        let backend = try model.backend.orThrow()
        let B = batch.batchSize, T = batch.numSteps
        var decIn = [Int32](repeating: bos, count: B * T)  // <bos> + Y[:, :-1], (B, T)
        for b in 0..<B { for t in 1..<T { decIn[b * T + t] = batch.tgt[b * T + t - 1] } }
        var mask = [Float](repeating: 0, count: B * T)  // sequence mask, (B, T)
        for b in 0..<B { for t in 0..<min(Int(batch.tgtValidLen[b]), T) { mask[b * T + t] = 1 } }
        var src = batch.src, tgt = batch.tgt
        let shape = model.timeMajor ? [T, B] : [B, T]
        if model.timeMajor {  // everything (T, B)
            src = TokenBatch.transpose(src, rows: B, cols: T)
            tgt = TokenBatch.transpose(tgt, rows: B, cols: T)
            decIn = TokenBatch.transpose(decIn, rows: B, cols: T)
            mask = (0..<(T * B)).map { mask[($0 % B) * T + $0 / B] }
        }
        let logits = try model.logits(
            source: Tensor(src, shape: shape, on: backend),
            sourceValidLens: Tensor(batch.srcValidLen, shape: [B], on: backend),
            decoderInput: Tensor(decIn, shape: shape, on: backend))  // (shape, V)
        // Σ over the batch of each sequence's masked loss / T.
        return try logits.reshaped([T * B, model.tgtVocabSize]).crossEntropySum(
            targets: Tensor(tgt, shape: [T * B], on: backend), weights: Tensor(mask, shape: [T * B], on: backend),
            labelSmoothing: labelSmoothing, scale: 1 / Float(T))
    }

    /// Rebuilds a trained model (GRU, Bahdanau or Transformer, as the checkpoint says) and its
    /// vocabularies; or, with `recipe`, reads a PyTorch `state_dict` of the book's `EncoderDecoder`
    /// saved by `safetensors.torch.save_file` (no Dive metadata): the sizes come from the shapes,
    /// what shapes cannot tell (heads, dropout, steps) from the recipe, and the vocabularies are
    /// rebuilt the book's way from the recipe's data.
    public static func load(
        checkpoint url: URL, on backend: Backend, recipe: (any TranslationRecipe)? = nil,
        data: DataDirectory = DataDirectory()
    ) throws -> (model: any EncoderDecoder, srcVocab: Vocab, tgtVocab: Vocab) {
        let (file, plainRecipe) = try Training.readCheckpoint(
            url, recipe, layout: "EncoderDecoder", names: "seq2seq, bahdanau, transformer")
        if let recipe = plainRecipe {
            let dataset = try Translation.loadDataset(file: data.locate(.fraEng), numSteps: recipe.numSteps, numExamples: 600)
            let config = try plainConfig(
                file, recipe.modelConfig(.zh, srcVocab: dataset.srcVocab.count, tgtVocab: dataset.tgtVocab.count),
                path: url.path)
            let model = try config.build(on: backend, rng: HostRNG(seed: 0))
            try Checkpoint.load(file, path: url.path, into: model)
            model.eval()
            return (model, dataset.srcVocab, dataset.tgtVocab)
        }
        let meta = file.metadata
        let config = try TranslationModelConfig.decode(kind: meta["extra.kind"], config: meta["extra.config"], path: url.path)
        let src = try Training.decode(Vocab.self, meta["extra.src_vocab"], key: "src_vocab", path: url.path)
        let tgt = try Training.decode(Vocab.self, meta["extra.tgt_vocab"], key: "tgt_vocab", path: url.path)
        let model = try config.build(on: backend, rng: HostRNG(seed: 0))
        try Checkpoint.load(file, path: url.path, into: model)
        model.eval()
        return (model, src, tgt)
    }
}

extension TranslationTask {
    /// The configuration of a PyTorch state_dict of the book's `EncoderDecoder`: the recipe's
    /// model with the widths, layer count and vocabulary sizes its tensors have.
    static func plainConfig(_ file: SafeTensorsFile, _ recipeConfig: TranslationModelConfig, path: String) throws -> TranslationModelConfig
    {
        func shape(_ name: String) throws -> [Int] {
            guard let t = file.tensors[name], t.shape.count == 2 else {
                throw ZooError.badCheckpoint(
                    path: path, detail: "not the book's \(recipeConfig.kind) EncoderDecoder: it has no 2-D \(name)")
            }
            return t.shape
        }
        func count(_ name: (Int) -> String) -> Int { (0...).prefix { file.tensors[name($0)] != nil }.count }
        let srcVocab = try shape("encoder.embedding.weight")[0], tgtVocab = try shape("decoder.dense.weight")[0]
        let config: TranslationModelConfig
        switch recipeConfig {
        case var .seq2seq(c), var .bahdanau(c):
            c.srcVocabSize = srcVocab; c.tgtVocabSize = tgtVocab
            c.embedSize = try shape("encoder.embedding.weight")[1]
            c.hidden = try shape("encoder.rnn.weight_hh_l0")[1]
            c.layers = count { "encoder.rnn.weight_ih_l\($0)" }
            try ModelLimits.check(c, path: path)
            if case .seq2seq = recipeConfig { config = .seq2seq(c) } else { config = .bahdanau(c) }
        case var .transformer(c):
            c.srcVocabSize = srcVocab; c.tgtVocabSize = tgtVocab
            c.numHiddens = try shape("encoder.embedding.weight")[1]
            c.ffnHiddens = try shape("encoder.blks.block0.ffn.dense1.weight")[0]
            c.numLayers = count { "encoder.blks.block\($0).attention.W_q.weight" }
            try ModelLimits.check(c, path: path)
            guard c.numHiddens % c.numHeads == 0 else {
                throw ZooError.badCheckpoint(
                    path: path, detail: "its width \(c.numHiddens) does not split into the recipe's \(c.numHeads) heads")
            }
            config = .transformer(c)
        }
        guard srcVocab == recipeConfig.srcVocabSize, tgtVocab == recipeConfig.tgtVocabSize else {
            throw ZooError.badCheckpoint(
                path: path,
                detail:
                    "its vocabularies have \(srcVocab) and \(tgtVocab) tokens; the book's for this recipe have \(recipeConfig.srcVocabSize) and \(recipeConfig.tgtVocabSize)"
            )
        }
        return config
    }
}
