// Shared by the zoo's commands: error reporting for every typed error the zoo can throw, the
// data-directory option, and Ctrl-C handling (checkpoint, then exit).
import ArgumentParser
import Dive
import DiveData
import DiveDistributed
import DiveNN
import DiveZoo
import Foundation

/// Runs `body`, printing any of Dive's typed errors as one line on standard error (exit status 1).
///
/// In a data-parallel run an error that every rank meets at the same step (Ctrl-C, a non-finite
/// epoch loss) is printed by rank 0 and ends every rank the same way; any other error on any rank
/// aborts the whole run with its message, so no rank is left waiting.
@discardableResult
func reportingZooErrors<T>(across comm: Communicator = SingleProcess(), _ body: () throws -> T) throws -> T {
    func message(_ error: Error) -> String? {
        switch error {
        case let e as ZooError: return e.description
        case let e as DiveError: return e.description
        case let e as DataError: return e.description
        case let e as CheckpointError: return e.description
        case let e as DistributedError: return e.description
        default: return nil
        }
    }
    do {
        return try body()
    } catch {
        let text = message(error) ?? "\(error)"
        if comm.size > 1 {
            let collective: Bool
            switch error as? ZooError {
            case .interrupted?, .nonFiniteLoss?: collective = true
            default: collective = false
            }
            if !collective { comm.abort(text) }
            if !comm.isRoot { throw ExitCode(1) }
        }
        guard message(error) != nil else { throw error }
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
        // A run stopped by a signal exits as shells expect of one: 128 + the signal (130, 143).
        if case let .interrupted(_, _, signal)? = error as? ZooError { throw ExitCode(128 + signal) }
        throw ExitCode(1)
    }
}

/// Throws `message` as a one-line option error unless `ok`: flags are checked before any work starts.
func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
    if !ok { throw ZooError.invalidOption(message()) }
}

/// The most hypotheses a beam search keeps, and the most tokens a generation writes.
let maxBeam = 1000, maxGeneratedLength = 100_000

/// Ctrl-C (SIGINT) or SIGTERM (what schedulers and `mpirun` send) raises the flag: the trainer
/// checkpoints at the next step and stops. A second signal exits at once.
enum InterruptHandler {
    /// `quiet`: no message on the first signal (generation just stops).
    static func install(_ flag: InterruptFlag, quiet: Bool = false) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                // A second signal: leave at once, without running exit handlers while other threads
                // are inside OpenBLAS (exit() there crashed about one run in three). Dispatch merges
                // signals that arrive before the handler runs: `data` counts them (the source lives for the process).
                if flag.isRaised || s.data > 1 { _exit(130) }
                if !quiet {
                    FileHandle.standardError.write(
                        Data("\ninterrupt: writing a checkpoint after this step (interrupt again to quit now)\n".utf8))
                }
                flag.raise(sig)
            }
            s.resume()
            // Kept for the life of the process: Dispatch stops a source that is released.
            _ = Unmanaged.passRetained(s as AnyObject)
        }
    }
}
