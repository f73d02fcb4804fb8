// Optimisers over 10 steps against float64 references, schedules against their formulas at
// step 0, at the warmup and far beyond (a warmup longer than the run refused), clipping exactly when the norm exceeds θ, and losses.
import Dive
import DiveNN
import DiveReference
import Foundation
import Testing

@Suite("DiveNNOptim", .serialized) struct OptimizerTests {
    /// Fixed problem: loss = Σ (p ⊙ a − t)², gradient 2a(p·a − t), on two parameters.
    static let a = [0.5, -1.5, 2, 0.25, 1, -0.75, 3], t = [1.0, 0.5, -2, 0.3, 0, 1, -1], p0 = [0.1, -0.2, 0.3, 0.7, -0.9, 0.05, 1.2]

    static func referenceRun(_ kind: String, steps: Int = 10) -> [Double] {
        var p = p0, m = [Double](repeating: 0, count: 7), v = m
        let lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = kind == "adamw" ? 0.1 : (kind == "adam" ? 0.01 : 0)
        for step in 1...steps {
            for i in 0..<7 {
                var g = 2 * a[i] * (p[i] * a[i] - t[i])
                switch kind {
                case "sgd": p[i] -= lr * g
                default:
                    if kind == "adam" { g += wd * p[i] } else { p[i] *= 1 - lr * wd }
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let mh = m[i] / (1 - pow(b1, Double(step))), vh = v[i] / (1 - pow(b2, Double(step)))
                    p[i] -= lr * mh / (vh.squareRoot() + eps)
                }
            }
        }
        return p
    }

    @Test(arguments: allDevices)
    func optimisersMatchFloat64Over10Steps(device: Device) throws {
        let b = try backend(device)
        for kind in ["sgd", "adam", "adamw"] {
            // Two parameters (4 and 3 elements) so the update covers a list.
            let p1 = try f32(Array(Self.p0[0..<4]), [4], on: b).requiringGrad(),
                p2 = try f32(Array(Self.p0[4...]), [3], on: b).requiringGrad()
            let opt: Optimizer =
                kind == "sgd"
                ? SGD([p1, p2], lr: 0.05)
                : kind == "adam" ? try Adam([p1, p2], lr: 0.05, weightDecay: 0.01) : try AdamW([p1, p2], lr: 0.05, weightDecay: 0.1)
            let av = try f32(Self.a, [7], on: b), tv = try f32(Self.t, [7], on: b)
            for _ in 0..<10 {
                opt.zeroGrad()
                let d = try Tensor.concat([p1, p2], axis: 0) * av - tv
                try (d * d).sum().backward()
                try opt.step()
            }
            let got = try p1.toDoubleArray() + p2.toDoubleArray()
            let c = closeness(got, Self.referenceRun(kind), rtol: 1e-4, atol: 1e-5)
            #expect(c <= 1, "\(kind) on \(device): \(got) vs \(Self.referenceRun(kind))")
        }
        report(device, "SGD, Adam, AdamW over 10 steps")
    }

    @Test(arguments: allDevices)
    func clippingRescalesOnlyAboveTheta(device: Device) throws {
        let b = try backend(device)
        let p = try Tensor.zeros([2], on: b).requiringGrad(), q = try Tensor.zeros([1], on: b).requiringGrad()
        // Gradients (3, 4) and (12): norm 13.
        for (theta, expected) in [(1.0, 1.0 / 13), (13.0, 1.0), (20.0, 1.0), (12.99, 12.99 / 13)] {
            p.grad = try f32([3, 4], [2], on: b); q.grad = try f32([12], [1], on: b)
            let s = try GradientClipping.scale([p, q], maxNorm: Float(theta))!.item()
            if expected == 1 {
                #expect(s == 1, "θ \(theta): scale \(s) must be exactly 1 on \(device)")
            } else {
                #expect(abs(s - expected) <= 1e-6, "θ \(theta): scale \(s) vs \(expected) on \(device)")
            }
        }
        // Applied through SGD's fused step.
        p.grad = try f32([3, 4], [2], on: b); q.grad = try f32([12], [1], on: b)
        let sgd = SGD([p, q], lr: 1)
        try sgd.step(gradScale: GradientClipping.scale([p, q], maxNorm: 1))
        let got = try p.toDoubleArray() + q.toDoubleArray()
        #expect(closeness(got, [-3.0 / 13, -4.0 / 13, -12.0 / 13], rtol: 1e-5, atol: 1e-6) <= 1, "clipped SGD step \(got)")
        report(device, "gradient clipping")
    }

