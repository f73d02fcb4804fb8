// SNLICorpus.swift: an SNLI folder in the Stanford layout (`dive train nli --snli DIR`):
// snli_1.0_train and snli_1.0_test, and snli_1.0_dev when there is one, each as .txt or .jsonl.
// A folder that is missing, or lacks its train or test split, is a one-line error naming it.
import Foundation

/// The labelled examples of an SNLI folder's splits (`-` labels dropped, as the book does).
public struct SNLICorpus: Sendable {
    /// The folder read, as errors name it.
    public let path: String
    /// The training examples (`snli_1.0_train`).
    public let train: SNLIExamples
    /// The test examples (`snli_1.0_test`), whose accuracy the book prints.
    public let test: SNLIExamples
    /// The development examples (`snli_1.0_dev`), nil when the folder has none.
    public let dev: SNLIExamples?

    /// Reads `folder`'s train, test and (if present) dev files with `SNLI.read(directory:split:)`.
    public init(reading folder: URL) throws {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder)
        guard exists && isFolder.boolValue else {
            throw DataError.unusableText(
                path: folder.path, line: nil,
                reason:
                    "\(exists ? "not a folder" : "no such folder"); give the folder that holds snli_1.0_train, snli_1.0_test (and snli_1.0_dev) as .jsonl or .txt"
            )
        }
        func has(_ split: SNLISplit) -> Bool {
            ["txt", "jsonl"].contains {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("snli_1.0_\(split.rawValue).\($0)").path)
            }
        }
        for split in [SNLISplit.train, .test] where !has(split) {
            throw DataError.unusableText(
                path: folder.path, line: nil,
                reason:
                    "no snli_1.0_\(split.rawValue).jsonl or snli_1.0_\(split.rawValue).txt: the Stanford layout has snli_1.0_train, snli_1.0_dev and snli_1.0_test"
            )
        }
        path = folder.path
        train = try SNLI.read(directory: folder, split: .train)
        test = try SNLI.read(directory: folder, split: .test)
        dev = has(.dev) ? try SNLI.read(directory: folder, split: .dev) : nil
    }
}

extension SNLIExamples {
    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> SNLIExamples {
        SNLIExamples(premises: indices.map { premises[$0] }, hypotheses: indices.map { hypotheses[$0] }, labels: indices.map { labels[$0] })
    }
}
