// libFuzzer target: arbitrary bytes as a safetensors file. Parsing may fail with an error but must
// never trap, hang or allocate without bound; every tensor it accepts must convert to floats or
// say it cannot.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? SafeTensorsFile.parse(Data(bytes: bytes, count: count), file: "<fuzz>") else { return 0 }
    for (_, tensor) in file.tensors { _ = tensor.floats?.count }
    _ = try? file.serialized()
    return 0
}
