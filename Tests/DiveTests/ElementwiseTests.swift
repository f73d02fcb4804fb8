// Unary, binary (broadcasting) and reduction primitives on every device against float64.
import Dive
import DiveReference
import Foundation
import Testing

@Suite("Elementwise and reductions") struct ElementwiseTests {
    static let unaryCases: [(UnaryOp, ClosedRange<Double>)] = [
        (.neg, -3...3), (.exp, -20...20), (.log, 0.01...50), (.tanh, -9...9), (.sigmoid, -30...30), (.relu, -2...2),
        (.sqrt, 0...9), (.addScalar(2.5), -2...2), (.mulScalar(-3), -2...2), (.rsubScalar(1), -2...2),
        (.rdivScalar(2), 0.5...3), (.powScalar(1.7), 0.1...4)
    ]

    @Test(arguments: allDevices)
    func unaryOps(device: Device) throws {
        try check(device, "unary ops", seed: 3) { b, rng in
            for (op, range) in Self.unaryCases {
                for n in awkwardSizes + [1000] {
                    let x = rng.array(n, range.lowerBound, range.upperBound)
                    let y = try poisoned([n], on: b)
                    try b.unary(op, try tensor(x, [n], on: b), into: y)
                    try expectClose(y, x.map { Ref.unary(op, $0) }, rtol: 2e-6 * 8, atol: 1e-6, "\(op) n=\(n)")
                }
            }
        }
    }

    @Test(arguments: allDevices)
    func unaryEdgeValues(device: Device) throws {
        try check(device, "unary edge values") { b in
            let x: [Double] = [-1e4, -100, -88, 0, 1e-8, 88, 100, 1e4]
            let y = try poisoned([x.count], on: b)
            try b.unary(.sigmoid, try tensor(x, [x.count], on: b), into: y)
            try expectClose(y, x.map { 1 / (1 + Foundation.exp(-$0)) }, rtol: 1e-5, atol: 1e-7, "sigmoid at extremes")
            try b.unary(.tanh, try tensor(x, [x.count], on: b), into: y)
            try expectClose(y, x.map { Foundation.tanh($0) }, rtol: 1e-5, atol: 1e-7, "tanh at extremes")
            let e = try poisoned([4], on: b)
            try b.unary(.exp, try tensor([-1e4, -100, 0, 80], [4], on: b), into: e)
            try expectClose(e, [0, Foundation.exp(-100), 1, Foundation.exp(80)], rtol: 1e-5, atol: 1e-40, "exp at extremes")
        }
    }

    @Test(arguments: allDevices)
    func unaryDerivatives(device: Device) throws {
        try check(device, "unary derivatives", seed: 4) { b, rng in
            let cases: [(UnaryOp, ClosedRange<Double>)] = [
                (.exp, -5...5), (.log, 0.1...5), (.tanh, -3...3), (.sigmoid, -5...5), (.relu, -2...2), (.sqrt, 0.1...5),
                (.powScalar(2.5), 0.1...3)
            ]
            for (op, range) in cases {
                for n in awkwardSizes {
                    let x = rng.array(n, range.lowerBound, range.upperBound), g = rng.array(n)
                    let xt = try tensor(x, [n], on: b)
                    let yt = try poisoned([n], on: b)
                    try b.unary(op, xt, into: yt)
                    let yv = try yt.toDoubleArray()
                    let dx = try poisoned([n], on: b)
                    try b.unaryBackward(op, input: xt, output: yt, gradOutput: try tensor(g, [n], on: b), into: dx)
                    try expectClose(
                        dx, (0..<n).map { g[$0] * Ref.unaryDerivative(op, x: x[$0], y: yv[$0]) }, rtol: 1e-4, atol: 1e-6, "\(op)' n=\(n)")
                }
            }
        }
    }

    @Test(arguments: allDevices)
    func broadcastingBinary(device: Device) throws {
        try check(device, "broadcasting binary ops", seed: 5) { b, rng in
            let shapes: [([Int], [Int])] = [
                ([7], [7]), ([33, 7], [7]), ([7], [1]), ([1], [257]), ([4, 1, 5], [3, 1]),
                ([2, 3, 4, 5], [1, 3, 1, 5]), ([33, 1], [1, 7]), ([2, 1, 3, 1, 2], [3, 5, 1])
            ]
            for (sa, sb) in shapes {
                for op in [BinaryOp.add, .sub, .mul, .div] {
                    let a = rng.array(sa.reduce(1, *)), bv = rng.array(sb.reduce(1, *), 0.5, 2)
                    let plan = try BroadcastPlan.make(sa, sb, op: "test")
                    let (expected, outShape) = Ref.broadcast(a, sa, bv, sb, Ref.binary(op))
                    #expect(plan.outShape == outShape)
                    let c = try poisoned(outShape, on: b)
                    try b.binary(op, try tensor(a, sa, on: b), try tensor(bv, sb, on: b), into: c, plan: plan)
                    try expectClose(c, expected, rtol: 1e-6, atol: 1e-6, "\(op) \(sa) with \(sb)")
                }
            }
            #expect(throws: DiveError.self) { try BroadcastPlan.make([3, 2], [4], op: "add") }
        }
    }

    @Test(arguments: allDevices)
    func reductions(device: Device) throws {
        try check(device, "reductions", seed: 6) { b, rng in
            // (1, 300, 257) is big enough for the CPU to split one output row's columns across cores.
            for (outer, length, inner) in [(1, 1, 1), (7, 33, 1), (1, 257, 1), (33, 7, 5), (3, 1, 7), (2, 257, 3), (1, 300, 257)] {
                let x = rng.array(outer * length * inner)
                let xt = try tensor(x, [x.count], on: b)
                for op in [ReduceOp.sum, .mean, .scaledSum(0.3), .max] {
                    let y = try poisoned([outer * inner], on: b)
                    try b.reduce(op, xt, into: y, outer: outer, length: length, inner: inner)
                    try expectClose(
                        y, Ref.reduce(x, outer: outer, length: length, inner: inner, Ref.reduction(op)), rtol: 1e-5, atol: 1e-5,
                        "\(op) (\(outer), \(length), \(inner))")
                }
                let idx = try poisoned([outer * inner], on: b, dtype: .int32)
                try b.reduce(.argmax, xt, into: idx, outer: outer, length: length, inner: inner)
                #expect(
                    try idx.toDoubleArray() == Ref.reduce(x, outer: outer, length: length, inner: inner, Ref.reduction(.argmax)),
                    "argmax (\(outer), \(length), \(inner))")
            }
        }
    }
}
