// Datasets.swift: the book's downloadable datasets (name, URL, SHA-1) and where each one
// lives once it is in the data directory.
import Foundation

/// A dataset the book downloads, and the files it provides once unpacked.
public struct RemoteDataset: Sendable {
    /// The book's name for it (`DATA_HUB` key).
    public var name: String
    /// Where to download it from.
    public var url: URL
    /// SHA-1 of the downloaded file, 40 lowercase hex digits.
    public var sha1: String
    /// Whether the download is a zip archive that is unpacked into the data directory.
    public var isZipArchive: Bool
    /// Paths relative to the data directory of the file the loaders read, in order of
    /// preference. When any of them exists, the dataset is used as it is, without checking or
    /// downloading anything. After unpacking, the first must exist.
    public var localFiles: [String]

    /// A dataset from its name, download URL, SHA-1 (stored lowercased), archive flag and local files.
    public init(name: String, url: URL, sha1: String, isZipArchive: Bool, localFiles: [String]) {
        self.name = name
        self.url = url
        self.sha1 = sha1.lowercased()
        self.isZipArchive = isZipArchive
        self.localFiles = localFiles
    }

    /// The name of the downloaded file in the data directory (the URL's last component).
    public var downloadFileName: String { url.lastPathComponent }

    private static let hub = "http://d2l-data.s3-accelerate.amazonaws.com/"

    /// The Time Machine (sections 8.2-8.3).
    public static let timeMachine = RemoteDataset(
        name: "time_machine", url: URL(string: hub + "timemachine.txt")!,
        sha1: "090b5e7e70c295757f55df93cb0a180b9691891a", isZipArchive: false, localFiles: ["timemachine.txt"])

    /// Tatoeba English-French pairs (section 9.5).
    public static let fraEng = RemoteDataset(
        name: "fra-eng", url: URL(string: hub + "fra-eng.zip")!,
        sha1: "94646ad1522d915e7b0f9296181140edcf86a4f5", isZipArchive: true, localFiles: ["fra-eng/fra.txt"])

    /// GloVe 6B, 50 dimensions (d2l's repackaging, with the vectors in `vec.txt`).
    public static let glove6B50d = RemoteDataset(
        name: "glove.6b.50d", url: URL(string: hub + "glove.6B.50d.zip")!,
        sha1: "0b8703943ccdb6eb788e6f091b8946e82231bc4d", isZipArchive: true,
        localFiles: ["glove.6B.50d/vec.txt", "glove.6B.50d.txt"])

    /// GloVe 6B, 100 dimensions (section 15.5).
    public static let glove6B100d = RemoteDataset(
        name: "glove.6b.100d", url: URL(string: hub + "glove.6B.100d.zip")!,
        sha1: "cd43bfb07e44e6f27cbcc7bc9ae3d80284fdaf5a", isZipArchive: true,
        localFiles: ["glove.6B.100d/vec.txt", "glove.6B.100d.txt"])

    /// The Stanford Natural Language Inference corpus 1.0 (section 15.4).
    public static let snli = RemoteDataset(
        name: "SNLI", url: URL(string: "https://nlp.stanford.edu/projects/snli/snli_1.0.zip")!,
        sha1: "9fcde07509c7e87ec61c640c1b2753d9041758e4", isZipArchive: true,
        localFiles: ["snli_1.0/snli_1.0_train.txt"])

    /// Every dataset above.
    public static let all: [RemoteDataset] = [.timeMachine, .fraEng, .glove6B50d, .glove6B100d, .snli]
}
