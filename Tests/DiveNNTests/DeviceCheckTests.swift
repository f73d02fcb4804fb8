import DiveReference
import Testing

// `dive check`'s suite: every kernel variant of every device present passes against the CPU's
// float64 results, and the comparison flags a wrong value. Every launch on a kernel device is also
// checked against the kernel's parameters in the PTX, which is what CUDA launches read.
@testable import Dive
@testable import DiveBench

@Suite(.serialized) struct DeviceCheckTests {
    @Test(arguments: DeviceRegistry.allDevices())
    func everyVariantPasses(device: Device) throws {
        var results: [CheckResult] = []
        try PTXLibrary.$checkingEveryLaunch.withValue(true) { try DeviceCheck.run(device: device) { results.append($0) } }
        #expect(results.count >= 10)
        for r in results { #expect(r.passed, "\(r.textLine)") }
        if device != .cpu {
            // Every variant axis was covered on OpenCL.
            let variants = Set(results.map { "\($0.op) \($0.variant)" })
            for v in [
                "gemm localTiles", "gemm splitK", "gemm lt128x256x8/8x16/db/v4", "gemm packed", "gemm small", "recurrent groups",
                "recurrent vectors", "recurrent split",
                "recurrent persistent", "recurrent byStep",
                "softmax perGroup", "layernorm perItem", "cross-entropy perTeam"
            ] {
                #expect(variants.contains(v), "\(v) was not checked on \(device)")
            }
        }
    }

    /// The comparison `dive check` uses flags a wrong value, a NaN and a length mismatch.
    @Test func aWrongValueFails() {
        #expect(DiveReference.closeness([1, 2, 3], [1, 2, 3], rtol: 1e-4, atol: 1e-5) == 0)
        #expect(DiveReference.closeness([1, 2, 3.01], [1, 2, 3], rtol: 1e-4, atol: 1e-5) > 1)
        #expect(DiveReference.closeness([1, .nan], [1, 2], rtol: 1e-4, atol: 1e-5) == .infinity)
        #expect(DiveReference.closeness([1], [1, 2], rtol: 1e-4, atol: 1e-5) == .infinity)
    }

    /// A kernel that is off by 0.1% on the device fails its check on every device.
    @Test(arguments: DeviceRegistry.allDevices())
    func aWrongKernelIsFlagged(device: Device) throws {
        let wrong = DeviceCheck.Check(
            op: "scale", rtol: 1e-4, atol: 1e-5,
            cases: [
                (
                    "n=33",
                    { b, double in
                        let x = try DeviceCheck.tensor([33], seed: 1, on: b, double: double)
                        return [try x * (double ? 1 : 1.001)]
                    }
                )
            ])
        let result = DeviceCheck.run(wrong, variant: "auto", on: try Backends.backend(for: device))
        #expect(!result.passed && result.worst > 1 && result.cases == 1)
    }
}
