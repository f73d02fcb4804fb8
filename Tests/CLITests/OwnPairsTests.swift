// `dive train <translation recipe> --pairs` and `dive train nli --snli` end to end (issue 26):
// pairs written here train with a held-out BLEU every epoch (progress, JSON log, plot) equal to the
// one recomputed from the checkpoint, keep the best epoch's checkpoint, and `dive translate`
// needs nothing but the checkpoint; --raw keeps case and punctuation; an SNLI folder in the
// Stanford layout (.jsonl and .txt) trains and prints the test accuracy. Bad data is a one-line
// error naming the file (and line) that writes nothing.
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation
import Testing

@Suite("Own pairs", .serialized) struct OwnPairsTests {
    /// `count` pairs of a word-for-word English–French toy, every third with an attribution column.
    static func pairs(_ count: Int = 200) -> String {
        let subjects = [("The cat", "Le chat"), ("A dog", "Un chien"), ("My sister", "Ma sœur"), ("The old man", "Le vieil homme")]
        let verbs = [("sees", "voit"), ("likes", "aime"), ("follows", "suit")]
        let objects = [("the river.", "la rivière."), ("a red ball!", "une balle rouge !"), ("the moon?", "la lune ?")]
        var rng = DataRNG(seed: 11)
        return (0..<count).map { i in
            let s = subjects.randomElement(using: &rng)!, v = verbs.randomElement(using: &rng)!, o = objects.randomElement(using: &rng)!
            return "\(s.0) \(v.0) \(o.0)\t\(s.1) \(v.1) \(o.1)" + (i % 3 == 0 ? "\tCC-BY 2.0 (France) Attribution: tatoeba.org #\(i)" : "")
        }.joined(separator: "\n") + "\n"
    }

    /// The output's lines "epoch k/n ... held-out BLEU X ...": each epoch's held-out figure.
    func heldOut(_ output: String, after label: String) -> [Double] {
        output.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.compactMap { line in
            line.range(of: label + " ").flatMap { Double(line[$0.upperBound...].prefix { !$0.isWhitespace }) }
        }
    }

