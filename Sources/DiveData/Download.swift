// Download.swift: fetching a URL (http, https or file) into the data directory safely:
// a temporary file next to the destination, SHA-1 check, then rename; nothing left on failure.
import Foundation
import Logging

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// How far a download has got.
public struct DownloadProgress: Sendable {
    /// The number of bytes received so far.
    public var bytesReceived: Int64
    /// The size announced by the server, if any.
    public var totalBytes: Int64?

    /// Progress after `bytesReceived` bytes of a download whose announced size is `totalBytes` (nil when unknown).
    public init(bytesReceived: Int64, totalBytes: Int64?) {
        self.bytesReceived = bytesReceived
        self.totalBytes = totalBytes
    }

    /// The completed fraction in [0, 1], when the size is known.
    public var fraction: Double? {
        guard let totalBytes, totalBytes > 0 else { return nil }
        return min(1, Double(bytesReceived) / Double(totalBytes))
    }
}

/// Called as bytes arrive (possibly from another thread).
public typealias DownloadProgressHandler = @Sendable (DownloadProgress) -> Void

/// Downloads with integrity checks.
public enum Download {
    /// Fetches `source` to `destination`. The bytes go to a hidden temporary file in the
    /// destination's folder; if the transfer fails or the SHA-1 differs from `sha1`, that file is
    /// deleted and an error thrown, so `destination` appears only complete and verified.
    /// `http`, `https` and `file` URLs are supported.
    public static func fetch(
        _ source: URL, to destination: URL, sha1: String?,
        progress: DownloadProgressHandler? = nil
    ) throws {
        let folder = destination.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).part")
        let fileManager = FileManager.default
        guard fileManager.createFile(atPath: temporary.path, contents: nil) else {
            throw DataError.downloadFailed(
                url: source.absoluteString, reason: "cannot write to \(folder.path)",
                destination: destination.path)
        }
        var keep = false
        defer { if !keep { try? fileManager.removeItem(at: temporary) } }

        let output: FileHandle
        do { output = try FileHandle(forWritingTo: temporary) } catch {
            throw DataError.downloadFailed(
                url: source.absoluteString, reason: "cannot write to \(folder.path)",
                destination: destination.path)
        }
        Logger(label: "dive.data").debug("downloading \(source.absoluteString) to \(destination.path)")
        var hasher = FileDigest()
        do {
            defer { try? output.close() }
            let sink: (Data) throws -> Void = { chunk in
                hasher.update(chunk)
                try output.write(contentsOf: chunk)
            }
            switch source.scheme?.lowercased() {
            case "file": try copyFile(source, to: sink, progress: progress)
            case "http", "https": try HTTPTransfer(source, sink: sink, progress: progress).run()
            default: throw TransferFailure("unsupported URL scheme \(source.scheme ?? "none")")
            }
        } catch let failure as TransferFailure {
            throw DataError.downloadFailed(url: source.absoluteString, reason: failure.reason, destination: destination.path)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.downloadFailed(
                url: source.absoluteString, reason: error.localizedDescription,
                destination: destination.path)
        }

        if let sha1 {
            let actual = hasher.hexDigest()
            guard actual == sha1.lowercased() else {
                throw DataError.checksumMismatch(
                    path: source.absoluteString, expected: sha1.lowercased(), actual: actual,
                    hint: "The download was corrupt or the file has changed, and has been deleted. "
                        + "Try again, or fetch it by hand and put it at \(destination.path).")
            }
        }
        do {
            if fileManager.fileExists(atPath: destination.path) { try fileManager.removeItem(at: destination) }
            try fileManager.moveItem(at: temporary, to: destination)
            keep = true
        } catch {
            throw DataError.downloadFailed(
                url: source.absoluteString,
                reason: "cannot rename the download (\(error.localizedDescription))",
                destination: destination.path)
        }
    }

    /// A ready-made progress handler that prints a percentage (or megabytes) to standard error,
    /// at most once per percent.
    public static func consoleProgress(label: String) -> DownloadProgressHandler {
        let last = LockedValue(-1)
        return { progress in
            let step = progress.fraction.map { Int($0 * 100) } ?? Int(progress.bytesReceived >> 20)
            guard last.exchange(step) != step else { return }
            let text = progress.fraction != nil ? "\(step)%" : "\(step) MiB"
            FileHandle.standardError.write(Data("\r\(label): \(text)".utf8))
            if progress.fraction == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }

    // MARK: Implementation

    private struct TransferFailure: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Streams a local file in 1 MiB chunks.
    private static func copyFile(_ source: URL, to sink: (Data) throws -> Void, progress: DownloadProgressHandler?) throws {
        guard let input = try? FileHandle(forReadingFrom: source) else { throw TransferFailure("cannot open \(source.path)") }
        defer { try? input.close() }
        let total = (try? FileManager.default.attributesOfItem(atPath: source.path)[.size] as? NSNumber)?.int64Value
        var received: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            try sink(chunk)
            received += Int64(chunk.count)
            progress?(DownloadProgress(bytesReceived: received, totalBytes: total))
        }
    }

    /// One HTTP(S) GET through URLSession, streamed to a sink, waited for synchronously.
    /// Safe to share: its mutable state is touched only on the session's serial delegate queue,
    /// and read after `finished` is signalled.
    private final class HTTPTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private let url: URL
        private let sink: (Data) throws -> Void
        private let progress: DownloadProgressHandler?
        private let finished = DispatchSemaphore(value: 0)
        // Touched only on the session's serial delegate queue, then read after `finished`.
        private var received: Int64 = 0
        private var total: Int64?
        private var failure: String?

        init(_ url: URL, sink: @escaping (Data) throws -> Void, progress: DownloadProgressHandler?) {
            self.url = url
            self.sink = sink
            self.progress = progress
        }

        func run() throws {
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = 1
            let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: queue)
            session.dataTask(with: url).resume()
            finished.wait()
            session.finishTasksAndInvalidate()
            if let failure { throw TransferFailure(failure) }
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
        ) {
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                failure = "HTTP status \(http.statusCode)"
                completionHandler(.cancel)
                return
            }
            total = response.expectedContentLength > 0 ? response.expectedContentLength : nil
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard failure == nil else { return }
            do {
                try sink(data)
                received += Int64(data.count)
                progress?(DownloadProgress(bytesReceived: received, totalBytes: total))
            } catch {
                failure = "cannot write the download (\(error.localizedDescription))"
                dataTask.cancel()
            }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            if failure == nil, let error { failure = error.localizedDescription }
            finished.signal()
        }
    }
}

/// A value shared between threads behind a lock.
final class LockedValue<Value>: @unchecked Sendable {  // Safe: every access holds `lock`.
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    /// Stores `newValue` and returns the old value.
    func exchange(_ newValue: Value) -> Value {
        lock.lock()
        defer { lock.unlock() }
        let old = value
        value = newValue
        return old
    }
}