    @Test func schedulesMatchFormulas() throws {
        func close(_ a: Float, _ b: Double, _ what: String) {
            #expect(abs(Double(a) - b) <= 1e-6 * max(1, abs(b)), "\(what): \(a) vs \(b)")
        }
        let noam = TransformerWarmupLR(dModel: 512, warmup: 4000)
        for s in [1, 4000, 100_000] {  // step s − 1 is the paper's update s
            close(noam.lr(at: s - 1), pow(512, -0.5) * min(pow(Double(s), -0.5), Double(s) * pow(4000, -1.5)), "noam \(s)")
        }
        let cos = try CosineWarmupLR(maxUpdate: 20, baseLR: 0.3, finalLR: 0.01, warmupSteps: 5, warmupBeginLR: 0)
        close(cos.lr(at: 0), 0.3 / 5, "cosine warmup: step 0 already moves the parameters")
        close(cos.lr(at: 1), 0.3 * 2 / 5, "cosine warmup 1")
        close(cos.lr(at: 4), 0.3, "cosine at warmup end"); close(cos.lr(at: 5), 0.3, "cosine start")
        close(cos.lr(at: 12), 0.01 + 0.29 * (1 + Foundation.cos(Double.pi * 7 / 15)) / 2, "cosine 12")
        close(cos.lr(at: 20), 0.01, "cosine at max"); close(cos.lr(at: 1000), 0.01, "cosine far beyond")
        let noWarm = try CosineWarmupLR(maxUpdate: 20, baseLR: 0.3, finalLR: 0.01)
        close(noWarm.lr(at: 0), 0.3, "cosine without warmup 0")
        #expect(throws: DiveError.invalidArgument(op: "CosineWarmupLR", detail: "a warmup of 30 steps is longer than the run's 20")) {
            try CosineWarmupLR(maxUpdate: 20, warmupSteps: 30)
        }
        close(ConstantLR(0.3).lr(at: 999), 0.3, "constant")
        let f = FactorLR(factor: 0.9, stopFactorLR: 1e-2, baseLR: 2)
        close(f.lr(at: 1), 1.8, "factor 1"); close(f.lr(at: 10), 2 * pow(0.9, 10), "factor 10"); close(f.lr(at: 1000), 1e-2, "factor floor")
        let sq = SquareRootLR(lr: 0.1)
        close(sq.lr(at: 1), 0.1 / 2.0.squareRoot(), "sqrt 1"); close(sq.lr(at: 99), 0.01, "sqrt 99")
        let ms = MultiStepLR(baseLR: 0.5, milestones: [15, 30], gamma: 0.5)
        close(ms.lr(at: 1), 0.5, "multistep 1"); close(ms.lr(at: 15), 0.25, "multistep 15"); close(ms.lr(at: 1000), 0.125, "multistep far")
    }

    @Test(arguments: allDevices)
    func lossesMatchTheBook(device: Device) throws {
        let b = try backend(device)
        // The book's demo: ones(3, 4, 10) logits, zeros targets, lengths [4, 2, 0] → [2.3026, 1.1513, 0].
        let logits = try Tensor.ones([3, 4, 10], on: b), targets = try Tensor([Int32](repeating: 0, count: 12), shape: [3, 4], on: b)
        let l = try Loss.maskedSoftmaxCE(logits, targets: targets, validLens: [4, 2, 0]).toDoubleArray()
        let ln10 = Foundation.log(10.0)
        #expect(closeness(l, [ln10, ln10 / 2, 0], rtol: 1e-5, atol: 1e-6) <= 1, "masked CE \(l)")
        let tok = try Loss.maskedTokenMeanCE(logits, targets: targets, validLens: [4, 2, 0]).item()
        #expect(abs(tok - ln10) < 1e-5)
        // Plain CE with label smoothing ε over V: uniform logits give log V regardless of ε.
        let ce = try Loss.crossEntropy(logits.reshaped([12, 10]), targets: targets.reshaped([12]), labelSmoothing: 0.1).item()
        #expect(abs(ce - ln10) < 1e-5)
        let mse = try Loss.mse(f32([1, 2, 3], [3], on: b), f32([1, 0, 0], [3], on: b)).item()
        #expect(abs(mse - 13.0 / 3) < 1e-5)
        report(device, "losses")
    }
}
