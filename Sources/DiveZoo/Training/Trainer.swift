// The training loop of every recipe, once: per minibatch zero-grad, forward and loss (the task's),
// backward, the gradients summed over the ranks of a data-parallel run, clipping, the optimiser's
// step and the schedule; per epoch the loss read once, the task's evaluation, the metrics log (and
// TensorBoard's), progress and a checkpoint (and, with `--keep best`, the best held-out epoch's);
// resumption from a checkpoint and a clean stop on Ctrl-C.
// Under `--distributed` each rank trains on its rows of every global minibatch and rank 0 alone
// writes checkpoints, logs and progress. On the CPU the rows are further cut into shards run on
// the cores (`BatchSplit`) where the task can replicate its model. A program's own loop runs it on any task (`CustomTask`
// for any model and batches) for a number of steps, with callbacks after each step and epoch.
// `run` reads as its phases (a `Session`): start, resume, then per epoch begin, step, end; finish.
import Dive
import DiveData
import DiveDistributed
import DiveNN
import Foundation
import Logging

let trainingLog = Logger(label: "dive.train")

/// The training loop every recipe shares: a task's minibatches, loss and optimiser steps, with
/// clipping, the schedule, per-epoch evaluation, log, checkpoints, resumption and data parallelism.
public final class Trainer<Task: TrainingTask> {
    /// What is trained: the model, its data and its loss.
    public let task: Task
    /// The settings trained with: epochs, learning rate, optimiser, clipping, schedule.
    public let hyper: Hyperparameters
    /// The run's options: device, seed, checkpoint and resumption, log, progress, interrupt flag,
    /// communicator.
    public let options: RunOptions

    /// Called after every step with its number (from 1), learning rate and loss (a one-element
    /// device tensor: reading it is a blocking read, so read it only now and then).
    public var onStep: ((_ step: Int, _ lr: Float, _ loss: Tensor?) throws -> Void)?
    /// Called after every epoch's own evaluation, before the epoch is logged: the place for a
    /// held-out figure (`record.validation`, see `Evaluation`).
    public var onEpoch: ((inout EpochRecord) throws -> Void)?

    /// A trainer of `task` with `hyper` and `options`; nothing runs until `run`.
    public init(_ task: Task, hyper: Hyperparameters, options: RunOptions = RunOptions()) {
        self.task = task; self.hyper = hyper; self.options = options
    }

    /// Trains for `hyper.epochs`, or for `steps` optimiser steps when given (the last epoch then
    /// ends where the budget does, and the schedule spans the budget), from the checkpoint's
    /// position with `options.resume`. Returns the epochs trained by this call.
    public func run(steps budget: Int? = nil) throws -> [EpochRecord] {
        if let budget, budget < 1 { throw ZooError.invalidOption("a step budget must be at least 1, not \(budget)") }
        let session = try Session(self, budget: budget)
        defer { session.finish() }
        try session.resume()
        for epoch in session.position.epoch..<max(session.epochs, session.position.epoch) {
            var tally = try session.beginEpoch(epoch)
            while budget.map({ session.step < $0 }) ?? true, let batch = task.nextBatch() {
                try session.step(batch, &tally)
            }
            try session.endEpoch(tally)
        }
        return session.history
    }
}

/// The figures of the epoch under way; a checkpoint taken mid-epoch stores them (`PartialEpoch`).
private struct EpochTally {
    let epoch: Int
    let loss: EpochLoss
    /// The sum of the steps' gradient norms, when the run writes TensorBoard events, and its steps
    /// (this call's: a resumed epoch's earlier steps are not in it).
    let gradientNorm: EpochLoss?
    var normedSteps = 0
    var count: Int, minibatches: Int, correct: Int, countsCorrect: Bool
    /// Where the epoch's time, device cost and all-reduce cost are counted from.
    let firstStep: Int, t0: Double, trace0: DeviceTrace, reduce0: (seconds: Double, bytes: Int, calls: Int)
}

