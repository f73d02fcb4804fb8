// The fused plain SGD update of a parameter in place: p -= lr · scale · grad.

extension Tensor {
    /// One SGD step on this parameter from its `grad`; `gradScale` (one element, on the same
    /// device) multiplies the gradient first (gradient clipping without a host read).
    public func sgdUpdate(lr: Float, gradScale: Tensor? = nil) throws {
        guard let grad else {
            throw DiveError.autograd(detail: "sgd step on a parameter \(shape) without a gradient; call backward() first")
        }
        try checkSameDevice([grad] + (gradScale.map { [$0] } ?? []), op: "sgd")
        guard grad.count == count, gradScale.map({ $0.count == 1 }) ?? true else {
            throw DiveError.shapeMismatch(op: "sgd", detail: "parameter \(shape), grad \(grad.shape)")
        }
        try backend.sgdStep(param: self, grad: grad, lr: lr, gradScale: gradScale)
    }
}
