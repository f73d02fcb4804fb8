// SHA-1 digests of downloads, through swift-crypto: the book publishes a SHA-1 for each dataset.
// SHA-1 is not collision resistant; here it is a checksum against corrupt transfers.
import Crypto
import Foundation

/// Incremental SHA-1 as lowercase hex: feed bytes with `update`, then read `hexDigest()`.
public struct FileDigest {
    private var hasher = Insecure.SHA1()

    /// An empty digest, before any bytes are fed in.
    public init() {}

    /// Feeds `bytes` into the running SHA-1.
    public mutating func update<Bytes: DataProtocol>(_ bytes: Bytes) { hasher.update(data: bytes) }

    /// The SHA-1 of all bytes fed so far, as 40 lowercase hex digits.
    public func hexDigest() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-1 of `bytes`.
    public static func sha1<Bytes: DataProtocol>(of bytes: Bytes) -> String {
        var d = FileDigest()
        d.update(bytes)
        return d.hexDigest()
    }

    /// The SHA-1 of a file, read in 1 MiB chunks.
    public static func sha1(ofFile url: URL) throws -> String {
        try requireRegularFile(url)
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        defer { try? handle.close() }
        var d = FileDigest()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
            }
            if chunk.isEmpty { break }
            d.update(chunk)
        }
        return d.hexDigest()
    }
}
