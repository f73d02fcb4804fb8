// `dive train <recipe>`: trains one of the book's models with the book's hyperparameters (each
// option overrides one), shows progress, writes checkpoints, and prints what the book prints.
import ArgumentParser
import Dive
import DiveData
import DiveDistributed
import DiveZoo
import Foundation

struct TrainCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a recipe of the book (see `dive list`) and print the book's report.")

    @Argument(help: "The recipe (`dive list` shows them).") var recipe: String
    @OptionGroup var deviceOption: DeviceOption
    @Option(help: "Epochs (default: the book's).") var epochs: Int?
    @Option(help: "Learning rate (default: the book's).") var lr: Float?
    @Option(name: .customLong("batch-size"), help: "Minibatch size (default: the book's).") var batchSize: Int?
    @Option(help: "Seed for initialisation, dropout and data order.") var seed: UInt64 = 0
    @Option(help: "sgd, adam or adamw (default: the book's).") var optimizer: String?
    @Option(name: .customLong("warmup-steps"), help: "Warmup steps of the schedule (default: the preset's, 0 in the book).")
    var warmupSteps: Int?
    @Option(help: "constant, noam or cosine (default: the preset's, constant in the book).") var schedule: String?
    @Option(help: "Gradient clipping threshold θ (default: the book's, 1; 0 turns clipping off).") var clip: Float?
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε (not in the book; default: the preset's).") var labelSmoothing:
        Float?
    @Option(name: .customLong("adam-beta2"), help: "Adam's β2 (default: the preset's, PyTorch's 0.999).") var adamBeta2: Float?
    @Option(name: .customLong("adam-eps"), help: "Adam's ε (default: the preset's, PyTorch's 1e-8).") var adamEps: Float?
    @Option(
        name: .customLong("weight-decay"),
        help: "AdamW's decoupled weight decay, or Adam's L2 penalty (default: the recipe's; PyTorch's 0.01 for AdamW, 0 for Adam).")
    var weightDecay: Float?
    @Option(help: "Checkpoint file (default: runs/<recipe>.safetensors; missing folders are created).") var checkpoint: String?
    @Option(
        help: ArgumentHelp(
            "Stop after this many optimiser steps in all, the last epoch ending early (the schedule spans them); for the recipes that train through the shared trainer: the language models, seq2seq, bahdanau, transformer and nli.",
            valueName: "n")) var steps: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Epochs between checkpoints.") var checkpointEvery = 25
    @Flag(help: "Continue from the checkpoint.") var resume = false
    @Option(
        name: .customLong("init-from"),
        help:
            "Start from these weights (a Dive checkpoint, or a PyTorch state_dict in the book's module layout saved with safetensors) instead of the initialisation; fine-tunes with a fresh optimiser."
    ) var initFrom: String?
    @Option(help: "Write one JSON object per epoch to this file.") var log: String?
    @Option(
        help:
            "Write the training curve to this SVG file, and the book's other figures (attention heatmaps, ...) beside it as <name>-<figure>.svg."
    ) var plot: String?
    @Option(
        help: ArgumentHelp(
            "Also write TensorBoard event files to this folder (created if missing): per epoch the --log figures under their names (loss, perplexity, tokens_per_s, lr), per step the learning rate as step/lr.",
            valueName: "dir")) var tensorboard: String?
    @Option(help: "zh (Chinese 2.0 edition, default), en (English v1.0 settings) or paper (transformer: the paper's training).")
    var preset = "zh"
    @Option(name: .customLong("data-dir"), help: "Data directory (default: $DIVE_DATA, else ~/.cache/dive).") var dataDir: String?
    @OptionGroup(title: "Your own text (language models)") var textOptions: TextOptions
    @OptionGroup(title: "Your own sentence pairs (translation) and SNLI (nli)") var pairsOptions: PairsOptions
    @OptionGroup(title: "Held-out data (language models, translation, nli)") var heldOutOptions: HeldOutOptions
    @Option(help: "Beam width for seq2seq translations (1: greedy).") var beam = 1
    @Option(name: .customLong("length-penalty"), help: "Beam-search length penalty α (the book's 9.8 uses 0.75).") var lengthPenalty = 0.0
    @Flag(
        help:
            "Data-parallel training over MPI: run under `mpirun -np N`; each rank trains on its rows of every minibatch (needs a build with --traits MPI)."
    ) var distributed = false
    @Option(
        name: .customLong("parameter-digests"),
        help: ArgumentHelp(
            "Folder for rank-<r>.txt: a digest of the parameters after every step (checks that data-parallel replicas stay identical).",
            visibility: .hidden)) var parameterDigests: String?
    @Flag(
        help: "After training, print what a minibatch of the last epoch cost the device: kernel launches per op family, transfers, waits.")
    var trace = false
    @Option(help: "On CUDA devices, queue each training step as one CUDA graph (on) or launch by launch (off).") var graphs = OnOff.on

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let comm: Communicator = distributed ? try reportingZooErrors { try Distributed.world() } : SingleProcess()
        try reportingZooErrors(across: comm) {
            let r = try RecipeRegistry.recipe(named: recipe)
            var o = RunOptions()
            o.communicator = comm
            o.parameterDigests = parameterDigests.map { URL(fileURLWithPath: $0) }
            o.stepGraphs = graphs == .on
            o.device = try deviceOption.one(rankOf: comm)
            let allowed = r.presets.map(\.rawValue).joined(separator: ", ")
            guard let edition = BookEdition(rawValue: preset), r.presets.contains(edition) else {
                throw ZooError.invalidOption("--preset for \(r.name) must be one of \(allowed), not '\(preset)'")
            }
            o.preset = edition
            o.seed = seed
            if let epochs {
                try require((1...1_000_000).contains(epochs), "--epochs must be in 1…1000000 (got \(epochs))"); o.override(\.epochs, epochs)
            }
            if let lr { try require(lr.isFinite && lr > 0, "--lr must be a positive number (got \(lr))"); o.override(\.lr, lr) }
            if let batchSize {
                try require((1...1_000_000).contains(batchSize), "--batch-size must be in 1…1000000 (got \(batchSize))")
                o.override(\.batchSize, batchSize)
            }
            try require(checkpointEvery >= 1, "--checkpoint-every must be at least 1 (got \(checkpointEvery))")
            if let steps {
                try require(steps >= 1, "--steps must be at least 1 (got \(steps))")
                try require(
                    r is LanguageModelRecipe || r is any TranslationRecipe || r is NLIRecipe,
                    "--steps is for the recipes that train through the shared trainer (the language models, seq2seq, bahdanau, transformer, nli), not \(r.name)"
                )
                o.steps = steps
            }
            try require((1...maxBeam).contains(beam), "--beam must be in 1…\(maxBeam) (got \(beam))")
            try require(lengthPenalty.isFinite && lengthPenalty >= 0, "--length-penalty must be a number ≥ 0 (got \(lengthPenalty))")
            if let adamBeta2 { try require(adamBeta2 > 0 && adamBeta2 < 1, "--adam-beta2 must be in (0, 1) (got \(adamBeta2))") }
            if let adamEps { try require(adamEps.isFinite && adamEps > 0, "--adam-eps must be a positive number (got \(adamEps))") }
            if let weightDecay { try require(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be ≥ 0 (got \(weightDecay))") }
            if let optimizer {
                guard let k = OptimizerKind(rawValue: optimizer) else {
                    throw ZooError.invalidOption("--optimizer must be sgd, adam or adamw, not '\(optimizer)'")
                }
                o.override(\.optimizer, k)
            }
            if let schedule {
                guard let s = ScheduleKind(rawValue: schedule) else {
                    throw ZooError.invalidOption("--schedule must be constant, noam or cosine, not '\(schedule)'")
                }
                o.override(\.schedule, s)
            }
            if let warmupSteps {
                guard warmupSteps >= 0 else { throw ZooError.invalidOption("--warmup-steps must be at least 0 (got \(warmupSteps))") }
                o.override(\.warmupSteps, warmupSteps)
            }
            if let clip {
                try require(clip.isFinite && clip >= 0, "--clip must be a number ≥ 0 (0 turns clipping off; got \(clip))")
                o.override(\.clip, clip > 0 ? clip : nil)
            }
            if let labelSmoothing {
                guard labelSmoothing >= 0 && labelSmoothing < 1 else {
                    throw ZooError.invalidOption("--label-smoothing must be in [0, 1) (got \(labelSmoothing))")
                }
                o.override(\.labelSmoothing, labelSmoothing)
            }
            if let adamBeta2 { o.override(\.adamBeta2, adamBeta2) }
            if let adamEps { o.override(\.adamEps, adamEps) }
            if let weightDecay { o.override(\.weightDecay, weightDecay) }
            o.dataDirectory = DataDirectory(explicitPath: dataDir)
            try heldOutOptions.apply(to: &o, recipe: r)
            let dataLines = [try textOptions.apply(to: &o, recipe: r), try pairsOptions.apply(to: &o, recipe: r)].compactMap { $0 }
            o.checkpoint = URL(fileURLWithPath: checkpoint ?? "runs/\(r.name).safetensors")
            o.checkpointEvery = checkpointEvery
            o.resume = resume
            o.initFrom = initFrom.map { URL(fileURLWithPath: $0) }
            o.metricsLog = log.map { URL(fileURLWithPath: $0) }
            o.plot = plot.map { URL(fileURLWithPath: $0) }
            if comm.isRoot, let url = o.plot { try FigureFile.prepare(url, flag: "--plot") }
            o.tensorboard = tensorboard.map { URL(fileURLWithPath: $0) }
            if comm.isRoot, let url = o.tensorboard { try TensorBoardLog.prepare(url) }
            o.beam = beam; o.lengthPenalty = lengthPenalty
            o.progress = comm.isRoot ? ProgressDisplay(isTerminal: comm.size > 1 ? false : nil) : nil  // mpirun gives ranks a pty
            let flag = InterruptFlag()
            o.interrupt = flag
            InterruptHandler.install(flag)
            let h = o.resolve(r.defaults(edition))
            let ranks = comm.size > 1 ? ", \(comm.size) ranks" : ""
            if comm.isRoot && r.name != "numerics" && h.epochs > 0 {
                var extras = ""
                if let s = h.schedule, s != .constant { extras += ", schedule \(s.rawValue) (warmup \(h.resolvedWarmupSteps))" }
                if let e = h.labelSmoothing, e > 0 { extras += ", label smoothing \(e)" }
                if h.adamBeta2 != nil || h.adamEps != nil { extras += ", Adam β2 \(h.adamBeta2 ?? 0.999) ε \(h.adamEps ?? 1e-8)" }
                if let d = h.weightDecay { extras += ", weight decay \(d)" }
                print(
                    "\(r.name) (\(edition == .en ? r.listing.enSection : r.listing.section), \(edition.rawValue)): \(h.epochs) epochs\(o.steps.map { " (at most \($0) steps)" } ?? ""), lr \(h.lr), batch \(h.batchSize), \(h.optimizer.rawValue), clip \(h.clip.map { "\($0)" } ?? "off")\(extras), device \(o.device)\(ranks)"
                )
                for line in dataLines { print(line) }
            }
            fflush(nil)
            let report = try r.run(o)
            guard comm.isRoot else { return }
            for line in report.lines { print(line) }
            if trace { printTrace(report.history.last, device: o.device) }
            if let plot {
                let url = URL(fileURLWithPath: plot)
                if !report.history.isEmpty { try SVGPlot.write(report, recipe: r.name, to: url); print("wrote \(url.path)") }
                for (name, svg) in report.figures {
                    let figure = url.deletingPathExtension().path + "-\(name).svg"
                    try FigureFile.write(svg, to: URL(fileURLWithPath: figure))
                    print("wrote \(figure)")
                }
            }
        }
    }
}

/// `--trace`: the last epoch's device cost per minibatch (and its blocking reads per epoch).
func printTrace(_ record: EpochRecord?, device: Device) {
    guard let record, let t = record.trace, record.minibatches > 0 else {
        print("trace: this recipe's trainer records no device trace"); return
    }
    print("trace (\(device), epoch \(record.epoch + 1), \(record.minibatches) minibatches):")
    let units = (try? Backends.backend(for: device)).map {
        ($0 as? KernelBackend)?.limits.computeUnits ?? ProcessInfo.processInfo.activeProcessorCount
    }
    if let cores = record.cores { print("  cores: \(cores)") }
    for line in t.report(per: record.minibatches, computeUnits: units) { print("  " + line) }
    print("  blocking reads per epoch: \(t.downloads.blocking)")
}
