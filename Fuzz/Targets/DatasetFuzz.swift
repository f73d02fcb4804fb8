// libFuzzer target: arbitrary bytes as each of the book's data files — The Time Machine, fra-eng,
// an SNLI split and a GloVe table — read the way the recipes read them. The first byte picks the
// parser. Malformed input must be an error naming the file, never a trap.
import Foundation

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dive-fuzz-\(getpid())")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatasets(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    let file = scratch.appendingPathComponent("input.txt")
    guard (try? Data(bytes: bytes + 1, count: count - 1).write(to: file)) != nil else { return 0 }
    switch bytes[0] % 4 {
    case 0:
        if let (corpus, vocab) = try? TimeMachine.loadCorpus(file: file, maxTokens: 10_000, edition: .zh) {
            _ = vocab.tokens(corpus.prefix(50).map { Int($0) })
        }
    case 1:
        if let data = try? Translation.loadDataset(file: file, numSteps: 8, numExamples: 50) { _ = data.count }
    case 2:
        if let examples = try? SNLI.read(file: file) { _ = SNLIDataset(examples, numSteps: 12).count }
    default:
        if let table = try? TokenEmbedding(contentsOf: file) { _ = table.dimension }
    }
    return 0
}
