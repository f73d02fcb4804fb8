// `dive check`'s suite: every kernel variant of every device present passes against the CPU's
// float64 results, and the comparison flags a wrong value.
import Dive
import DiveBench
import Testing

@Suite(.serialized) struct DeviceCheckTests {
    @Test(arguments: DeviceRegistry.allDevices())
    func everyVariantPasses(device: Device) throws {
        var results: [CheckResult] = []
        try DeviceCheck.run(device: device) { results.append($0) }
        #expect(results.count >= 10)
        for r in results { #expect(r.passed, "\(r.textLine)") }
        if device != .cpu {
            // Every variant axis was covered on OpenCL.
            let variants = Set(results.map { "\($0.op) \($0.variant)" })
            for v in ["gemm localTiles", "gemm packed", "gemm small", "recurrent groups", "recurrent vectors", "recurrent byStep",
                      "softmax perGroup", "layernorm perItem"] {
                #expect(variants.contains(v), "\(v) was not checked on \(device)")
            }
        }
    }

    @Test func aWrongValueFails() {
        #expect(DeviceCheck.closeness([1, 2, 3], [1, 2, 3], rtol: 1e-4, atol: 1e-5) == 0)
        #expect(DeviceCheck.closeness([1, 2, 3.01], [1, 2, 3], rtol: 1e-4, atol: 1e-5) > 1)
        #expect(DeviceCheck.closeness([1, .nan], [1, 2], rtol: 1e-4, atol: 1e-5) == .infinity)
        #expect(DeviceCheck.closeness([1], [1, 2], rtol: 1e-4, atol: 1e-5) == .infinity)
    }
}
