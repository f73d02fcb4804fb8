// `--tensorboard DIR`: a run's scalars as a TensorBoard event file in DIR, beside the JSON metrics
// log and under its field names, so that the two compare. Per epoch, at step = the epoch from 1
// (the log's "epoch"): `loss`, `perplexity` where the record has it, `tokens_per_s`, `lr`, and
// `validation` (the held-out figure) where a program set it. Per optimiser step, at the step's
// number: the learning rate as `step/lr` (a host value; nothing per step reads the device).
// Events are queued in memory and written at each epoch's end (`flush`), with POSIX writes so that
// a full disk is named in the system's words. Every run writes a new file,
// events.out.tfevents.<unix seconds>.<hostname>; a resumed run's file starts after the
// checkpoint's epoch, and TensorBoard drops the steps of an earlier file that a later one repeats.
import Dive
import Foundation

/// A TensorBoard event file of scalars (what `dive train --tensorboard DIR` writes): per epoch the
/// figures of the JSON metrics log under its names, per step the learning rate as `step/lr`.
public final class TensorBoardLog {
    /// The event file being written.
    public let file: URL
    private let descriptor: Int32
    private var pending: [UInt8] = []

    /// Checks `folder` before any work starts: it is, or is created as, a folder this process can
    /// write in. Otherwise throws `ZooError.invalidOption` with its path and the reason, having
    /// written nothing.
    public static func prepare(_ folder: URL) throws {
        let target = folder.resolvingSymlinksInPath()
        var info = stat()
        if lstat(target.path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw refused(folder, "it is \(AtomicFile.kind(of: info.st_mode)); give the folder to write the event files in")
            }
        } else {
            // The missing folders from the outermost in, each with mkdir(2), so that a failure gives the system's reason.
            var missing: [URL] = [], ancestor = target
            while lstat(ancestor.path, &info) != 0 && ancestor.path != "/" {
                missing.append(ancestor)
                ancestor = ancestor.deletingLastPathComponent()
            }
            for url in missing.reversed() {
                guard mkdir(url.path, 0o755) == 0 || errno == EEXIST else {
                    throw refused(folder, "cannot create \(url.path == target.path ? "it" : url.path) (\(AtomicFile.reason(errno)))")
                }
            }
        }
        guard access(target.path, W_OK | X_OK) == 0 else { throw refused(folder, "it is not writable (\(AtomicFile.reason(errno)))") }
    }

    /// Creates a new event file in `folder` (the folder too, if missing), named
    /// `events.out.tfevents.<unix seconds>.<hostname>` (with `.1`, `.2`, … when that name is
    /// taken), and queues its first event.
    public init(folder: URL, wallTime: Double = Date().timeIntervalSince1970) throws {
        try Self.prepare(folder)
        let created = try Self.create(in: folder, base: "events.out.tfevents.\(Int64(wallTime)).\(Self.hostname)")
        file = created.url
        descriptor = created.descriptor
        pending = EventRecordFraming.record(TensorBoardEvent.first(wallTime: wallTime))
    }

    /// Queues one event at `step` holding `scalars` as TensorBoard's float32 scalar values.
    public func add(_ scalars: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        guard !scalars.isEmpty else { return }
        let event = TensorBoardEvent.scalars(scalars.map { ($0.tag, Float($0.value)) }, step: Int64(step), wallTime: wallTime)
        pending += EventRecordFraming.record(event)
    }

    /// Queues an epoch's figures at step `record.epoch + 1`, under the JSON metrics log's names.
    public func add(_ record: EpochRecord) { add(Self.scalars(record), step: record.epoch + 1) }

    /// Writes the queued events to the file; throws `ZooError.invalidOption` with the system's
    /// reason ("No space left on device") when it cannot.
    public func flush() throws {
        // What was written leaves the queue even when a later write fails, so a retry appends only the rest.
        var offset = 0
        defer { pending.removeFirst(offset) }
        while offset < pending.count {
            let n = pending[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            guard n > 0 else {
                throw ZooError.invalidOption(
                    "cannot write the TensorBoard events \(file.path): \(AtomicFile.reason(n < 0 ? errno : ENOSPC))")
            }
            offset += n
        }
    }

    /// The figures of `record` that the log holds, by the JSON metrics log's names, in its order.
    static func scalars(_ record: EpochRecord) -> [(tag: String, value: Double)] {
        var scalars: [(tag: String, value: Double)] = [("loss", record.loss)]
        if let p = record.perplexity { scalars.append(("perplexity", p)) }
        scalars += [("tokens_per_s", record.tokensPerSecond), ("lr", record.lr)]
        if let v = record.validation { scalars.append(("validation", v)) }
        if let g = record.gradientNorm { scalars.append(("grad_norm", g)) }
        return scalars
    }

    /// Opens a new file `base` in `folder`, or `base.1`, `base.2`, … when it exists.
    private static func create(in folder: URL, base: String) throws -> (url: URL, descriptor: Int32) {
        for n in 0..<1000 {
            let url = folder.appendingPathComponent(n == 0 ? base : "\(base).\(n)")
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 { return (url, fd) }
            guard errno == EEXIST else {
                throw refused(folder, "cannot create \(url.lastPathComponent) in it (\(AtomicFile.reason(errno)))")
            }
        }
        throw refused(folder, "cannot create \(base) in it: 1000 files of that name exist")
    }

    /// This machine's name, as TensorBoard's own writers put it in file names.
    private static var hostname: String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty ? "localhost" : name.replacingOccurrences(of: "/", with: "_")
    }

    private static func refused(_ folder: URL, _ why: String) -> ZooError { .invalidOption("--tensorboard \(folder.path): \(why)") }

    deinit {
        try? flush()
        close(descriptor)
    }
}
