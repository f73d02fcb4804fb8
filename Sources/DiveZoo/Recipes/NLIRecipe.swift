// The 15.5 recipe: SNLI (train and test, min_freq 5, 50 steps), decomposable attention with
// embed 100 initialised from GloVe 6B 100d and fine-tuned, hidden 200, batch 256, Adam 0.001,
// 4 epochs; prints what `train_ch13` prints, then `predict_snli` on the book's pair.
import Dive
import DiveData
import Foundation

/// 15.5: decomposable attention trained on SNLI with GloVe 6B 100d embeddings, then the book's
/// `predict_snli` on one premise and hypothesis.
public struct NLIRecipe: Recipe {
    /// Registered as `nli`: zh section 15.5, en 16.5.
    public let listing = RecipeListing(
        name: "nli", section: "15.5", enSection: "16.5",
        summary: "decomposable attention on SNLI with GloVe 100d embeddings (natural language inference)")
    /// Model sizes; the book's by default (tests shrink them).
    public var embedSize = 100, hidden = 200, numSteps = 50
    /// The book's example: `predict_snli(['he','is','good','.'], ['he','is','bad','.'])`.
    public static let example = (premise: ["he", "is", "good", "."], hypothesis: ["he", "is", "bad", "."])

    /// The recipe with the book's sizes: embed 100, hidden 200, 50 steps.
    public init() {}

    /// The recipe with other model sizes (tests shrink them); GloVe is used only at embed size 100.
    public init(embedSize: Int, hidden: Int, numSteps: Int) {
        self.embedSize = embedSize; self.hidden = hidden; self.numSteps = numSteps
    }

