// SHA1.swift: a streaming SHA-1 (FIPS 180-4), used only to verify downloads against the
// digests the book publishes. SHA-1 is not collision resistant; here it is a checksum.
import Foundation

/// Incremental SHA-1: feed bytes with `update`, then read the digest with `finalize`.
///
///     var sha = SHA1()
///     sha.update(Array("abc".utf8))
///     sha.hexDigest()   // "a9993e364706816aba3e25717850c26c9cd0d89d"
public struct SHA1: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    /// Bytes not yet processed (fewer than one 64-byte block).
    private var pending: [UInt8] = []
    /// Total message length in bytes.
    private var length: UInt64 = 0

    public init() { pending.reserveCapacity(64) }

    /// Appends bytes to the message.
    public mutating func update<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        length &+= UInt64(bytes.count)
        var index = bytes.startIndex
        // Top up a partial block first.
        while !pending.isEmpty && index != bytes.endIndex {
            pending.append(bytes[index])
            index = bytes.index(after: index)
            if pending.count == 64 {
                let block = pending
                pending.removeAll(keepingCapacity: true)
                block.withUnsafeBufferPointer { compress(UnsafeRawBufferPointer($0)) }
            }
        }
        // Then whole blocks straight from the input, and keep the tail.
        let rest = bytes[index...]
        let handledContiguously: Bool? = rest.withContiguousStorageIfAvailable { buffer -> Bool in
            var offset = 0
            while buffer.count - offset >= 64 {
                compress(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[offset..<offset + 64])))
                offset += 64
            }
            pending.append(contentsOf: buffer[offset...])
            return true
        }
        if handledContiguously == nil {
            for byte in rest {
                pending.append(byte)
                if pending.count == 64 {
                    let block = pending
                    pending.removeAll(keepingCapacity: true)
                    block.withUnsafeBufferPointer { compress(UnsafeRawBufferPointer($0)) }
                }
            }
        }
    }

    /// Pads the message and returns the 20-byte digest. The hasher itself is left unchanged.
    public func finalize() -> [UInt8] {
        var copy = self
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        let afterOne = (Int(length % 64) + 1) % 64
        padding += [UInt8](repeating: 0, count: (56 - afterOne + 64) % 64)
        for shift in stride(from: 56, through: 0, by: -8) { padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        copy.update(padding)
        var digest: [UInt8] = []
        for word in [copy.h.0, copy.h.1, copy.h.2, copy.h.3, copy.h.4] {
            for shift in stride(from: 24, through: 0, by: -8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    /// The digest as 40 lowercase hexadecimal digits.
    public func hexDigest() -> String {
        finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The hex digest of a byte sequence.
    public static func hexDigest<Bytes: Collection>(of bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var sha = SHA1()
        sha.update(bytes)
        return sha.hexDigest()
    }

    /// The hex digest of a file, read in 1 MiB chunks.
    public static func hexDigest(ofFile url: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw DataError.unreadable(path: url.path, reason: "cannot open the file")
        }
        defer { try? handle.close() }
        var sha = SHA1()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw DataError.unreadable(path: url.path, reason: "\(error)")
            }
            if chunk.isEmpty { break }
            sha.update(chunk)
        }
        return sha.hexDigest()
    }

    /// Processes one 64-byte block.
    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        // The 80-word message schedule lives on the stack: no allocation per block.
        h = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            for i in 0..<16 {
                w[i] = UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16
                    | UInt32(block[4 * i + 2]) << 8 | UInt32(block[4 * i + 3])
            }
            for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }

            var (a, b, c, d, e) = h
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, rotl(b, 30), a, temp)
            }
            return (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
    }

    private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
}
