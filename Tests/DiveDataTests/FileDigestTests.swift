import DiveData
// FileDigestTests.swift: FileDigest (swift-crypto's SHA-1) against the FIPS 180 vectors and the data manifest's digests.
import Foundation
import Testing

@Suite struct FileDigestTests {
    @Test func knownVectors() {
        #expect(FileDigest.sha1(of: [UInt8]()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(FileDigest.sha1(of: Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            FileDigest.sha1(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(
            FileDigest.sha1(of: Array("The quick brown fox jumps over the lazy dog".utf8))
                == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
        #expect(
            FileDigest.sha1(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func incrementalUpdatesMatchOneShot() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
        let whole = FileDigest.sha1(of: message)
        for chunk in [1, 3, 55, 63, 64, 65, 200] {
            var sha = FileDigest()
            var start = 0
            while start < message.count {
                sha.update(message[start..<min(start + chunk, message.count)])
                start += chunk
            }
            #expect(sha.hexDigest() == whole, "chunk size \(chunk)")
        }
        // Padding boundaries: lengths around 55/56/64 bytes.
        for length in 54...66 {
            var sha = FileDigest()
            sha.update(message.prefix(length))
            #expect(sha.hexDigest() == FileDigest.sha1(of: Array(message.prefix(length))))
        }
    }

    @Test(.enabled(if: TestData.hasTimeMachine && TestData.hasFra, "the book's data is not in the data directory"))
    func manifestDigests() throws {
        #expect(try FileDigest.sha1(ofFile: TestData.timeMachine) == "090b5e7e70c295757f55df93cb0a180b9691891a")
        #expect(try FileDigest.sha1(ofFile: TestData.fra) == "c43f99dce27311d3afd4d3e0716848194cfcc103")
        #expect(
            try FileDigest.sha1(ofFile: TestData.url("snli_1.0_sample/snli_1.0_dev.txt"))
                == "8a1db67a064f120b14edf091c13334bd20038998")
        #expect(try FileDigest.sha1(ofFile: TestData.glove) == "8c4e5237f2c0a2356697c232fe3b1179325de3ed")
    }
}