/// One call of `Trainer.run`, in its phases: the start (optimiser, checkpoint file, initial
/// weights), `resume` (from a checkpoint, and every rank from rank 0), then per epoch
/// `beginEpoch`, a `step` per minibatch and `endEpoch` (the one host read, the evaluation, the log,
/// a checkpoint), and `finish`.
private final class Session<Task: TrainingTask> {
    let task: Task, hyper: Hyperparameters, options: RunOptions
    let onStep: ((Int, Float, Tensor?) throws -> Void)?, onEpoch: ((inout EpochRecord) throws -> Void)?
    let budget: Int?
    let backend: Backend
    let parallel: DataParallel
    var comm: Communicator { parallel.comm }
    /// On the CPU, each minibatch's rows split across the cores (nil: the steps split ops).
    let batchSplit: BatchSplit<Task>?
    let model: Module, params: [Tensor]
    let optimizer: Optimizer
    var position: LoaderPosition
    var step = 0
    /// The step the run starts from (a checkpoint's, on resuming).
    var firstStep = 0
    var resumed = false
    /// The figures of an epoch a checkpoint stopped mid-way, and the task's carried state then.
    var partial: PartialEpoch?, restored = false
    var epochs = 0
    var schedule: LRSchedule = ConstantLR(0)
    var log: MetricsLog?
    var tensorboard: TensorBoardLog?
    var progress: ProgressDisplay?
    var digests: ParameterDigests?
    var lastCheckpoint: String?
    /// The best held-out figure so far, kept in `options.bestCheckpoint` (`--keep best`).
    var best: Double?
    var history: [EpochRecord] = []

    /// The start: the optimiser, the checkpoint file's folder checked, initial weights (`--init-from`).
    init(_ trainer: Trainer<Task>, budget: Int?) throws {
        task = trainer.task; hyper = trainer.hyper; options = trainer.options
        onStep = trainer.onStep; onEpoch = trainer.onEpoch
        self.budget = budget
        backend = try task.model.backend ?? options.backend  // the model's device (a program's own model may be anywhere)
        parallel = DataParallel(options.communicator)
        batchSplit = try BatchSplit.make(task, on: backend)
        // Ranks sharing the cores would time each other: a data-parallel run takes what is cached.
        if backend is CPUBackend, options.communicator.size == 1 { try CPUBackend.tuneSplitThresholdsIfNeeded() }
        model = task.model
        params = model.parameters
        optimizer = try Training.makeOptimizer(hyper, params)
        position = LoaderPosition(epoch: 0, batchIndex: 0, rng: DataRNG(seed: options.seed))
        lastCheckpoint = options.resume ? options.checkpoint?.path : nil
        if parallel.comm.isRoot, let url = options.checkpoint {
            do { try AtomicFile.prepare(url) } catch let error as AtomicFileError {
                throw ZooError.invalidOption("--checkpoint \(url.path): \(error.reason)")
            }
        }
        if parallel.comm.isRoot, let url = options.bestCheckpoint {
            do { try AtomicFile.prepare(url) } catch let error as AtomicFileError {
                throw ZooError.invalidOption("--keep best \(url.path): \(error.reason)")
            }
        }
        if parallel.comm.isRoot, let url = options.initFrom {
            guard !options.resume else {
                throw ZooError.invalidOption("--init-from and --resume exclude each other: resuming restores the weights")
            }
            try Checkpoint.load(SafeTensorsFile.read(from: url), path: url.path, into: model)
            trainingLog.debug("initialised from \(url.path)")
        }
    }

