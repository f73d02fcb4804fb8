import DiveData
// TestSupport.swift: where the tests find the book's data (DIVE_DATA, else ../shared/data next
// to the package) and small helpers for temporary folders and broken copies of data files.
import Foundation
import Testing

enum TestData {
    /// `$DIVE_DATA`, else `<package root>/../shared/data`.
    static let directory: URL = {
        if let path = ProcessInfo.processInfo.environment["DIVE_DATA"], !path.isEmpty {
            return URL(fileURLWithPath: path).standardizedFileURL
        }
        // Tests/DiveDataTests/TestSupport.swift -> package root (symlinks resolved, so a
        // development package that links these folders still finds the real root).
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("../shared/data").standardizedFileURL
    }()

    static func url(_ relativePath: String) -> URL { directory.appendingPathComponent(relativePath) }
    static func has(_ relativePath: String) -> Bool { FileManager.default.fileExists(atPath: url(relativePath).path) }

    static let timeMachine = url("timemachine.txt")
    static let fra = url("fra-eng/fra.txt")
    static let snliSample = url("snli_1.0_sample")
    static let glove = url("glove/glove.6B.50d.first2445.txt")

    static let hasTimeMachine = has("timemachine.txt")
    static let hasFra = has("fra-eng/fra.txt")
    static let hasSNLI = has("snli_1.0_sample/snli_1.0_dev.txt")
    static let hasGloVe = has("glove/glove.6B.50d.first2445.txt")
}

/// A fresh empty folder under the system's temporary directory.
func makeTemporaryDirectory(_ label: String = "divedata") throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes bytes to `name` in `directory` and returns the file's URL.
@discardableResult
func write(_ bytes: [UInt8], to name: String, in directory: URL) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    return url
}

/// The lines of a file as byte arrays (split on "\n", final newline dropped), for making broken copies.
func byteLines(_ url: URL) throws -> [[UInt8]] {
    var lines = try Data(contentsOf: url).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { [UInt8]($0) }
    if lines.last?.isEmpty == true { lines.removeLast() }
    return lines
}

func joinLines(_ lines: [[UInt8]]) -> [UInt8] {
    Array(lines.map { $0 + [UInt8(ascii: "\n")] }.joined())
}

/// Writes `lines` to `name` in `folder` with line `index` (0-based) changed by `change`, and
/// returns the file's URL: a copy of a data file broken in one place.
func writeCopy(
    of lines: [[UInt8]], changing index: Int, to name: String, in folder: URL,
    _ change: (inout [UInt8]) -> Void
) throws -> URL {
    var copy = lines
    change(&copy[index])
    return try write(joinLines(copy), to: name, in: folder)
}

/// The thrown `DataError`, or nil if `body` did not throw one.
func dataError(_ body: () throws -> Void) -> DataError? {
    do { try body() } catch let error as DataError { return error } catch { return nil }
    return nil
}

/// Lists regular files (including hidden ones) anywhere under a folder.
func allFiles(under directory: URL) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
    return enumerator.compactMap { $0 as? String }
}
