// A big text of one's own is tokenised once: its token file is kept under Dive's cache
// (DIVE_CACHE/text), named after the text's path and tokenisation and holding the text's
// fingerprint (sizes, modification times, first and last MiB), so that the next run on the same
// text maps the ids and starts at once. Written atomically; a stale or corrupt file is rebuilt.
import Dive
import DiveData
import Foundation
import Logging

/// The token files of big texts under `CacheFolder.root`'s `text` folder.
public enum TextCorpusCache {
    /// Texts of at least this many bytes (4 MiB) are cached; smaller ones tokenise in well under a second.
    public static let threshold = 4 << 20

    /// The corpus of the text at `url`: from its token file in `folder` when that holds the text as
    /// it is now with this tokenisation, else tokenised (two streaming passes, `progress` for each)
    /// into a new token file there (the folder made if missing), atomically, and mapped. A text
    /// under `threshold` bytes, or no folder, or a folder that cannot be made or written, reads
    /// into memory. Throws the `DataError`s of `TextTokenizer`.
    public static func corpus(
        reading url: URL, tokens: TokenKind = .char, minFreq: Int? = nil, folder: URL? = CacheFolder.root.appendingPathComponent("text"),
        threshold: Int = threshold, progress: ((TextProgress) -> Void)? = nil
    ) throws -> TextCorpus {
        let log = Logger(label: "dive.data")
        let minFreq = minFreq ?? TextCorpus.defaultMinFreq(tokens)
        let (fingerprint, bytes) = try TokenFile.fingerprint(of: url)
        guard bytes >= threshold, let folder,
            (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil
        else {
            return try TextCorpus(TextTokenizer(reading: url, tokens: tokens, minFreq: minFreq, progress: progress), progress: progress)
        }
        let file = self.file(for: url, tokens: tokens, minFreq: minFreq, in: folder)
        if FileManager.default.fileExists(atPath: file.path) {
            do {
                let corpus = try TokenFile.open(file, path: url.path, fingerprint: fingerprint, tokens: tokens, minFreq: minFreq)
                log.debug("\(url.path): tokens from \(file.path)")
                return corpus
            } catch {
                log.debug("\(url.path): tokenised anew: \(error)")
            }
        }
        let started = Date()
        let text = try TextTokenizer(reading: url, tokens: tokens, minFreq: minFreq, progress: progress)
        do {
            AtomicFile.removeStale(in: folder)
            try AtomicFile.write(to: file) { write in try TokenFile.write(text, fingerprint: fingerprint, progress: progress, to: write) }
            let seconds = Date().timeIntervalSince(started)
            log.debug(
                "\(url.path): \(text.count) tokens written to \(file.path) in \(String(format: "%.1f", seconds)) s (two passes over \(bytes >> 20) MiB)"
            )
            return try TokenFile.open(file, path: url.path, fingerprint: fingerprint, tokens: tokens, minFreq: minFreq)
        } catch let error as AtomicFileError {
            log.warning("\(url.path): the tokens are kept in memory, not cached: \(error)")
            return try TextCorpus(text, progress: progress)
        }
    }

    /// The token file of a text and tokenisation: `<SHA-1 of the absolute path, tokens and minimum frequency>.tokens`.
    static func file(for url: URL, tokens: TokenKind, minFreq: Int, in folder: URL) -> URL {
        let key = FileDigest.sha1(of: Array("\(url.standardizedFileURL.path)\0\(tokens.rawValue)\0\(minFreq)".utf8))
        return folder.appendingPathComponent("\(key.prefix(24)).tokens")
    }
}