    /// Start, or resume on rank 0 from the checkpoint; then every rank takes rank 0's state, the
    /// data goes to its position, and the schedule, log and progress are set up.
    func resume() throws {
        var carried: [String: SafeTensor] = [:]
        if comm.isRoot, let folder = options.checkpoint?.deletingLastPathComponent() { AtomicFile.removeStale(in: folder) }
        if comm.isRoot, options.resume, let url = options.checkpoint {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ZooError.invalidOption("--resume: there is no checkpoint at \(url.path); train without --resume to start anew")
            }
            resumed = true
            let file = try SafeTensorsFile.read(from: url)
            try task.checkCompatible(file.metadata, path: url.path)
            let info = try Checkpoint.load(file, path: url.path, into: model, optimizer: optimizer)
            position = try Training.decode(LoaderPosition.self, info.extra["position"], key: "position", path: url.path)
            step = info.step
            if position.batchIndex > 0 {  // a checkpoint taken mid-epoch (Ctrl-C, SIGTERM)
                partial = try info.extra["epoch_partial"].map {
                    try Training.decode(PartialEpoch.self, $0, key: "epoch_partial", path: url.path)
                }
                carried = info.carried
            }
            guard position.epoch < hyper.epochs || position.batchIndex > 0 else {
                throw ZooError.invalidOption(
                    "\(url.path) has already trained \(position.epoch) epochs; pass a larger --epochs to continue it")
            }
            // `--keep best` goes on from the best figure its file holds.
            best = options.bestCheckpoint.flatMap { try? SafeTensorsFile.read(from: $0).metadata["extra.validation"] }.flatMap(Double.init)
            trainingLog.debug("resumed from \(url.path) at step \(step), epoch \(position.epoch + 1)")
        }
        (step, position, partial) = try parallel.broadcastStart(
            model: model, optimizer: optimizer, step: step, position: position,
            partial: partial)
        firstStep = step
        do { try task.startData(at: position) } catch let error as DataError where resumed {
            throw ZooError.badCheckpoint(path: options.checkpoint?.path ?? "", detail: error.description)
        }
        // The carried state holds this process's rows; a data-parallel run starts the epoch's state anew.
        restored = comm.size == 1 && !carried.isEmpty
        if restored { try task.restore(carriedState: carried) }
        if comm.size > 1 { trainingLog.debug("rank \(comm.rank) of \(comm.size): \(params.count) parameters, one all-reduce per step") }

