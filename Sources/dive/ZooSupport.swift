// Shared by the zoo's commands: error reporting for every typed error the zoo can throw, the
// data-directory option, and Ctrl-C handling (checkpoint, then exit).
import ArgumentParser
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation

/// Runs `body`, printing any of Dive's typed errors as one line on standard error (exit status 1).
func reportingZooErrors(_ body: () throws -> Void) throws {
    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(1)
    }
    do {
        try body()
    } catch let e as ZooError {
        throw fail(e.description)
    } catch let e as DiveError {
        throw fail(e.description)
    } catch let e as DataError {
        throw fail(e.description)
    } catch let e as CheckpointError {
        throw fail(e.description)
    }
}

/// Resolves `--device` for one run, saying what `auto` picked.
func resolveDevice(_ text: String) throws -> Device {
    let device = try Device(parsing: text)
    let backend = try Backends.backend(for: device)
    if device == .auto { FileHandle.standardError.write(Data("auto: using \(backend.displayName)\n".utf8)) }
    return backend.device
}

/// Ctrl-C raises the flag (the trainer checkpoints at the next step and stops); a second Ctrl-C exits at once.
enum InterruptHandler {
    nonisolated(unsafe) private static var source: DispatchSourceSignal?

    static func install(_ flag: InterruptFlag) {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler {
            if flag.isRaised { exit(130) }
            FileHandle.standardError.write(Data("\ninterrupt: writing a checkpoint after this step (Ctrl-C again to quit now)\n".utf8))
            flag.raise()
        }
        s.resume()
        source = s
    }
}