    /// What `dive translate` printed on standard output (its "log P" line goes to standard error).
    func translation(_ output: String) throws -> String {
        let lines = output.split(separator: "\n")
        #expect(lines.count == 2, "\(output)")
        return String(try #require(lines.first { !$0.hasPrefix("log P = ") }, "\(output)"))
    }

    /// The JSON log's `validation` per epoch.
    func logged(_ log: URL) throws -> [Double] {
        try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["validation"] as? Double, "no validation in \(line)")
        }
    }

    @Test func pairsTrainReportHeldOutBLEUKeepTheBestAndTranslate() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pairs.txt")
        try Data(Self.pairs().utf8).write(to: file)
        let ckpt = dir.appendingPathComponent("runs/seq2seq.safetensors"), log = dir.appendingPathComponent("log.jsonl")
        let plot = dir.appendingPathComponent("curve.svg")
        let output = try CLI.succeed([
            "train", "seq2seq", "--pairs", file.path, "--epochs", "12", "--batch-size", "16", "--lr", "0.02",
            "--checkpoint", ckpt.path, "--log", log.path, "--plot", plot.path, "--keep", "best"
        ])
        let pairs = try SentencePairs(reading: file)
        #expect(
            output.contains(
                "\(file.path): 200 pairs (the book's preprocessing), vocabularies of \(pairs.srcVocab.count) and \(pairs.tgtVocab.count) tokens, 20 held out"
            ), "\(output)")
        // --valid-fraction 0.1 by default with --pairs: every epoch's held-out BLEU, printed and logged.
        let printed = heldOut(output, after: "held-out BLEU"), values = try logged(log)
        #expect(printed.count == 12 && values.count == 12, "\(output)")
        for (p, v) in zip(printed, values) { #expect(abs(p - v) <= 0.0006 && v >= 0 && v <= 1, "printed \(p), logged \(v)") }
        #expect(values.max()! > 0.5, "the toy is word for word: \(values)")
        #expect(output.contains("held-out BLEU \(String(format: "%.3f", values.last!)) (best") && !output.contains("(book, "))
        #expect(try String(contentsOf: plot, encoding: .utf8).contains("held-out BLEU"))

        // The checkpoint holds both vocabularies; the last epoch's BLEU recomputed from it is the logged one.
        let (model, source, target) = try ZooModel.load(from: ckpt, on: CPUBackend.shared).translation()
        #expect(source == pairs.srcVocab && target == pairs.tgtVocab)
        let split = HeldOutSplit(count: pairs.count, fraction: 0.1)
        let held = split.heldOut.map { (pairs.source[$0].joined(separator: " "), pairs.target[$0].joined(separator: " ")) }
        let recomputed = try Evaluation.bleu(model, source: source, target: target, pairs: held)
        #expect(abs(recomputed - values.last!) <= 1e-6, "recomputed \(recomputed), logged \(values.last!)")  // the log's 6 digits

        // --keep best: the best epoch's checkpoint beside the last one, with its figure.
        let best = dir.appendingPathComponent("runs/seq2seq.best.safetensors")
        let bestValue = try #require(Double(try SafeTensorsFile.read(from: best).metadata["extra.validation"] ?? ""))
        #expect(abs(bestValue - values.max()!) <= 1e-6, "best \(bestValue), logged \(values)")

        // dive translate needs nothing but the checkpoint.
        let translated = try translation(CLI.succeed(["translate", best.path, "the cat sees the moon ?"]))
        #expect(translated.split(separator: " ").allSatisfy { target.contains(String($0)) }, "\(translated)")
        #expect(translated.hasPrefix("le chat voit"), "\(translated)")
    }

    @Test func rawPairsKeepCaseAndPunctuation() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pairs.txt")
        try Data(Self.pairs().utf8).write(to: file)
        let ckpt = dir.appendingPathComponent("t.safetensors")
        let output = try CLI.succeed([
            "train", "transformer", "--pairs", file.path, "--raw", "--epochs", "10", "--batch-size", "16", "--lr", "0.01",
            "--valid-fraction", "0", "--checkpoint", ckpt.path
        ])
        #expect(output.contains("200 pairs (raw)") && output.contains(", 0 held out"), "\(output)")
        #expect(!output.contains("held-out BLEU"), "nothing held out: \(output)")
        let (_, source, target) = try ZooModel.load(from: ckpt, on: CPUBackend.shared).translation()
        #expect(source.contains("The") && source.contains("moon?") && !source.contains("the moon") && !source.contains("?"))
        #expect(target.contains("Le") && target.contains("rivière.") && !target.contains("le"))
        // The sentence keeps its case: "The" is in the vocabulary, "the" at the start would be another word.
        let translated = try translation(CLI.succeed(["translate", ckpt.path, "The cat sees the moon?"]))
        #expect(translated.hasPrefix("Le chat voit"), "\(translated)")
    }

    @Test func resumingOnOtherPairsIsRefused() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pairs.txt"), other = dir.appendingPathComponent("other.txt")
        try Data(Self.pairs().utf8).write(to: file)
        // The same vocabulary sizes, another word.
        try Data(Self.pairs().replacingOccurrences(of: "cat", with: "cow").utf8).write(to: other)
        let ckpt = dir.appendingPathComponent("s.safetensors").path
        let common = ["train", "seq2seq", "--batch-size", "16", "--checkpoint", ckpt]
        try CLI.succeed(common + ["--pairs", file.path, "--epochs", "1"])
        let r = try CLI.run(common + ["--pairs", other.path, "--epochs", "2", "--resume"])
        #expect(r.status == 1 && r.output.contains("other vocabularies: other sentence pairs"), "\(r.output)")
        let resumed = try CLI.succeed(common + ["--pairs", file.path, "--epochs", "2", "--resume"])
        #expect(heldOut(resumed, after: "held-out BLEU").count == 1, "\(resumed)")
    }

    /// An SNLI folder: train as .jsonl (with one `-` label), dev as .txt, test as .jsonl; a rule a
    /// model can learn (the hypothesis repeats the premise's animal, or another one).
    static func writeSNLI(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let animals = ["cat", "dog", "bird", "horse"], places = ["park", "garden", "street"]
        var rng = DataRNG(seed: 5)
        func example(_ i: Int) -> (label: String, premise: String, hypothesis: String) {
            let a = animals.randomElement(using: &rng)!, p = places.randomElement(using: &rng)!
            let other = animals.filter { $0 != a }.randomElement(using: &rng)!
            let (label, h) = i % 2 == 0 ? ("entailment", a) : ("contradiction", other)
            return (label, "( ( A \(a) ) ( ( is ( in ( the \(p) ) ) ) . ) )", "( ( A \(h) ) ( is outside ) )")
        }
        func json(_ e: (label: String, premise: String, hypothesis: String)) -> String {
            "{\"gold_label\": \"\(e.label)\", \"sentence1_binary_parse\": \"\(e.premise)\", \"sentence2_binary_parse\": \"\(e.hypothesis)\"}"
        }
        let train = (0..<40).map { json(example($0)) } + [json(("-", "( A cat )", "( A dog )"))]
        try Data((train.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("snli_1.0_train.jsonl"))
        let dev =
            ["gold_label\tsentence1_binary_parse\tsentence2_binary_parse"]
            + (0..<8).map { i in
                let e = example(i)
                return "\(e.label)\t\(e.premise)\t\(e.hypothesis)"
            }
        try Data((dev.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("snli_1.0_dev.txt"))
        let test = (0..<10).map { json(example($0)) }
        try Data((test.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("snli_1.0_test.jsonl"))
    }

    /// A data directory with a few GloVe 100d rows, so that nli starts from them without downloading.
    static func gloveDirectory(in dir: URL) throws -> URL {
        let data = dir.appendingPathComponent("data"), folder = data.appendingPathComponent("glove.6B.100d")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let rows = ["cat", "dog", "park"].enumerated().map { k, word in
            ([word] + (0..<100).map { String(Double(($0 * 7 + k * 13) % 23) / 16 - 0.7) }).joined(separator: " ")
        }
        try Data(rows.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("vec.txt"))
        return data
    }

    @Test func anSNLIFolderTrainsWithDevAccuracyAndPrintsTestAccuracy() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let snli = dir.appendingPathComponent("snli")
        try Self.writeSNLI(to: snli)
        let log = dir.appendingPathComponent("log.jsonl"), ckpt = dir.appendingPathComponent("nli.safetensors")
        let output = try CLI.succeed([
            "train", "nli", "--snli", snli.path, "--epochs", "3", "--batch-size", "8", "--data-dir", Self.gloveDirectory(in: dir).path,
            "--checkpoint", ckpt.path, "--log", log.path, "--keep", "best"
        ])
        // The "-" label is dropped, as the book drops it; the dev split is the held-out set.
        #expect(output.contains("\(snli.path): 40 training, 10 test examples, 8 dev examples held out"), "\(output)")
        #expect(output.contains("read 40 training examples, 10 test examples"), "\(output)")
        #expect(output.contains("embeddings: GloVe 6B 100d"), "\(output)")
        let printed = heldOut(output, after: "held-out acc"), values = try logged(log)
        #expect(printed.count == 3 && values.count == 3, "\(output)")
        for (p, v) in zip(printed, values) { #expect(abs(p - v) <= 0.0006 && v >= 0 && v <= 1) }
        let testLine = try #require(output.split(separator: "\n").first { $0.hasPrefix("loss ") && $0.contains("test acc ") }, "\(output)")
        #expect(testLine.contains("held-out acc"), "\(testLine)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("nli.best.safetensors").path))
        // --valid-fraction holds out training examples instead of the dev split.
        let fraction = try CLI.succeed([
            "train", "nli", "--snli", snli.path, "--epochs", "1", "--batch-size", "8", "--valid-fraction", "0.25",
            "--data-dir", Self.gloveDirectory(in: dir).path, "--checkpoint", dir.appendingPathComponent("f.safetensors").path
        ])
        #expect(fraction.contains("30 training, 10 test examples, 10 held-out examples held out"), "\(fraction)")
    }

    /// Bad data or flags: (the recipe, files to write (name, bytes), the flags besides the output's,
    /// what the one line says). `$D` in a flag is the test's folder.
    static let badData: [(String, [(String, [UInt8])], [String], String)] = [
        ("seq2seq", [("empty.txt", [])], ["--pairs", "$D/empty.txt"], "$D/empty.txt: the file is empty"),
        (
            "seq2seq", [("binary.txt", Array(pairs(3).utf8) + [0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0xff])], ["--pairs", "$D/binary.txt"],
            "$D/binary.txt:4: a NUL byte"
        ),
        (
            "transformer", [("latin1.txt", Array(pairs(2).utf8) + Array("caf".utf8) + [0xe9] + Array("\tx\n".utf8))],
            ["--pairs", "$D/latin1.txt"], "$D/latin1.txt:3: invalid UTF-8"
        ),
        ("seq2seq", [("notab.txt", Array((pairs(4) + "just one sentence\n").utf8))], ["--pairs", "$D/notab.txt"], "$D/notab.txt:5: no tab"),
        (
            "seq2seq", [("few.txt", Array(pairs(30).utf8))], ["--pairs", "$D/few.txt"],
            "$D/few.txt: 27 pairs left for training (3 held out) are too few for one minibatch of 64"
        ),
        (
            "bahdanau", [("one.txt", Array(String(repeating: "go go\tva bien\n", count: 80).utf8))], ["--pairs", "$D/one.txt"],
            "$D/one.txt: the source sentences have one token (\"go\")"
        ),
        (
            "seq2seq", [("few.txt", Array(pairs(100).utf8))], ["--pairs", "$D/few.txt", "--valid-fraction", "0.001"],
            "$D/few.txt: --valid-fraction 0.001 of its 100 pairs holds out none"
        ),
        ("seq2seq", [], ["--pairs", "$D/missing.txt"], "$D/missing.txt: no such file"),
        ("seq2seq", [], ["--raw"], "--raw needs --pairs"),
        ("seq2seq", [], ["--valid-fraction", "0", "--keep", "best"], "--keep best needs held-out data"),
        ("nli", [("p.txt", Array(pairs().utf8))], ["--pairs", "$D/p.txt"], "--pairs is for the translation recipes"),
        ("seq2seq", [], ["--snli", "$D"], "--snli is for nli, not seq2seq"),
        ("numerics", [], ["--valid-fraction", "0.1"], "--valid-fraction is for the language models (gpt too), the translation recipes"),
        (
            "nli",
            [
                (
                    "snli_1.0_train.jsonl",
                    Array(
                        "{\"gold_label\": \"neutral\", \"sentence1_binary_parse\": \"a\", \"sentence2_binary_parse\": \"b\"}\n\ngold_label\tsentence1\n"
                            .utf8)
                ), ("snli_1.0_test.jsonl", [])
            ], ["--snli", "$D"], "$D/snli_1.0_train.jsonl:3: not a JSON object"
        ),
        ("nli", [("snli_1.0_test.txt", Array("gold_label\n".utf8))], ["--snli", "$D"], "$D: no snli_1.0_train.jsonl or snli_1.0_train.txt"),
        ("nli", [], ["--snli", "$D/nowhere"], "$D/nowhere: no such folder"),
        (
            "nli", [("snli_1.0_train.jsonl", Array("{\"gold_label\": \"-\"}\n".utf8)), ("snli_1.0_test.txt", [])], ["--snli", "$D"],
            "$D/snli_1.0_train.jsonl:1: no string field \"sentence1_binary_parse\""
        )
    ]

    @Test(arguments: 0..<badData.count)
    func badDataIsOneLineNamingTheFileAndWritesNothing(_ index: Int) throws {
        let (recipe, files, flags, message) = Self.badData[index]
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for (name, bytes) in files { try Data(bytes).write(to: input.appendingPathComponent(name)) }
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(
            [
                "train", recipe, "--epochs", "1", "--checkpoint", out.appendingPathComponent("model.safetensors").path,
                "--log", out.appendingPathComponent("log.jsonl").path, "--plot", out.appendingPathComponent("curve.svg").path,
                "--tensorboard", out.appendingPathComponent("tb").path
            ] + flags.map { $0.replacingOccurrences(of: "$D", with: input.path) })
        let lines = r.output.split(separator: "\n")
        let expected = message.replacingOccurrences(of: "$D", with: input.path)
        #expect(r.exitedNormally && r.status == 1, "\(r.reason) \(r.status): \(r.output)")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && lines[0].contains(expected), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "a refused run wrote \(out.path)")
    }
}
