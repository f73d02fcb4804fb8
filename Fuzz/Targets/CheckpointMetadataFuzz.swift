// libFuzzer target: arbitrary bytes as a checkpoint's metadata values — the data position a resume
// restores (JSON, then range-checked against a loader) and the step counters Checkpoint reads as
// integers. Errors are fine; traps are not.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointMetadata(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    if let position = try? JSONDecoder().decode(LoaderPosition.self, from: data) {
        _ = try? MinibatchSampler(count: 600, batchSize: 64, shuffle: true, resumingFrom: position)
        let corpus = (0..<2000).map { Int32($0 % 28) }
        if var loader = try? SequenceDataLoader(corpus: corpus, batchSize: 4, numSteps: 5, partitioning: .sequential,
                                                resumingFrom: position) {
            for _ in 0..<3 { _ = loader.next() }
        }
    }
    let text = String(decoding: data, as: UTF8.self)
    _ = Int(text); _ = UInt64(text); _ = UInt32(text)
    return 0
}
