// DataDirectory.swift: where datasets live (--data-dir, DIVE_DATA, or the user's cache) and
// how a missing one is fetched: Dive's compiled-in copy (The Time Machine), or download, SHA-1 check, unpack.
import Foundation

/// The folder that holds the datasets.
///
/// Files already there are used as they are; a missing dataset is downloaded from the book's URL,
/// checked against its SHA-1 and, if it is a zip, unpacked next to it.
public struct DataDirectory: Sendable {
    /// The environment variable naming the data directory.
    public static let environmentVariable = "DIVE_DATA"

    /// The folder itself (it need not exist until something is downloaded into it).
    public var url: URL
    /// When false, a missing dataset is an error telling the user which file to put where.
    public var allowsDownload: Bool

    /// A data directory at `url` (standardised), downloading missing datasets unless `allowsDownload` is false.
    public init(url: URL, allowsDownload: Bool = true) {
        self.url = url.standardizedFileURL
        self.allowsDownload = allowsDownload
    }

    /// The data directory for a run: `explicitPath` (the CLI's `--data-dir`) if given, else
    /// `$DIVE_DATA`, else `$XDG_CACHE_HOME/dive`, else `~/.cache/dive`.
    /// `~` is expanded and relative paths are taken from the current directory.
    public static func resolve(
        explicitPath: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        func nonEmpty(_ value: String?) -> String? {
            guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return value
        }
        let home = nonEmpty(environment["HOME"]) ?? FileManager.default.homeDirectoryForCurrentUser.path
        func absolute(_ path: String) -> URL {
            var path = path
            if path == "~" || path.hasPrefix("~/") { path = home + path.dropFirst() }
            if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL }
            return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                .appendingPathComponent(path).standardizedFileURL
        }
        if let path = nonEmpty(explicitPath) { return absolute(path) }
        if let path = nonEmpty(environment[environmentVariable]) { return absolute(path) }
        // The XDG spec ignores relative values of XDG_CACHE_HOME.
        if let cache = nonEmpty(environment["XDG_CACHE_HOME"]), cache.hasPrefix("/") {
            return absolute(cache).appendingPathComponent("dive")
        }
        return absolute(home).appendingPathComponent(".cache").appendingPathComponent("dive")
    }

    /// `DataDirectory(url: resolve(explicitPath:environment:))`.
    public init(
        explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        allowsDownload: Bool = true
    ) {
        self.init(
            url: DataDirectory.resolve(explicitPath: explicitPath, environment: environment),
            allowsDownload: allowsDownload)
    }

    /// The local file of a dataset, fetched first if it is not there:
    /// 1. if one of `dataset.localFiles` exists, it is returned as it is;
    /// 2. otherwise a download the user put in the directory is checked; else Dive's compiled-in
    ///    copy is written there (The Time Machine, so the main job runs offline); else the dataset is
    ///    fetched to a temporary file and renamed once its SHA-1 matches; a zip is unpacked;
    /// 3. the first of `localFiles` is returned.
    /// On any failure the directory is left as it was, apart from a verified download.
    public func locate(_ dataset: RemoteDataset, progress: DownloadProgressHandler? = nil) throws -> URL {
        if let existing = existingLocalFile(dataset) { return existing }
        let fileManager = FileManager.default
        let download = url.appendingPathComponent(dataset.downloadFileName)
        let expected = url.appendingPathComponent(dataset.localFiles[0])

        if fileManager.fileExists(atPath: download.path) {
            // Placed by the user (our own downloads are only renamed into place once verified).
            let actual = try FileDigest.sha1(ofFile: download)
            guard actual == dataset.sha1 else {
                throw DataError.checksumMismatch(
                    path: download.path, expected: dataset.sha1, actual: actual,
                    hint: "Delete it so that it is downloaded again, or put the unpacked file at \(expected.path).")
            }
        } else if let bundled = try bundledCopy(dataset, at: expected) {
            return bundled
        } else {
            guard allowsDownload else {
                throw DataError.fileNotFound(
                    path: expected.path,
                    hint: "Downloads are off: put \(dataset.url.absoluteString) at \(download.path)"
                        + (dataset.isZipArchive ? ", or its unpacked contents at \(expected.path)." : "."))
            }
            do {
                try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw DataError.unreadable(path: url.path, reason: "cannot create the data directory (\(error.localizedDescription))")
            }
            do {
                try Download.fetch(dataset.url, to: download, sha1: dataset.sha1, progress: progress)
            } catch let DataError.downloadFailed(source, reason, destination) where dataset.isZipArchive {
                throw DataError.downloadFailed(
                    url: source, reason: reason,
                    destination: destination + " (or its unpacked contents at \(expected.path))")
            }
        }

        if dataset.isZipArchive {
            try ZipArchive(url: download).unpack(into: url)
        }
        guard fileManager.fileExists(atPath: expected.path) else {
            throw DataError.archive(path: download.path, reason: "it does not contain \(dataset.localFiles[0])")
        }
        return expected
    }

    /// The copy of `dataset` compiled into Dive (The Time Machine), written to `file`; or, where the
    /// data directory cannot be written (a read-only DIVE_DATA), to Dive's folder in the temporary
    /// directory. Nil when Dive carries no copy of the dataset.
    private func bundledCopy(_ dataset: RemoteDataset, at file: URL) throws -> URL? {
        do {
            return try BundledData.write(dataset, to: file) ? file : nil
        } catch let error as DataError {
            throw error
        } catch {
            let fallback = FileManager.default.temporaryDirectory.appendingPathComponent("dive-\(getuid())")
                .appendingPathComponent(file.lastPathComponent)
            do {
                return try BundledData.write(dataset, to: fallback) ? fallback : nil
            } catch {
                throw DataError.unreadable(
                    path: file.path,
                    reason: "cannot write Dive's copy of \(dataset.name) there or at \(fallback.path) (\(error.localizedDescription))")
            }
        }
    }

    /// The first of the dataset's local files that exists, if any.
    public func existingLocalFile(_ dataset: RemoteDataset) -> URL? {
        dataset.localFiles.lazy.map { url.appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
