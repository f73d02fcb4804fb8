import DiveData
// ZipTests.swift: zip archives through ZIPFoundation (a small embedded fixture with stored and
// deflated entries, corrupt and truncated copies of it, and a large one made by the zip tool).
import Foundation
import Testing

/// Fixtures made once with Python's zlib/zipfile; the tests only decode them.
enum ZipFixtures {
    /// A zip with `fra-eng/` (folder entry), `fra-eng/fra.txt` (deflated, 100 pairs),
    /// `fra-eng/_about.txt` (stored, "about") and `__MACOSX/fra-eng/._fra.txt`.
    static let fraZip = Data(
        base64Encoded: """
            UEsDBBQAAAAAAAAAIQAAAAAAAAAAAAAAAAAIAAAAZnJhLWVuZy9QSwMEFAAAAAgAyKh2XVUIXxxLAAAAKAUAAA8AAABmcmEtZW5nL2ZyYS50eHRzz9fj\
            DEtUUOTyyNTjDE7MKS0BsoNK8xQ5nfNLi4ofNaxX5ArPyLfnDCzNVLDnCs8vV+Q83J6okJiTD5V1HzVh1IRRE0ZNGNYmAABQSwMEFAAAAAAAyKh2XeMi\
            9LUFAAAABQAAABIAAABmcmEtZW5nL19hYm91dC50eHRhYm91dFBLAwQUAAAACADIqHZdOZz7BgYAAAAEAAAAGgAAAF9fTUFDT1NYL2ZyYS1lbmcvLl9m\
            cmEudHh0yyrNywYAUEsBAhQDFAAAAAAAAAAhAAAAAAAAAAAAAAAAAAgAAAAAAAAAAAAAAIABAAAAAGZyYS1lbmcvUEsBAhQDFAAAAAgAyKh2XVUIXxxL\
            AAAAKAUAAA8AAAAAAAAAAAAAAIABJgAAAGZyYS1lbmcvZnJhLnR4dFBLAQIUAxQAAAAAAMiodl3jIvS1BQAAAAUAAAASAAAAAAAAAAAAAACAAZ4AAABm\
            cmEtZW5nL19hYm91dC50eHRQSwECFAMUAAAACADIqHZdOZz7BgYAAAAEAAAAGgAAAAAAAAAAAAAAgAHTAAAAX19NQUNPU1gvZnJhLWVuZy8uX2ZyYS50\
            eHRQSwUGAAAAAAQABAD7AAAAEQEAAAAA
            """)!
    static let fraZipSHA1 = "9f226412dd259ec62d4b421b9e5c15e59c52059a"
    /// The five Tatoeba-style lines repeated 20 times in fra-eng/fra.txt.
    static let fraLines = "Go.\tVa !\nHi.\tSalut !\nRun!\tCours\u{202F}!\nWho?\tQui ?\nWow!\t\u{C7}a alors\u{202F}!\n"
}

@Suite struct ZipTests {
    @Test func readsAndUnpacksAZip() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zip = try write([UInt8](ZipFixtures.fraZip), to: "fra-eng.zip", in: folder)
        let archive = try ZipArchive(url: zip)
        #expect(archive.entries.map(\.path) == ["fra-eng/", "fra-eng/fra.txt", "fra-eng/_about.txt", "__MACOSX/fra-eng/._fra.txt"])
        let fra = try #require(archive.entries.first { $0.path == "fra-eng/fra.txt" })
        #expect(try archive.contents(of: fra) == Array(String(repeating: ZipFixtures.fraLines, count: 20).utf8))

        let target = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try archive.unpack(into: target)
        #expect(Set(allFiles(under: target)) == ["fra-eng", "fra-eng/fra.txt", "fra-eng/_about.txt"])
        #expect(try String(contentsOf: target.appendingPathComponent("fra-eng/_about.txt"), encoding: .utf8) == "about")
    }

    @Test func corruptArchiveLeavesNothingBehind() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var bytes = [UInt8](ZipFixtures.fraZip)
        bytes[100] ^= 0xFF  // inside fra.txt's compressed data: its CRC-32 no longer matches
        let zip = try write(bytes, to: "fra-eng.zip", in: folder)
        let error = dataError { try ZipArchive(url: zip).unpack(into: folder) }
        #expect(error?.description.contains(zip.path) == true)
        #expect(allFiles(under: folder) == ["fra-eng.zip"])
        let notZip = try write(Array("not a zip file at all, just text".utf8), to: "text.zip", in: folder)
        #expect(throws: DataError.self) { try ZipArchive(url: notZip) }
        // A truncated download: an error that names the file, and nothing unpacked.
        let truncated = try write(Array([UInt8](ZipFixtures.fraZip).prefix(150)), to: "short.zip", in: folder)
        let short = dataError { try ZipArchive(url: truncated).unpack(into: folder) }
        #expect(short?.description.contains(truncated.path) == true)
        #expect(Set(allFiles(under: folder)) == ["fra-eng.zip", "text.zip", "short.zip"])
    }

    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zip") && TestData.hasTimeMachine,
            "needs /usr/bin/zip and timemachine.txt"))
    func unpacksWhatTheZipToolMakes() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zip = folder.appendingPathComponent("tm.zip")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zip")
        process.arguments = ["-q", "-j", "-9", zip.path, TestData.timeMachine.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let archive = try ZipArchive(url: zip)
        #expect(archive.entries.count == 1 && archive.entries[0].method == 8)
        #expect(try archive.contents(of: archive.entries[0]) == [UInt8](try Data(contentsOf: TestData.timeMachine)))
    }
}
