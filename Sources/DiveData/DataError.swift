// DataError.swift: the one error type of DiveData.
// Every message says what went wrong, where (file and line when there is one) and what to do.

/// An error raised while locating, downloading, unpacking or parsing a dataset.
///
/// Nothing in DiveData traps on bad input: malformed files surface as one of these cases,
/// and `description` is written for the person running the program.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file or folder the loader needs does not exist.
    case fileNotFound(path: String, hint: String)
    /// The file exists but could not be read (permissions, I/O error).
    case unreadable(path: String, reason: String)
    /// The file has no content at all.
    case emptyFile(path: String)
    /// The bytes of a line are not valid UTF-8.
    case invalidUTF8(path: String, line: Int)
    /// A line has the wrong number of separator-delimited fields.
    case wrongFieldCount(path: String, line: Int, expected: Int, found: Int, separator: String)
    /// A line is malformed in some other way (bad number, bad JSON, missing column...).
    case malformedLine(path: String, line: Int, reason: String)
    /// A downloaded or existing archive does not have the expected SHA-1 digest.
    case checksumMismatch(path: String, expected: String, actual: String, hint: String)
    /// A download failed; `destination` is where the user can put the file by hand.
    case downloadFailed(url: String, reason: String, destination: String)
    /// A zip archive could not be unpacked.
    case archive(path: String, reason: String)
    /// An argument to a DiveData function is out of range.
    case invalidArgument(String)
    /// A text of one's own cannot be trained on (empty, binary, one symbol); `line` where there is one.
    case unusableText(path: String, line: Int?, reason: String)

    /// The message for the person running the program: what went wrong, where, and what to do about it.
    public var description: String {
        switch self {
        case let .fileNotFound(path, hint):
            return "File not found: \(path). \(hint)"
        case let .unreadable(path, reason):
            return "Cannot read \(path): \(reason). Check that the file exists and is readable."
        case let .emptyFile(path):
            return "\(path) is empty. Delete it and download the dataset again, or replace it with a complete copy."
        case let .invalidUTF8(path, line):
            return "\(path):\(line): invalid UTF-8. The file is corrupt or in another encoding; "
                + "replace it with the original UTF-8 file."
        case let .wrongFieldCount(path, line, expected, found, separator):
            return "\(path):\(line): expected \(expected) fields separated by \(separator), found \(found). "
                + "Fix or remove that line, or replace the file with the original."
        case let .malformedLine(path, line, reason):
            return "\(path):\(line): \(reason). Fix or remove that line, or replace the file with the original."
        case let .checksumMismatch(path, expected, actual, hint):
            return "SHA-1 mismatch for \(path): expected \(expected), got \(actual). \(hint)"
        case let .downloadFailed(url, reason, destination):
            return "Could not download \(url): \(reason). "
                + "Without a network, fetch that file on another machine and put it at \(destination)."
        case let .archive(path, reason):
            return "Cannot unpack \(path): \(reason). Unzip it by hand into the same folder, "
                + "or delete it so that it is downloaded again."
        case let .invalidArgument(message):
            return "Invalid argument: \(message)"
        case let .unusableText(path, line, reason):
            return "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)"
        }
    }
}
