// Gradient clipping by the global L2 norm (the book's `grad_clipping`): scale = min(1, θ / norm),
// computed on the device by one norm primitive (exactly 1 when norm ≤ θ).
import Dive

/// Gradient clipping by the global L2 norm over all parameters (the book's `grad_clipping`, section 8.5).
public enum GradientClipping {
    /// The one-element scale for the parameters' gradients, on their device (no host read):
    /// pass it to `Optimizer.step(gradScale:)`. Parameters without a gradient are skipped.
    public static func scale(_ parameters: [Tensor], maxNorm: Float) throws -> Tensor? {
        let grads = parameters.compactMap(\.grad)
        guard !grads.isEmpty else { return nil }
        return try Tensor.clipScale(grads, maxNorm: maxNorm)
    }

    /// Multiplies every gradient by `scale(...)` in place of the old gradient and returns the norm
    /// before clipping (a host read, for logging).
    @discardableResult
    public static func clip(_ parameters: [Tensor], maxNorm: Float) throws -> Double {
        guard let s = try scale(parameters, maxNorm: maxNorm) else { return 0 }
        let norm = try Autograd.withoutGrad { try Tensor.globalNorm(parameters.compactMap(\.grad)) }.item()
        try Autograd.withoutGrad {
            for p in parameters { if let g = p.grad { p.grad = try g * s } }
        }
        return norm
    }
}
