// Mistakes a library user makes are errors that say what to do, and change nothing: a second
// backward through a consumed graph, targets or indices of the wrong dtype.
import Dive
import Testing

@Suite("Misuse") struct MisuseTests {
    @Test(arguments: allDevices)
    func secondBackwardIsAnErrorUnlessTheGraphIsRetained(device: Device) throws {
        let b = try Backends.backend(for: device)
        let w = try Tensor([Float(1), 2, 3], shape: [3], on: b).requiringGrad()
        let x = try Tensor([Float(0.5), -1, 4], shape: [3], on: b)
        // d/dw Σ (w·x)² = 2 (w·x) x = (0.5, 4, 96)
        let loss = try ((w * x) * (w * x)).sum()
        try loss.backward()
        let once = try w.grad!.toArray()
        #expect(once == [0.5, 4, 96])
        #expect(throws: DiveError.self) { try loss.backward() }
        #expect(try w.grad!.toArray() == once, "a refused backward must not touch the gradients")

        // With retainGraph the second pass is allowed and adds the same gradients again.
        w.zeroGrad()
        let kept = try ((w * x) * (w * x)).sum()
        try kept.backward(retainGraph: true)
        try kept.backward()
        #expect(try w.grad!.toArray() == [1, 8, 192])
        #expect(throws: DiveError.self) { try kept.backward() }
    }

    @Test(arguments: allDevices)
    func targetsOfTheWrongDtypeSaySo(device: Device) throws {
        let b = try Backends.backend(for: device)
        let logits = try Tensor.zeros([2, 3], on: b)
        let floatTargets = try Tensor([Float(0), 2], shape: [2], on: b)
        do {
            _ = try logits.crossEntropy(targets: floatTargets)
            Issue.record("float targets were accepted on \(device)")
        } catch {
            let text = String(describing: error)
            #expect(text == "crossEntropy: the targets (class indices) hold float32; they must be int32", "\(text)")
        }
        let table = try Tensor.zeros([4, 2], on: b)
        #expect(throws: DiveError.invalidArgument(op: "embedding", detail: "the token indices hold float32; they must be int32")) {
            try Tensor.embedding(table, indices: floatTargets)
        }
    }
}
