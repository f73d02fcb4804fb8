// Optimisers refuse bad input before they launch anything: a gradient scale or gradient on another
// device, of the wrong shape or dtype, and moments of the wrong shape give a one-line error that
// names the tensor, and leave every parameter, moment and step count as they were.
import Dive
import DiveNN
import Testing

@Suite("DiveNNOptimValidation") struct OptimizerValidationTests {
    /// One bad input: what to break, and a word its error must contain.
    struct Case: Sendable {
        var name: String
        var mentions: String
        var breakIt: @Sendable (_ p: Tensor, _ q: Tensor, _ other: Backend?) throws -> Tensor?  // returns the scale to pass
    }

    static let cases: [Case] = [
        Case(name: "3-element scale", mentions: "gradient scale") { p, _, _ in try Tensor([Float(0), 0, 0], shape: [3], on: p.backend) },
        Case(name: "int32 scale", mentions: "gradient scale") { p, _, _ in try Tensor([Int32(0)], shape: [1], on: p.backend) },
        Case(name: "scale on the other device", mentions: "gradient scale") { _, _, other in
            try other.map { try Tensor([Float(0)], shape: [1], on: $0) }
        },
        Case(name: "gradient of another shape", mentions: "gradient of parameter 1") { _, q, _ in
            q.grad = try Tensor([Float](repeating: 1, count: 6), shape: [2, 3], on: q.backend); return nil
        },
        Case(name: "int32 gradient", mentions: "gradient of parameter 1") { _, q, _ in
            q.grad = try Tensor([Int32](repeating: 1, count: 6), shape: [3, 2], on: q.backend); return nil
        },
        Case(name: "gradient on the other device", mentions: "gradient of parameter 0") { p, _, other in
            guard let other else { return nil }
            p.grad = try Tensor([Float](repeating: 1, count: 4), shape: [4], on: other); return nil
        }
    ]

    /// The other device than `device`, when there are two.
    static func other(than device: Device) throws -> Backend? {
        try allDevices.first { $0 != device }.map { try backend($0) }
    }

    @Test(arguments: allDevices)
    func badInputChangesNothing(device: Device) throws {
        let b = try backend(device), other = try Self.other(than: device)
        for kind in ["sgd", "adam", "adamw"] {
            for c in Self.cases {
                if c.name.contains("other device") && other == nil { continue }
                let p = try f32([0.5, -1, 2, 0.25], [4], on: b).requiringGrad()
                let q = try f32([1, 2, 3, 4, 5, 6], [3, 2], on: b).requiringGrad()
                let opt: Optimizer =
                    kind == "sgd"
                    ? SGD([p, q], lr: 0.1)
                    : kind == "adam" ? try Adam([p, q], lr: 0.1) : try AdamW([p, q], lr: 0.1)
                p.grad = try f32([1, 1, 1, 1], [4], on: b); q.grad = try f32([1, 1, 1, 1, 1, 1], [3, 2], on: b)
                let scale = try c.breakIt(p, q, other)
                let before = try p.toDoubleArray() + q.toDoubleArray()
                let moments = try opt.stateTensors.flatMap { try $0.tensor.toDoubleArray() }
                do {
                    try opt.step(gradScale: scale)
                    Issue.record("\(kind), \(c.name) on \(device): the step was accepted")
                } catch {
                    let text = String(describing: error)
                    #expect(!text.contains("\n") && text.contains(c.mentions), "\(kind), \(c.name): \(text)")
                }
                #expect(try p.toDoubleArray() + q.toDoubleArray() == before, "\(kind), \(c.name) on \(device): parameters changed")
                #expect(try opt.stateTensors.flatMap { try $0.tensor.toDoubleArray() } == moments, "\(kind), \(c.name): moments changed")
                #expect(opt.stepCount == 0, "\(kind), \(c.name): the step count moved")
            }
        }
        report(device, "optimisers refuse bad scales and gradients")
    }

    @Test(arguments: allDevices)
    func momentsOfAnotherShapeAreRefused(device: Device) throws {
        let b = try backend(device)
        let p = try f32([0.5, -1, 2, 0.25], [4], on: b).requiringGrad()
        p.grad = try f32([1, 1, 1, 1], [4], on: b)
        let m = try Tensor.zeros([2, 2], on: b), v = try Tensor.zeros([4], on: b)
        let hyper = AdamHyper(lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1, gradScale: nil)
        #expect(throws: DiveError.self) { try p.adamUpdate(m: m, v: v, hyper: hyper) }
        #expect(try p.toDoubleArray() == [0.5, -1, 2, 0.25])
    }
}
