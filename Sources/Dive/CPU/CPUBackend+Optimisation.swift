// CPU optimiser steps (Ops/Optimisation.swift): SGD and Adam/AdamW over lists of parameters, and
// the global gradient norm for clipping.
import Foundation
import RealModule

extension CPUBackend {
    /// p -= lr · gradScale[0] · g for every parameter, in place.
    public func sgdStep(params: [Tensor], grads: [Tensor], lr: Float, gradScale: Tensor?) throws {
        for (param, grad) in zip(params, grads) {
            if try isDouble(param, "sgdStep") {
                sgdLoop(param, grad, lr, gradScale, Double.self)
            } else {
                sgdLoop(param, grad, lr, gradScale, Float.self)
            }
        }
    }

    private func sgdLoop<T: CPUFloat>(_ param: Tensor, _ grad: Tensor, _ lr: Float, _ gradScale: Tensor?, _: T.Type) {
        let p = param.cpuPointer(T.self), g = grad.cpuPointer(T.self)
        let step = T(lr) * (gradScale.map { $0.cpuPointer(T.self)[0] } ?? 1)
        Parallel.forRanges(param.count, costPerItem: 4, family: .elementwise) { r in for i in r { p[i] -= step * g[i] } }
    }

    /// PyTorch's Adam (or AdamW when `decoupled`) update of every parameter and its moments, in place.
    public func adamStep(params: [Tensor], grads: [Tensor], m: [Tensor], v: [Tensor], hyper h: AdamHyper) throws {
        for i in params.indices {
            if try isDouble(params[i], "adamStep") {
                adamLoop(params[i], grads[i], m[i], v[i], h, Double.self)
            } else {
                adamLoop(params[i], grads[i], m[i], v[i], h, Float.self)
            }
        }
    }

    /// PyTorch's Adam: m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²;
    /// p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε). Adam adds wd·p to g; AdamW scales p by 1 - lr·wd.
    private func adamLoop<T: CPUFloat>(_ param: Tensor, _ grad: Tensor, _ m: Tensor, _ v: Tensor, _ h: AdamHyper, _ type: T.Type) {
        let p = param.cpuPointer(T.self), g = grad.cpuPointer(T.self)
        let mp = m.cpuPointer(T.self), vp = v.cpuPointer(T.self)
        let gscale: T = h.gradScale.map { $0.cpuPointer(T.self)[0] } ?? 1
        let b1 = T(h.beta1), b2 = T(h.beta2), lr = T(h.lr), wd = T(h.weightDecay), eps = T(h.eps)
        let c1 = 1 - T.pow(b1, T(h.step)), c2 = 1 - T.pow(b2, T(h.step))
        let stepSize = lr / c1, c2root = c2.squareRoot()
        let decay: T = h.decoupled ? 1 - lr * wd : 1
        let l2: T = h.decoupled ? 0 : wd
        if T.self == Float.self {  // the vector kernel
            let f = { (x: T) in Float(x) }
            let (pf, gf) = (param.cpuPointer(Float.self), grad.cpuPointer(Float.self))
            let (mf, vf) = (m.cpuPointer(Float.self), v.cpuPointer(Float.self))
            Parallel.forRanges(param.count, costPerItem: 16, family: .elementwise) { r in
                CPUKernels.table.adam_update(
                    pf + r.lowerBound, gf + r.lowerBound, mf + r.lowerBound, vf + r.lowerBound, r.count, f(gscale), f(l2), f(b1),
                    f(b2), f(decay), f(stepSize), f(c2root), f(eps))
            }
            return
        }
        Parallel.forRanges(param.count, costPerItem: 16, family: .elementwise) { r in
            for i in r {
                let gi = g[i] * gscale + l2 * p[i]
                mp[i] = b1 * mp[i] + (1 - b1) * gi
                vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                p[i] = p[i] * decay - stepSize * mp[i] / (vp[i].squareRoot() / c2root + eps)
            }
        }
    }

    /// Writes the tensors' joint L2 norm (squares summed in Float64), or with `clipTo` the clipping scale.
    public func globalNorm(_ tensors: [Tensor], clipTo maxNorm: Float?, into out: Tensor) throws {
        var total = 0.0
        for t in tensors {
            if try isDouble(t, "globalNorm") {
                let p = t.cpuPointer(Double.self)
                for i in 0..<t.count { total += p[i] * p[i] }
            } else {
                total += Double(CPUKernels.table.sum_of_squares(t.cpuPointer(Float.self), t.count))
            }
        }
        let norm = total.squareRoot()
        let result = maxNorm.map { norm > Double($0) ? Double($0) / norm : 1 } ?? norm
        if out.dtype == .float64 { out.cpuPointer(Double.self)[0] = result } else { out.cpuPointer(Float.self)[0] = Float(result) }
    }
}
