import DiveData
// DataDirectoryTests.swift: resolving the data directory, using files already there, verified
// downloads from file:// URLs, SHA-1 mismatches and failures that leave nothing behind, unpacking,
// and The Time Machine compiled into Dive.
import Foundation
import Testing

@Suite struct DataDirectoryTests {
    @Test func resolutionOrder() {
        let home = ["HOME": "/home/ada"]
        #expect(DataDirectory.resolve(explicitPath: nil, environment: home).path == "/home/ada/.cache/dive")
        #expect(
            DataDirectory.resolve(explicitPath: nil, environment: home.merging(["XDG_CACHE_HOME": "/xdg"]) { $1 }).path
                == "/xdg/dive")
        #expect(
            DataDirectory.resolve(explicitPath: nil, environment: home.merging(["XDG_CACHE_HOME": "relative"]) { $1 }).path
                == "/home/ada/.cache/dive")  // the XDG spec ignores relative paths
        let withEnv = home.merging(["DIVE_DATA": "/data/dive", "XDG_CACHE_HOME": "/xdg"]) { $1 }
        #expect(DataDirectory.resolve(explicitPath: nil, environment: withEnv).path == "/data/dive")
        #expect(DataDirectory.resolve(explicitPath: "/flag", environment: withEnv).path == "/flag")
        #expect(DataDirectory.resolve(explicitPath: "~/d2l", environment: withEnv).path == "/home/ada/d2l")
        #expect(DataDirectory.resolve(explicitPath: "", environment: withEnv).path == "/data/dive")
        let relative = DataDirectory.resolve(explicitPath: "some/dir", environment: home).path
        #expect(relative == FileManager.default.currentDirectoryPath + "/some/dir")
    }

    /// A dataset served from a local file.
    func localDataset(_ source: URL, sha1: String, zip: Bool = false, localFiles: [String]) -> RemoteDataset {
        RemoteDataset(name: "test", url: source, sha1: sha1, isZipArchive: zip, localFiles: localFiles)
    }

    @Test func filesAlreadyThereAreUsedAsTheyAre() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try write(Array("hello".utf8), to: "timemachine.txt", in: folder)
        try write(Array("a\tb\n".utf8), to: "fra-eng/fra.txt", in: folder)
        let directory = DataDirectory(url: folder, allowsDownload: false)
        #expect(try directory.locate(.timeMachine).path == folder.appendingPathComponent("timemachine.txt").path)
        #expect(try directory.locate(.fraEng).path == folder.appendingPathComponent("fra-eng/fra.txt").path)
        // A missing dataset with downloads off says which file to put where.
        let error = dataError { _ = try directory.locate(.glove6B50d) }
        #expect(error?.description.contains(folder.appendingPathComponent("glove.6B.50d.zip").path) == true)
        #expect(error?.description.contains(RemoteDataset.glove6B50d.url.absoluteString) == true)
    }

    @Test(.enabled(if: TestData.hasTimeMachine && TestData.hasFra, "the book's data is not in the data directory"))
    func loadersUseTheSharedDataDirectoryAsItIs() throws {
        let directory = DataDirectory(url: TestData.directory, allowsDownload: false)
        var (lm, vocab) = try TimeMachine.loadData(batchSize: 32, numSteps: 35, dataDirectory: directory)
        #expect(vocab.count == 28 && lm.next() != nil)
        let (_, srcVocab, tgtVocab) = try Translation.loadData(batchSize: 64, numSteps: 10, dataDirectory: directory)
        #expect(srcVocab.count == 184 && tgtVocab.count == 201)
    }

    @Test(.enabled(if: TestData.hasTimeMachine, "timemachine.txt is not in the data directory"))
    func verifiedDownloadFromAFileURL() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")  // created by the download
        let reports = LockedReports()
        let dataset = localDataset(TestData.timeMachine, sha1: RemoteDataset.timeMachine.sha1, localFiles: ["timemachine.txt"])
        let file = try DataDirectory(url: data).locate(dataset, progress: { reports.add($0) })
        #expect(try Data(contentsOf: file) == Data(contentsOf: TestData.timeMachine))
        #expect(allFiles(under: data) == ["timemachine.txt"])
        #expect(reports.last?.bytesReceived == 178_979 && reports.last?.fraction == 1)
        let (corpus, vocab) = try TimeMachine.loadCorpus(file: file)
        #expect(corpus.count == 170_580 && vocab.count == 28)
    }

    @Test(.enabled(if: TestData.hasTimeMachine, "timemachine.txt is not in the data directory"))
    func checksumMismatchLeavesNoFile() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let dataset = localDataset(TestData.timeMachine, sha1: String(repeating: "0", count: 40), localFiles: ["timemachine.txt"])
        let error = dataError { _ = try DataDirectory(url: folder).locate(dataset) }
        guard case let .checksumMismatch(_, expected, actual, _)? = error else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(expected == String(repeating: "0", count: 40))
        #expect(actual == RemoteDataset.timeMachine.sha1)
        #expect(allFiles(under: folder).isEmpty)  // not even the temporary file
    }

    @Test func failedDownloadLeavesNoFileAndSaysWhereToPutIt() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = localDataset(
            folder.appendingPathComponent("nowhere/file.txt"), sha1: String(repeating: "0", count: 40),
            localFiles: ["file.txt"])
        let error = dataError { _ = try DataDirectory(url: folder).locate(missing) }
        #expect(error?.description.contains(folder.appendingPathComponent("file.txt").path) == true)
        #expect(allFiles(under: folder).isEmpty)

        // Nothing listens on port 9 of the loopback interface: the connection is refused.
        let offline = localDataset(
            URL(string: "http://127.0.0.1:9/timemachine.txt")!, sha1: RemoteDataset.timeMachine.sha1,
            localFiles: ["timemachine.txt"])
        let networkError = dataError { _ = try DataDirectory(url: folder).locate(offline) }
        guard case let .downloadFailed(url, _, destination)? = networkError else {
            Issue.record("expected a download failure, got \(String(describing: networkError))")
            return
        }
        #expect(url == "http://127.0.0.1:9/timemachine.txt")
        #expect(destination == folder.appendingPathComponent("timemachine.txt").path)
        #expect(allFiles(under: folder).isEmpty)
    }

    /// With no copy in the data directory and downloads off, The Time Machine comes from Dive
    /// itself: the book's file, byte for byte (the book's SHA-1), written into the directory.
    @Test func theTimeMachineIsCompiledIn() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try DataDirectory(url: folder.appendingPathComponent("empty"), allowsDownload: false).locate(.timeMachine)
        #expect(file.path == folder.appendingPathComponent("empty/timemachine.txt").path)
        #expect(try FileDigest.sha1(ofFile: file) == "090b5e7e70c295757f55df93cb0a180b9691891a")
        #expect(try TimeMachine.readLines(file: file).count == 3221)
        // Other datasets are not carried: downloads off still says where to put them.
        #expect(dataError { _ = try DataDirectory(url: folder, allowsDownload: false).locate(.fraEng) } != nil)
    }

    @Test func zipDatasetsAreDownloadedCheckedAndUnpacked() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try write([UInt8](ZipFixtures.fraZip), to: "server/fra-eng.zip", in: folder)
        let data = folder.appendingPathComponent("data")
        let dataset = localDataset(server, sha1: ZipFixtures.fraZipSHA1, zip: true, localFiles: ["fra-eng/fra.txt"])
        let file = try DataDirectory(url: data).locate(dataset)
        #expect(file.path == data.appendingPathComponent("fra-eng/fra.txt").path)
        #expect(Set(allFiles(under: data)) == ["fra-eng.zip", "fra-eng", "fra-eng/fra.txt", "fra-eng/_about.txt"])
        let (source, target) = try Translation.readTokens(file: file)
        #expect(source.count == 100 && source[2] == ["run", "!"] && target[4] == ["ça", "alors", "!"])
    }

    @Test func aZipPlacedByHandIsCheckedBeforeUnpacking() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try write([UInt8](ZipFixtures.fraZip), to: "fra-eng.zip", in: folder)
        // The real fra-eng.zip digest does not match the fixture: refuse, and keep the user's file.
        let error = dataError { _ = try DataDirectory(url: folder, allowsDownload: false).locate(.fraEng) }
        #expect(error?.description.contains("SHA-1 mismatch") == true)
        #expect(allFiles(under: folder) == ["fra-eng.zip"])
        // With the right digest it is unpacked without any download.
        let dataset = localDataset(
            URL(string: "http://127.0.0.1:9/fra-eng.zip")!, sha1: ZipFixtures.fraZipSHA1, zip: true,
            localFiles: ["fra-eng/fra.txt"])
        #expect(FileManager.default.fileExists(atPath: try DataDirectory(url: folder).locate(dataset).path))
    }
}

/// Collects progress reports from any thread.
final class LockedReports: @unchecked Sendable {  // Safe: every access holds `lock`.
    private var reports: [DownloadProgress] = []
    private let lock = NSLock()
    func add(_ report: DownloadProgress) { lock.lock(); reports.append(report); lock.unlock() }
    var last: DownloadProgress? { lock.lock(); defer { lock.unlock() }; return reports.last }
}
