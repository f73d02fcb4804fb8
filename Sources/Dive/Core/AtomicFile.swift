// Writing a file so that readers see either the old or the new contents, never a mix: a
// temporary file in the same folder, fsync, rename. Only regular files are replaced: a symlink's
// target is written (atomically, in the target's folder), and device nodes, FIFOs and folders are
// refused. Errors name the path and the system's reason ("No space left on device").
import Foundation

/// A failed atomic write or preparation: the path and the system's reason.
public struct AtomicFileError: Error, CustomStringConvertible {
    /// The path as given and why it could not be written (e.g. "No space left on device").
    public let path: String, reason: String
    /// "cannot write <path>: <reason>".
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Writes files so that readers see the old or the new contents, never a mix (temporary file, fsync, rename).
public enum AtomicFile {
    /// Prefix of the temporary files; `removeStale(in:)` deletes those a killed process left.
    static let temporaryPrefix = ".dive-tmp."

    /// Replaces the file at `url` (or a symlink's target) with `data` atomically; a failure leaves the old.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { write in try data.withUnsafeBytes { try write($0) } }
    }

    /// Replaces the file at `url` (or a symlink's target) atomically with the bytes `body` passes,
    /// in as many pieces as it likes, to the function it is given: a big file is written without
    /// being held in memory. An error `body` throws (or a failed write) leaves the old file, and
    /// is rethrown (a failed write as `AtomicFileError`).
    public static func write(to url: URL, _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let target = try regularTarget(url)
        let dir = target.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(
            "\(temporaryPrefix)\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: url.path, reason: reason(errno)) }
        var failure: Int32 = 0
        do {
            try body { bytes in
                failure = writeFully(fd, bytes)
                if failure != 0 { throw AtomicFileError(path: url.path, reason: reason(failure)) }
            }
        } catch {
            close(fd)
            unlink(temp.path)
            if let error = error as? AtomicFileError, failure != 0 {
                throw AtomicFileError(path: error.path, reason: error.reason + "; the previous file, if any, is unchanged")
            }
            throw error
        }
        if fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, rename(temp.path, target.path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temp.path)
            throw AtomicFileError(path: url.path, reason: reason(failure) + "; the previous file, if any, is unchanged")
        }
    }

    /// Makes `url` ready to be written before any work starts: its folder is created if missing,
    /// and it must be (or become) a regular file in a writable folder. Returns the file to write
    /// (a symlink's target).
    @discardableResult
    public static func prepare(_ url: URL) throws -> URL {
        let target = try regularTarget(url)
        let folder = target.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw AtomicFileError(
                path: url.path, reason: "cannot create its folder \(folder.path) (\((error as NSError).localizedDescription))")
        }
        guard access(folder.path, W_OK) == 0 else {
            throw AtomicFileError(path: url.path, reason: "its folder \(folder.path) is not writable (\(reason(errno)))")
        }
        return target
    }

    /// The file `url` names, following symlinks; an error if it exists and is not a regular file.
    public static func regularTarget(_ url: URL) throws -> URL {
        let target = url.resolvingSymlinksInPath()
        var info = stat()
        if lstat(target.path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw AtomicFileError(path: url.path, reason: "it is \(kind(of: info.st_mode)); give the path of a regular file")
        }
        return target
    }

    /// What a file of this `stat` mode is, for errors: "a file", "a folder", "a device", "a FIFO"
    /// or "a special file".
    public static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a file"
        case S_IFDIR: return "a folder"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFIFO: return "a FIFO"
        default: return "a special file"
        }
    }

    /// Deletes the temporary files in `folder` whose writer (the process id in their name) is gone.
    public static func removeStale(in folder: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(temporaryPrefix) {
            let parts = name.split(separator: ".")
            guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// Writes every byte of `bytes` to `fd` with POSIX writes, so that a full disk is reported in
    /// the system's words; returns 0, or the errno of the failure (ENOSPC when a write made no progress).
    public static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let n = Foundation.write(fd, base + offset, bytes.count - offset)
            if n <= 0 { return n < 0 ? errno : ENOSPC }
            offset += n
        }
        return 0
    }

    /// The system's words for an errno value ("No space left on device").
    public static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}
