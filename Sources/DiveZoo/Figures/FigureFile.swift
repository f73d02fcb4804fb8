// Writing a figure (an SVG document) the way every output file is written: atomically, only over
// a regular file (a symlink's target is written; devices, FIFOs and folders are refused), its
// folder created if missing, and errors that name the path and the system's reason.
import Dive
import Foundation

/// Writes SVG figures atomically, creating the folder and naming the path and the system's reason when it
/// fails.
public enum FigureFile {
    /// Checks `url` before any work: its folder exists or is created, and it can be written.
    public static func prepare(_ url: URL, flag: String) throws {
        do { try AtomicFile.prepare(url) } catch let error as AtomicFileError {
            throw ZooError.invalidOption("\(flag) \(url.path): \(error.reason)")
        }
    }

    /// Writes `svg` to `url` as UTF-8, atomically; throws `ZooError.invalidOption` with the reason when it
    /// cannot.
    public static func write(_ svg: String, to url: URL) throws {
        do { try AtomicFile.write(Data(svg.utf8), to: try AtomicFile.prepare(url)) } catch let error as AtomicFileError {
            throw ZooError.invalidOption("cannot write the figure \(url.path): \(error.reason)")
        }
    }
}
