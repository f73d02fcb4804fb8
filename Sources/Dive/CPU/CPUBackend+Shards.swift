// A minibatch split into shards across the CPU's cores: each worker thread runs whole shards, one
// after another, and every op of a shard stays on its thread (`Parallel.isInsideShard`). Which
// shard goes to which thread changes no number: each shard's work is the same on any thread.
extension CPUBackend {
    /// Runs `body(0)` … `body(count - 1)` on min(count, threads) worker threads, worker w taking
    /// shards w, w + workers, …, each shard's ops on its worker alone. Returns when every shard
    /// has run, rethrowing the error of the first shard (by index) that threw.
    public static func forEachShard(_ count: Int, _ body: (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let workers = min(Parallel.width, count)
        var errors = [Error?](repeating: nil, count: count)
        errors.withUnsafeMutableBufferPointer { slots in
            // Safe: each shard writes only its own slot, and forEach returns after every worker.
            let slots = UncheckedSendable(slots)
            Parallel.forEach(workers) { w in
                Parallel.$isInsideShard.withValue(true) {
                    for i in stride(from: w, to: count, by: workers) {
                        do { try body(i) } catch { slots.value[i] = error }
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first { throw first }
    }
}
