// Unary, binary (broadcasting) and reduction primitives on every device against float64.
import Dive
import Foundation
import Testing

@Suite("Elementwise and reductions") struct ElementwiseTests {
    static let unaryCases: [(UnaryOp, (Double) -> Double, ClosedRange<Double>)] = [
        (.neg, { -$0 }, -3...3), (.exp, { Foundation.exp($0) }, -20...20), (.log, { Foundation.log($0) }, 0.01...50),
        (.tanh, { Foundation.tanh($0) }, -9...9), (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, -30...30),
        (.relu, { max($0, 0) }, -2...2), (.sqrt, { $0.squareRoot() }, 0...9), (.addScalar(2.5), { $0 + 2.5 }, -2...2),
        (.mulScalar(-3), { $0 * -3 }, -2...2), (.rsubScalar(1), { 1 - $0 }, -2...2), (.rdivScalar(2), { 2 / $0 }, 0.5...3),
        (.powScalar(1.7), { Foundation.pow($0, 1.7) }, 0.1...4),
    ]

    @Test(arguments: allDevices)
    func unaryOps(device: Device) throws {
        let b = try backend(device)
        var rng = TestRNG(3)
        for (op, f, range) in Self.unaryCases {
            for n in awkwardSizes + [1000] {
                let x = rng.array(n, range.lowerBound, range.upperBound)
                let y = try poisoned([n], on: b)
                try b.unary(op, try tensor(x, [n], on: b), into: y)
                try expectClose(y, x.map(f), rtol: 2e-6 * 8, atol: 1e-6, "\(op) n=\(n)")
            }
        }
        report(device, "unary ops")
    }

    @Test(arguments: allDevices)
    func unaryEdgeValues(device: Device) throws {
        let b = try backend(device)
        let x: [Double] = [-1e4, -100, -88, 0, 1e-8, 88, 100, 1e4]
        let y = try poisoned([x.count], on: b)
        try b.unary(.sigmoid, try tensor(x, [x.count], on: b), into: y)
        try expectClose(y, x.map { 1 / (1 + Foundation.exp(-$0)) }, rtol: 1e-5, atol: 1e-7, "sigmoid at extremes")
        try b.unary(.tanh, try tensor(x, [x.count], on: b), into: y)
        try expectClose(y, x.map { Foundation.tanh($0) }, rtol: 1e-5, atol: 1e-7, "tanh at extremes")
        let e = try poisoned([4], on: b)
        try b.unary(.exp, try tensor([-1e4, -100, 0, 80], [4], on: b), into: e)
        try expectClose(e, [0, Foundation.exp(-100), 1, Foundation.exp(80)], rtol: 1e-5, atol: 1e-40, "exp at extremes")
        report(device, "unary edge values")
    }

    @Test(arguments: allDevices)
    func unaryDerivatives(device: Device) throws {
        let b = try backend(device)
        var rng = TestRNG(4)
        let cases: [(UnaryOp, (Double, Double) -> Double, ClosedRange<Double>)] = [
            (.exp, { _, y in y }, -5...5), (.log, { x, _ in 1 / x }, 0.1...5), (.tanh, { _, y in 1 - y * y }, -3...3),
            (.sigmoid, { _, y in y * (1 - y) }, -5...5), (.relu, { x, _ in x > 0 ? 1 : 0 }, -2...2),
            (.sqrt, { _, y in 0.5 / y }, 0.1...5), (.powScalar(2.5), { x, _ in 2.5 * Foundation.pow(x, 1.5) }, 0.1...3),
        ]
        for (op, fprime, range) in cases {
            for n in awkwardSizes {
                let x = rng.array(n, range.lowerBound, range.upperBound), g = rng.array(n)
                let xt = try tensor(x, [n], on: b)
                let yt = try poisoned([n], on: b)
                try b.unary(op, xt, into: yt)
                let yv = try yt.toDoubleArray()
                let dx = try poisoned([n], on: b)
                try b.unaryBackward(op, input: xt, output: yt, gradOutput: try tensor(g, [n], on: b), into: dx)
                try expectClose(dx, (0..<n).map { g[$0] * fprime(x[$0], yv[$0]) }, rtol: 1e-4, atol: 1e-6, "\(op)' n=\(n)")
            }
        }
        report(device, "unary derivatives")
    }

    @Test(arguments: allDevices)
    func broadcastingBinary(device: Device) throws {
        let b = try backend(device)
        var rng = TestRNG(5)
        let shapes: [([Int], [Int])] = [([7], [7]), ([33, 7], [7]), ([7], [1]), ([1], [257]), ([4, 1, 5], [3, 1]),
                                        ([2, 3, 4, 5], [1, 3, 1, 5]), ([33, 1], [1, 7]), ([2, 1, 3, 1, 2], [3, 5, 1])]
        let ops: [(BinaryOp, (Double, Double) -> Double)] = [(.add, +), (.sub, -), (.mul, *), (.div, /)]
        for (sa, sb) in shapes {
            for (op, f) in ops {
                let a = rng.array(sa.reduce(1, *)), bv = rng.array(sb.reduce(1, *), 0.5, 2)
                let plan = try BroadcastPlan.make(sa, sb, op: "test")
                let (expected, outShape) = Ref.broadcast(a, sa, bv, sb, f)
                #expect(plan.outShape == outShape)
                let c = try poisoned(outShape, on: b)
                try b.binary(op, try tensor(a, sa, on: b), try tensor(bv, sb, on: b), into: c, plan: plan)
                try expectClose(c, expected, rtol: 1e-6, atol: 1e-6, "\(op) \(sa) with \(sb)")
            }
        }
        #expect(throws: DiveError.self) { try BroadcastPlan.make([3, 2], [4], op: "add") }
        report(device, "broadcasting binary ops")
    }

    @Test(arguments: allDevices)
    func reductions(device: Device) throws {
        let b = try backend(device)
        var rng = TestRNG(6)
        // (1, 300, 257) is big enough for the CPU to split one output row's columns across cores.
        for (outer, length, inner) in [(1, 1, 1), (7, 33, 1), (1, 257, 1), (33, 7, 5), (3, 1, 7), (2, 257, 3), (1, 300, 257)] {
            let x = rng.array(outer * length * inner)
            let xt = try tensor(x, [x.count], on: b)
            func ref(_ f: ([Double]) -> Double) -> [Double] {
                (0..<outer).flatMap { o in (0..<inner).map { i in f((0..<length).map { x[(o * length + $0) * inner + i] }) } }
            }
            for (op, f) in [(ReduceOp.sum, { (v: [Double]) in v.reduce(0, +) }), (.mean, { $0.reduce(0, +) / Double($0.count) }),
                            (.max, { $0.max()! })] {
                let y = try poisoned([outer * inner], on: b)
                try b.reduce(op, xt, into: y, outer: outer, length: length, inner: inner)
                try expectClose(y, ref(f), rtol: 1e-5, atol: 1e-5, "\(op) (\(outer), \(length), \(inner))")
            }
            let idx = try poisoned([outer * inner], on: b, dtype: .int32)
            try b.reduce(.argmax, xt, into: idx, outer: outer, length: length, inner: inner)
            #expect(try idx.toDoubleArray() == ref { v in Double(v.firstIndex(of: v.max()!)!) }, "argmax (\(outer), \(length), \(inner))")
        }
        report(device, "reductions")
    }
}
