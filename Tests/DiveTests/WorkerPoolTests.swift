// CKernels' worker pool (worker_pool.c), which runs the CPU's split ops: every piece of every job
// runs exactly once and has finished when the call returns, with jobs back to back, from several
// callers at once, and with pieces that split again; and the workers take pieces. A lost wake-up
// or a piece run twice fails a count; a deadlock hangs the suite.
import CKernels
import Foundation
import Testing

/// What the pieces of a test job write: a run count per piece, and whether any ran off the caller's thread.
private struct PoolJob {
    var runs: UnsafeMutablePointer<Int>
    var caller: pthread_t
    var offCaller: UnsafeMutablePointer<Int>
    var nested = false
    /// Nanoseconds each piece takes (spinning), so that workers find pieces left to take.
    var nanoseconds: UInt64 = 0
}

/// Piece `index`: counts its run in its own slot (a nested job counts into slots 100 + 8·index …).
private let countPiece: dive_pool_body = { context, index in
    let job = context!.assumingMemoryBound(to: PoolJob.self)
    let end = DispatchTime.now().uptimeNanoseconds + job.pointee.nanoseconds
    while job.pointee.nanoseconds > 0, DispatchTime.now().uptimeNanoseconds < end {}
    job.pointee.runs[index] += 1
    if pthread_equal(pthread_self(), job.pointee.caller) == 0 { job.pointee.offCaller[index] = 1 }
    if job.pointee.nested {
        var inner = PoolJob(
            runs: job.pointee.runs + 100 + 8 * index, caller: pthread_self(), offCaller: job.pointee.offCaller + 100 + 8 * index)
        dive_pool_run(8, countPiece, &inner)
    }
}

@Suite("WorkerPool") struct WorkerPoolTests {
    /// 20,000 jobs of 1–9 pieces of 2 µs back to back: each piece runs once per job that has it.
    @Test func everyPieceRunsOnce() {
        let threads = dive_pool_start(2)
        var runs = [Int](repeating: 0, count: 16), offCaller = [Int](repeating: 0, count: 16)
        var expected = [Int](repeating: 0, count: 16)
        runs.withUnsafeMutableBufferPointer { r in
            offCaller.withUnsafeMutableBufferPointer { o in
                var job = PoolJob(runs: r.baseAddress!, caller: pthread_self(), offCaller: o.baseAddress!, nanoseconds: 2000)
                for j in 0..<20_000 {
                    let count = 1 + j % 9
                    dive_pool_run(count, countPiece, &job)
                    for i in 0..<count { expected[i] += 1 }
                    // Every piece has finished when the call returns.
                    if j % 1000 == 0 { #expect(Array(r.prefix(count)) == Array(expected.prefix(count)), "job \(j)") }
                }
            }
        }
        #expect(runs == expected)
        if threads > 1 { #expect(offCaller.contains(1), "no piece ran on a worker") }
    }

    /// Four threads run jobs at once: a job that finds the pool busy runs inline, and nothing is lost.
    @Test func concurrentCallers() {
        _ = dive_pool_start(2)
        let totals = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 16)
        totals.initialize(repeating: 0)
        defer { totals.deallocate() }
        let slots = UncheckedPointer(totals.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: 4) { c in
            var sink = [Int](repeating: 0, count: 16)
            sink.withUnsafeMutableBufferPointer { o in
                var job = PoolJob(runs: slots.value + 16 * c, caller: pthread_self(), offCaller: o.baseAddress!)
                for j in 0..<100_000 { dive_pool_run(2 + j % 7, countPiece, &job) }
            }
        }
        for c in 0..<4 {
            let expected = (0..<16).map { i in (0..<100_000).filter { j in i < 2 + j % 7 }.count }
            #expect(Array(totals[(16 * c)..<(16 * c + 16)]) == expected, "caller \(c)")
        }
    }

    /// Pieces that run a job of their own (inline while the outer job holds the pool): no piece is lost.
    @Test func nestedJobsRunInline() {
        _ = dive_pool_start(2)
        var runs = [Int](repeating: 0, count: 200), offCaller = [Int](repeating: 0, count: 200)
        runs.withUnsafeMutableBufferPointer { r in
            offCaller.withUnsafeMutableBufferPointer { o in
                var job = PoolJob(runs: r.baseAddress!, caller: pthread_self(), offCaller: o.baseAddress!, nested: true)
                for _ in 0..<1000 { dive_pool_run(4, countPiece, &job) }
            }
        }
        #expect(Array(runs[0..<4]) == [1000, 1000, 1000, 1000])
        for i in 0..<4 { #expect(Array(runs[(100 + 8 * i)..<(108 + 8 * i)]) == Array(repeating: 1000, count: 8), "piece \(i)") }
    }
}

/// A pointer handed to the threads of a test, each of which writes its own part.
private struct UncheckedPointer: @unchecked Sendable {
    let value: UnsafeMutablePointer<Int>
    init(_ value: UnsafeMutablePointer<Int>) { self.value = value }
}