    /// Both editions train the same way (zh 15.5, en 16.5); the book does not clip gradients.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        Hyperparameters(epochs: 4, lr: 0.001, batchSize: 256, optimizer: .adam, clip: nil)
    }

    /// `load_data_snli`'s datasets: train (which builds the vocabulary) and test, from `folder`.
    public func datasets(folder: URL) throws -> (train: SNLIDataset, test: SNLIDataset) {
        let data = try datasets(
            train: SNLI.read(directory: folder, split: .train), test: SNLI.read(directory: folder, split: .test), heldOut: nil,
            folder: folder.path, name: "dev")
        return (data.train, data.test)
    }

    /// The folder holding `snli_1.0_train` and `snli_1.0_test` (.txt or .jsonl): `snli_1.0/` in
    /// the data directory (the official zip unpacked, downloaded if allowed and missing), or the
    /// data directory itself (e.g. `--data-dir .../snli_1.0_sample` for a demonstration run).
    public static func snliFolder(_ data: DataDirectory) throws -> URL {
        let official = data.url.appendingPathComponent("snli_1.0")
        func missing(_ folder: URL) -> [String] {
            SNLISplit.allCases.filter { $0 != .dev }.compactMap { split in
                let base = folder.appendingPathComponent("snli_1.0_\(split.rawValue)")
                let present = ["txt", "jsonl"].contains { FileManager.default.fileExists(atPath: base.appendingPathExtension($0).path) }
                return present ? nil : base.appendingPathExtension("txt").path
            }
        }
        if missing(official).isEmpty { return official }
        if missing(data.url).isEmpty { return data.url }
        var download = ""
        if data.allowsDownload && data.existingLocalFile(.snli) == nil {
            do {
                let train = try data.locate(.snli)
                if missing(official).isEmpty { return train.deletingLastPathComponent() }
            } catch let error as DataError {
                download =
                    " The download failed: \(error.description.hasSuffix(".") ? String(error.description.dropLast()) : error.description)."
            }
        }
        throw ZooError.invalidOption(
            "SNLI 1.0 is missing: looked for \(missing(official).joined(separator: " and ")) (also .jsonl), "
                + "and for snli_1.0_train/snli_1.0_test in \(data.url.path) itself.\(download) "
                + "Unzip the official release (\(RemoteDataset.snli.url.absoluteString)) into \(data.url.path), "
                + "or point --data-dir (or \(DataDirectory.environmentVariable)) at the folder that holds it.")
    }

    /// The initial embedding table: GloVe 6B 100d rows for the vocabulary's tokens (exact lookup in
    /// GloVe's lower-case keys, so capitalised words, OOV, `<pad>` and `<unk>` get zeros), or nil
    /// (PyTorch's N(0, 1)) when the width is not 100 or the vectors cannot be had. Also a line
    /// that says which.
    public func initialEmbedding(vocab: Vocab, data: DataDirectory) throws -> (table: [Float]?, note: String) {
        let dataset = RemoteDataset.glove6B100d
        guard embedSize == 100 else {
            return (nil, "embeddings: N(0, 1) (embed size \(embedSize); GloVe 6B 100d needs 100)")
        }
        let file: URL
        if let existing = data.existingLocalFile(dataset) {
            file = existing
        } else {
            let expected = data.url.appendingPathComponent(dataset.localFiles[0]).path
            guard data.allowsDownload else {
                return (nil, "embeddings: N(0, 1): GloVe 6B 100d is not at \(expected) (downloads off)")
            }
            do { file = try data.locate(dataset) } catch let error as DataError {
                return (nil, "embeddings: N(0, 1): GloVe 6B 100d is not at \(expected) and could not be downloaded (\(error.description))")
            }
        }
        let glove = try TokenEmbedding(contentsOf: file)
        return (
            try Self.embeddingTable(vocab: vocab, glove: glove, embedSize: embedSize, file: file.path),
            "embeddings: GloVe 6B 100d from \(file.path) (\(vocab.idxToToken.filter { glove.index(of: $0) != 0 }.count) of \(vocab.count) tokens found), fine-tuned"
        )
    }

    /// `embeds = glove[vocab.idx_to_token]`: (V, E) values, zeros where GloVe lacks the token.
    public static func embeddingTable(vocab: Vocab, glove: TokenEmbedding, embedSize: Int, file: String) throws -> [Float] {
        guard glove.dimension == embedSize else {
            throw ZooError.invalidOption(
                "\(file) holds \(glove.dimension)-dimensional vectors; the model's embedding is \(embedSize)-dimensional")
        }
        return glove.embeddingMatrix(for: vocab)
    }

    /// Reads the data (`data(options)`), builds the model and trains it; also returns the embedding note.
    public func train(_ options: RunOptions) throws -> (run: NLIRun, train: SNLIDataset, test: SNLIDataset, note: String) {
        let data = try self.data(options)
        let (train, test) = (data.train, data.test)
        let (table, note) = try initialEmbedding(vocab: train.vocab, data: options.dataDirectory)
        let config = NLIConfig(vocabSize: train.vocab.count, embedSize: embedSize, hidden: hidden, numSteps: numSteps)
        let hyper = options.resolve(defaults(options.preset))
        let task = try NLITask(
            recipe: name, config: config, train: train, test: test, heldOut: data.heldOut, embedding: table, hyper: hyper,
            on: try options.backend, seed: options.seed)
        let history = try Trainer(task, hyper: hyper, options: options).run(steps: options.steps)
        task.attention.eval()
        return (NLIRun(model: task.attention, vocab: train.vocab, history: history), train, test, note)
    }

    /// Trains, then prints the data and vocabulary sizes, the embeddings' source, the last epoch's loss,
    /// accuracies (and held-out accuracy, last and best, when there is one) and speed, and the
    /// book's prediction, beside the book's figures.
    public func run(_ options: RunOptions) throws -> RecipeReport {
        let (run, train, test, note) = try train(options)
        guard let last = run.last else { throw ZooError.invalidOption("no epoch was trained (--epochs 0?)") }
        let predictor = try NLIPredictor(model: run.model, vocab: run.vocab)
        let label = try predictor.predict(premise: Self.example.premise, hypothesis: Self.example.hypothesis)
        let quoted = { (words: [String]) in "[" + words.map { "'\($0)'" }.joined(separator: ", ") + "]" }
        let heldOut = Training.heldOutSummary(run.history, name: "acc", format: "%.3f", lowerIsBetter: false)
        let lines = [
            "read \(train.count) training examples, \(test.count) test examples; vocab \(run.vocab.count)",
            note,
            String(
                format: "loss %.3f, train acc %.3f, test acc %.3f%@", last.loss, last.trainAccuracy ?? .nan, last.testAccuracy ?? .nan,
                heldOut as NSString),
            String(format: "%.1f examples/sec on %@", run.examplesPerSecond, options.device.description as NSString),
            "predict_snli(\(quoted(Self.example.premise)), \(quoted(Self.example.hypothesis))) = \(label.name)",
            "(book, zh 15.5: loss 0.497, train acc 0.805, test acc 0.824, 14163.6 examples/sec on 2 GPUs; contradiction)"
        ]
        let metrics: [String: Double] = [
            "loss": last.loss, "train_acc": last.trainAccuracy ?? .nan, "test_acc": last.testAccuracy ?? .nan,
            "examples_per_s": run.examplesPerSecond, "vocab": Double(run.vocab.count),
            "train_examples": Double(train.count), "test_examples": Double(test.count),
            "predict.example": Double(label.rawValue)
        ]
        var report = RecipeReport(lines: lines, metrics: metrics, history: run.history, curve: "loss")
        report.metrics["validation"] = last.validation
        report.heldOutLabel = "held-out accuracy"
        return report
    }
}
