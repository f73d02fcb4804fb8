// Elementwise ops with broadcasting: + - * / between tensors and with scalars, and the unary
// functions. Each records its backward.

extension Tensor {
    // MARK: binary

    func binary(_ op: BinaryOp, _ other: Tensor, name: String) throws -> Tensor {
        try checkSameDevice([other], op: name)
        try checkFloat(op: name)
        guard dtype == other.dtype else {
            throw DiveError.unsupportedDType(op: name, dtype: other.dtype, device: backend.displayName)
        }
        let plan = try BroadcastPlan.make(shape, other.shape, op: name)
        let out = try emptyLike(plan.outShape)
        try backend.binary(op, self, other, into: out, plan: plan)
        if Autograd.shouldRecord([self, other]) {
            let a = detached(), b = other.detached()
            let needA = requiresGrad, needB = other.requiresGrad
            out.record(inputs: [self, other]) { g in
                switch op {
                case .add: return [needA ? try g.sumTo(a.shape) : nil, needB ? try g.sumTo(b.shape) : nil]
                case .sub: return [needA ? try g.sumTo(a.shape) : nil, needB ? try (-g).sumTo(b.shape) : nil]
                case .mul: return [needA ? try (g * b).sumTo(a.shape) : nil, needB ? try (g * a).sumTo(b.shape) : nil]
                case .div:
                    return [
                        needA ? try (g / b).sumTo(a.shape) : nil,
                        needB ? try (-(g * a) / (b * b)).sumTo(b.shape) : nil
                    ]
                }
            }
        }
        return out
    }

    /// Elementwise a + b with NumPy broadcasting; the gradient of each operand is summed back to its shape.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b, name: "add") }
    /// Elementwise a - b with NumPy broadcasting; the gradient of each operand is summed back to its shape.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.sub, b, name: "sub") }
    /// Elementwise a · b with NumPy broadcasting; the gradient of each operand is summed back to its shape.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.mul, b, name: "mul") }
    /// Elementwise a / b with NumPy broadcasting; the gradient of each operand is summed back to its shape.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.div, b, name: "div") }

    // MARK: unary

    func unary(_ op: UnaryOp, name: String) throws -> Tensor {
        try checkFloat(op: name)
        let out = try emptyLike()
        try backend.unary(op, self, into: out)
        if Autograd.shouldRecord([self]) {
            let x = detached(), y = out.detached()
            out.record(inputs: [self]) { g in
                switch op {
                case .neg: return [try -g]
                case .addScalar: return [g]
                case .mulScalar(let s): return [try g * s]
                case .rsubScalar: return [try -g]
                case .rdivScalar(let s): return [try -(g * s) / (x * x)]
                case .exp, .log, .tanh, .sigmoid, .relu, .sqrt, .powScalar:
                    let dx = try g.emptyLike()
                    try g.backend.unaryBackward(op, input: x, output: y, gradOutput: g, into: dx)
                    return [dx]
                }
            }
        }
        return out
    }

    /// Elementwise negation, -x.
    public static prefix func - (x: Tensor) throws -> Tensor { try x.unary(.neg, name: "neg") }
    /// Elementwise eˣ.
    public func exp() throws -> Tensor { try unary(.exp, name: "exp") }
    /// Elementwise natural logarithm.
    public func log() throws -> Tensor { try unary(.log, name: "log") }
    /// Elementwise hyperbolic tangent.
    public func tanh() throws -> Tensor { try unary(.tanh, name: "tanh") }
    /// Elementwise logistic sigmoid, 1 / (1 + e⁻ˣ).
    public func sigmoid() throws -> Tensor { try unary(.sigmoid, name: "sigmoid") }
    /// Elementwise max(0, x).
    public func relu() throws -> Tensor { try unary(.relu, name: "relu") }
    /// Elementwise square root.
    public func sqrt() throws -> Tensor { try unary(.sqrt, name: "sqrt") }
    /// Elementwise xᵉ for a scalar exponent e.
    public func pow(_ exponent: Float) throws -> Tensor { try unary(.powScalar(exponent), name: "pow") }

    /// Adds the scalar s to every element.
    public static func + (a: Tensor, s: Float) throws -> Tensor { try a.unary(.addScalar(s), name: "add") }
    /// Adds the scalar s to every element.
    public static func + (s: Float, a: Tensor) throws -> Tensor { try a.unary(.addScalar(s), name: "add") }
    /// Subtracts the scalar s from every element.
    public static func - (a: Tensor, s: Float) throws -> Tensor { try a.unary(.addScalar(-s), name: "sub") }
    /// s - x for every element x.
    public static func - (s: Float, a: Tensor) throws -> Tensor { try a.unary(.rsubScalar(s), name: "sub") }
    /// Multiplies every element by the scalar s.
    public static func * (a: Tensor, s: Float) throws -> Tensor { try a.unary(.mulScalar(s), name: "mul") }
    /// Multiplies every element by the scalar s.
    public static func * (s: Float, a: Tensor) throws -> Tensor { try a.unary(.mulScalar(s), name: "mul") }
    /// Divides every element by the scalar s (a multiplication by 1 / s).
    public static func / (a: Tensor, s: Float) throws -> Tensor { try a.unary(.mulScalar(1 / s), name: "div") }
    /// s / x for every element x.
    public static func / (s: Float, a: Tensor) throws -> Tensor { try a.unary(.rdivScalar(s), name: "div") }

    /// self += scale · x in place, with no autograd (a running sum that stays on the device, such
    /// as an epoch's loss). x must have this tensor's element count and type.
    public func accumulate(_ x: Tensor, scale: Float = 1) throws {
        try checkFloat(op: "accumulate")
        try checkSameDevice([x], op: "accumulate")
        guard x.count == count, x.dtype == dtype else {
            throw DiveError.shapeMismatch(op: "accumulate", detail: "adding \(x.shape) \(x.dtype) into \(shape) \(dtype)")
        }
        try backend.accumulate(x, scale: scale, into: self)
    }
}