        epochs = budget.map { ($0 + task.batchesPerEpoch - 1) / max(task.batchesPerEpoch, 1) } ?? hyper.epochs
        schedule = try Training.makeSchedule(
            hyper.resolvedSchedule, lr: hyper.lr, finalLR: hyper.finalLR, warmup: hyper.resolvedWarmupSteps,
            totalSteps: budget ?? epochs * task.batchesPerEpoch, width: task.width)
        log = comm.isRoot ? try MetricsLog(options.metricsLog, keepEpochs: resumed ? position.epoch : nil) : nil
        tensorboard = comm.isRoot ? try options.tensorboard.map { try TensorBoardLog(folder: $0) } : nil
        progress = comm.isRoot ? options.progress : nil
        progress?.unit = task.unit
        digests = try options.parameterDigests.map { try ParameterDigests(folder: $0, rank: comm.rank) }
    }

    /// An epoch's figures from zero, or from where a checkpoint stopped it mid-way (with the task's
    /// carried state). The epoch's device cost runs from here to its evaluation: the loss sum's
    /// zeroing, every step, the one host read and whatever the task does at the epoch's end.
    func beginEpoch(_ epoch: Int) throws -> EpochTally {
        let resumedHere = epoch == position.epoch && position.batchIndex > 0 ? partial : nil
        let trace0 = backend.trace
        if !(epoch == position.epoch && restored) { task.beginEpoch() }
        return EpochTally(
            epoch: epoch, loss: try EpochLoss(on: backend, start: resumedHere?.lossSum ?? 0),
            gradientNorm: tensorboard == nil ? nil : try EpochLoss(on: backend),
            count: resumedHere?.count ?? 0, minibatches: resumedHere?.minibatches ?? 0,
            correct: resumedHere?.correct ?? 0, countsCorrect: (resumedHere?.correct ?? 0) > 0,
            firstStep: step, t0: Training.now(), trace0: trace0,
            reduce0: (parallel.reduceSeconds, parallel.reduceBytes, parallel.reduceCalls))
    }

    /// One minibatch: zero-grad, this rank's loss and backward, the gradients summed over the
    /// ranks, clipping and the optimiser's step; then the callbacks, progress, and on Ctrl-C a
    /// checkpoint of the epoch so far.
    func step(_ batch: Task.Batch, _ tally: inout EpochTally) throws {
        let shard = comm.shard(rows: batch.batchSize)
        if comm.size > 1, batchSplit == nil { model.randomStream.shard = RowShard(rows: shard, globalRows: batch.batchSize) }
        optimizer.lr = schedule.lr(at: step)
        var interrupted = options.interrupt?.isRaised == true
        var stepLoss: Tensor?
        // One process: the step may go to the device as one graph (CUDA). Data-parallel steps read
        // their gradients back mid-step, so they run as they come.
        func body() throws {
            optimizer.zeroGrad()
            if !shard.isEmpty {
                let outs: [StepLoss]
                if let batchSplit {
                    outs = try batchSplit.forwardBackward(batch, rows: shard)
                } else {
                    outs = [try task.loss(comm.size > 1 ? batch.rows(shard) : batch, globalRows: batch.batchSize)]
                    try outs[0].loss.backward()
                }
                if onStep != nil {
                    stepLoss = try Autograd.withoutGrad { try outs.dropFirst().reduce(outs[0].loss.detached()) { try $0 + $1.loss } }
                }
                for out in outs {
                    try tally.loss.add(out.loss, weight: out.toSum)
                    if let c = out.correct { tally.correct += c; tally.countsCorrect = true }
                }
            }
            if comm.size > 1 { interrupted = try parallel.reduceGradients(params, flag: interrupted) }
            if let sum = tally.gradientNorm {
                try sum.add(Autograd.withoutGrad { try Tensor.globalNorm(params.compactMap(\.grad)) })
                tally.normedSteps += 1
            }
            let scale = try hyper.clip.flatMap { try GradientClipping.scale(params, maxNorm: $0) }
            try optimizer.step(gradScale: scale)
        }
        // A rank's step waits on the others inside it (the all-reduce), so it cannot be one graph.
        try backend.runStep(asGraph: options.stepGraphs && comm.size == 1, body)
        step += 1
        if step == firstStep + 1 { trainingLog.debug("step \(step) done, the first of this run") }
        tensorboard?.add([("step/lr", Double(optimizer.lr))], step: step)  // queued; written at the epoch's end
        try onStep?(step, optimizer.lr, stepLoss)
        try digests?.append(step: step, params)
        tally.minibatches += 1
        tally.count += task.count(batch)
        progress?.update(
            epoch: tally.epoch, of: epochs, loss: nil,
            tokensPerSecond: Double(tally.count) / max(Training.now() - tally.t0, 1e-9))
        if interrupted {
            let sums = try parallel.reduceSums([try tally.loss.read(), Double(tally.correct)])
            try save(partial: PartialEpoch(lossSum: sums[0], count: tally.count, correct: Int(sums[1]), minibatches: tally.minibatches))
            throw ZooError.interrupted(step: step, checkpoint: options.checkpoint?.path, signal: options.interrupt?.signal ?? SIGINT)
        }
    }

    /// The epoch's one host read (its summed loss and correct rows, over every rank), its record,
    /// the task's evaluation and the program's, the log, progress and the checkpoint.
    func endEpoch(_ tally: EpochTally) throws {
        let sums = try parallel.reduceSums([try tally.loss.read(), Double(tally.correct)])
        guard sums[0].isFinite else {
            throw ZooError.nonFiniteLoss(
                steps: tally.firstStep...max(tally.firstStep, step - 1), epoch: tally.epoch, value: sums[0],
                lastCheckpoint: lastCheckpoint)
        }
        let seconds = Training.now() - tally.t0
        var record = EpochRecord(
            epoch: tally.epoch, loss: sums[0] / Double(max(tally.count, 1)), perplexity: nil,
            tokensPerSecond: Double(tally.count) / max(seconds, 1e-9), lr: Double(optimizer.lr),
            seconds: seconds, minibatches: tally.minibatches, trace: nil)
        record.count = tally.count
        if tally.countsCorrect || sums[1] > 0 { record.trainAccuracy = sums[1] / Double(max(tally.count, 1)) }
        if let norms = tally.gradientNorm, tally.normedSteps > 0 { record.gradientNorm = try norms.read() / Double(tally.normedSteps) }
        if comm.size > 1 {
            record.allReduce = AllReduceCost(
                seconds: parallel.reduceSeconds - tally.reduce0.seconds,
                bytes: parallel.reduceBytes - tally.reduce0.bytes, calls: parallel.reduceCalls - tally.reduce0.calls)
        }
        if backend is CPUBackend {
            record.cores =
                batchSplit.flatMap { $0.shards > 1 ? .batchSplit(shards: $0.shards, threads: min(CPUBackend.threadCount, $0.shards)) : nil }
                ?? .opSplit(threads: CPUBackend.threadCount)
        }
        try task.evaluate(&record)
        record.trace = backend.trace - tally.trace0
        try onEpoch?(&record)
        trainingLog.debug(
            "epoch \(tally.epoch + 1): loss \(record.loss), \(record.tokensPerSecond) \(task.unit), \(tally.minibatches) minibatches")
        history.append(record)
        try log?.write(record, recipe: task.recipe)
        tensorboard?.add(record)
        try tensorboard?.flush()
        progress?.endEpoch(record, of: epochs, metric: task.metric(record))
        if let v = record.validation, v.isFinite, let url = options.bestCheckpoint,
            best.map({ task.lowerValidationIsBetter ? v < $0 : v > $0 }) ?? true
        {
            best = v
            try save(to: url, validation: v)
        }
        if (tally.epoch + 1) % max(options.checkpointEvery, 1) == 0 || tally.epoch + 1 == epochs { try save() }
    }

    /// The end of the call, however it ends: dropout goes back to drawing whole minibatches, and
    /// the steps of an epoch stopped mid-way go to TensorBoard's file.
    func finish() {
        model.randomStream.shard = nil
        try? tensorboard?.flush()
    }

    /// Writes the checkpoint (rank 0); `partial`: the figures so far of an epoch stopped mid-way;
    /// `target`: another file than `options.checkpoint` (the best epoch's, with its `validation`).
    func save(partial: PartialEpoch? = nil, to target: URL? = nil, validation: Double? = nil) throws {
        guard let url = target ?? options.checkpoint else { return }
        if comm.isRoot {
            var extra = try task.checkpointMetadata()
            extra["recipe"] = task.recipe
            extra["position"] = try Training.json(task.position)
            extra["hyper"] = try Training.json(hyper)
            if let validation { extra["validation"] = "\(validation)" }
            var carried: [String: SafeTensor] = [:]
            if let partial {
                extra["epoch_partial"] = try Training.json(partial)
                if comm.size == 1 { carried = try task.carriedState() }
            }
            try Checkpoint.save(
                to: url, model: model, optimizer: optimizer,
                info: CheckpointInfo(step: step, extra: extra, carried: carried))
            trainingLog.debug("checkpoint \(url.path) at step \(step)")
        }
        if target == nil { lastCheckpoint = url.path }
    }
}

/// `--parameter-digests`: one line per step, "<step> <FNV-1a 64 of every parameter's float bits>".
final class ParameterDigests {
    private let handle: FileHandle

    init(folder: URL, rank: Int) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("rank-\(rank).txt")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw ZooError.invalidOption("cannot create \(url.path)")
        }
        handle = try FileHandle(forWritingTo: url)
    }

    func append(step: Int, _ params: [Tensor]) throws {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for p in params {
            for x in try p.toArray() {
                var bits = x.bitPattern
                for _ in 0..<4 { h = (h ^ UInt64(bits & 0xff)) &* 0x100_0000_01b3; bits >>= 8 }
            }
        }
        handle.write(Data("\(step) \(String(h, radix: 16))\n".utf8))
    }

    deinit { try? handle.close() }
}
