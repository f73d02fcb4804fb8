// BundledData.swift: the datasets compiled into Dive, so that the main job runs with no network and
// no data directory. Only The Time Machine (179 KB, public domain) is; it is checked against the
// book's SHA-1 before it is used.
import Foundation

enum BundledData {
    /// The compiled-in bytes of `dataset`, if Dive carries it.
    static func bytes(of dataset: RemoteDataset) -> [UInt8]? {
        dataset.name == RemoteDataset.timeMachine.name ? PackageResources.timemachine_txt : nil
    }

    /// Writes the compiled-in copy of `dataset` to `file` (atomically), after checking its SHA-1;
    /// returns false when Dive does not carry the dataset.
    static func write(_ dataset: RemoteDataset, to file: URL) throws -> Bool {
        guard let bytes = bytes(of: dataset) else { return false }
        let actual = FileDigest.sha1(of: bytes)
        guard actual == dataset.sha1 else {
            throw DataError.checksumMismatch(
                path: "the copy of \(dataset.name) compiled into Dive", expected: dataset.sha1, actual: actual,
                hint: "This build is damaged; rebuild Dive, or put the file at \(file.path).")
        }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file, options: .atomic)
        return true
    }
}
