// Optimisers: SGD (with the book's `sgd(params, lr, batch_size)`), Adam with PyTorch's defaults
// and bias correction, and AdamW. Each step is one fused update of every parameter with a gradient
// (one launch per 16 parameters on OpenCL); a one-element device tensor from `GradientClipping`
// may scale every gradient inside that update. Every tensor a step reads is checked first (device,
// shape, dtype), so a bad step throws and changes nothing.
import Dive

/// An optimiser over a fixed list of parameters.
public protocol Optimizer: AnyObject {
    var parameters: [Tensor] { get }
    /// The learning rate of the next step (schedules set it).
    var lr: Float { get set }
    /// Steps taken so far.
    var stepCount: Int { get set }
    /// Updates every parameter that has a gradient; `gradScale` (one element) multiplies gradients.
    func step(gradScale: Tensor?) throws
    /// Named state tensors for checkpoints (moments), in a fixed order.
    var stateTensors: [(name: String, tensor: Tensor)] { get }
}

extension Optimizer {
    /// Updates every parameter that has a gradient, with the gradients unscaled.
    public func step() throws { try step(gradScale: nil) }
    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Plain SGD: p ← p − lr · g.
public final class SGD: Optimizer {
    /// The parameters this optimiser updates, in a fixed order.
    public let parameters: [Tensor]
    /// The learning rate of the next step (schedules set it).
    public var lr: Float
    /// Steps taken so far.
    public var stepCount = 0
    /// None: plain SGD keeps no state between steps.
    public var stateTensors: [(name: String, tensor: Tensor)] { [] }

    /// SGD over `parameters` with learning rate `lr`.
    public init(_ parameters: [Tensor], lr: Float) {
        self.parameters = parameters
        self.lr = lr
    }

    /// p ← p − lr · g (g times `gradScale` when given) for every parameter with a gradient, in one fused update; then counts the step.
    public func step(gradScale: Tensor? = nil) throws {
        try Autograd.withoutGrad { try Tensor.sgdUpdate(parameters.filter { $0.grad != nil }, lr: lr, gradScale: gradScale) }
        stepCount += 1
    }

    /// The book's `d2l.sgd(params, lr, batch_size)`: p ← p − lr · g / batch_size.
    public static func sgd(_ parameters: [Tensor], lr: Float, batchSize: Int, gradScale: Tensor? = nil) throws {
        try Autograd.withoutGrad {
            try Tensor.sgdUpdate(parameters.filter { $0.grad != nil }, lr: lr / Float(batchSize), gradScale: gradScale)
        }
    }
}

/// Adam (PyTorch defaults β = (0.9, 0.999), ε = 1e-8, L2 weight decay added to the gradient), or
/// with `decoupled` AdamW (p ← p·(1 − lr·wd) before the Adam update).
public class Adam: Optimizer {
    /// The parameters this optimiser updates, in the order of the moments `m` and `v`.
    public let parameters: [Tensor]
    /// The learning rate of the next step (schedules set it).
    public var lr: Float
    /// The moment decay rates β₁ and β₂, the denominator's ε and the weight decay coefficient.
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Whether weight decay is decoupled (AdamW: p ← p·(1 − lr·wd)) instead of added to the gradient.
    public let decoupled: Bool
    /// Steps taken so far; the bias correction of the next step uses `stepCount + 1`.
    public var stepCount = 0
    /// First and second moments, one pair per parameter.
    public let m: [Tensor], v: [Tensor]

    /// Adam (section 11.10) over `parameters`, with first and second moments starting at zero on each parameter's backend.
    public init(
        _ parameters: [Tensor], lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0, decoupled: Bool = false
    ) throws {
        self.parameters = parameters
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        self.decoupled = decoupled
        m = try parameters.map { try Tensor.zeros($0.shape, on: $0.backend) }
        v = try parameters.map { try Tensor.zeros($0.shape, on: $0.backend) }
    }

    /// The moments as PyTorch names them, `exp_avg.<i>` and `exp_avg_sq.<i>` for parameter i, in parameter order.
    public var stateTensors: [(name: String, tensor: Tensor)] {
        m.indices.flatMap { [("exp_avg.\($0)", m[$0]), ("exp_avg_sq.\($0)", v[$0])] }
    }

    /// One bias-corrected Adam (or AdamW) update of every parameter with a gradient, fused, gradients times `gradScale` when given; then counts the step.
    public func step(gradScale: Tensor? = nil) throws {
        let hyper = AdamHyper(
            lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
            decoupled: decoupled, step: stepCount + 1, gradScale: gradScale)
        let live = parameters.indices.filter { parameters[$0].grad != nil }
        try Autograd.withoutGrad {
            try Tensor.adamUpdate(live.map { parameters[$0] }, m: live.map { m[$0] }, v: live.map { v[$0] }, hyper: hyper)
        }
        stepCount += 1
    }
}

/// AdamW: Adam with decoupled weight decay (PyTorch default weight decay 0.01).
public final class AdamW: Adam {
    /// AdamW over `parameters`: Adam with decoupled weight decay, 0.01 by default.
    public init(
        _ parameters: [Tensor], lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0.01
    ) throws {
        try super.init(parameters, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupled: true)
    }
}
