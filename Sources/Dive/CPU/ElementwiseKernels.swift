// The CPU's elementwise operations as types: each unary op with its derivative, each binary op.
// The loops in CPUBackend+Elementwise.swift are generic over these, so the compiler emits one
// specialised (and vectorisable) loop per op instead of calling a closure per element.
import RealModule

protocol UnaryKernel {
    /// y = f(x); `s` is the op's scalar operand (0 when it has none).
    static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T
    /// dx from the input x, the output y and the output gradient dy.
    static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T
}

extension UnaryKernel {
    /// Ops whose backward the ops layer composes (neg and the scalar arithmetic) never call this.
    @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { .nan }
}

protocol BinaryKernel { static func apply<T: CPUFloat>(_ a: T, _ b: T) -> T }

/// The kernels, by op.
enum CPUKernel {
    enum Neg: UnaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { -x } }
    enum AddScalar: UnaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { x + s } }
    enum MulScalar: UnaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { x * s } }
    enum RSubScalar: UnaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { s - x } }
    enum RDivScalar: UnaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { s / x } }
    enum Exp: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { T.exp(x) }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { dy * y }
    }
    enum Log: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { T.log(x) }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { dy / x }
    }
    enum Tanh: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { T.tanh(x) }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { dy * (1 - y * y) }
    }
    enum Sigmoid: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { 1 / (1 + T.exp(-x)) }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { dy * y * (1 - y) }
    }
    enum ReLU: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { x > 0 ? x : 0 }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { x > 0 ? dy : 0 }
    }
    enum Sqrt: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { x.squareRoot() }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { dy * 0.5 / y }
    }
    enum PowScalar: UnaryKernel {
        @inline(__always) static func apply<T: CPUFloat>(_ x: T, _ s: T) -> T { T.pow(x, s) }
        @inline(__always) static func gradient<T: CPUFloat>(_ x: T, _ y: T, _ dy: T, _ s: T) -> T { dy * s * T.pow(x, s - 1) }
    }
    enum Add: BinaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ a: T, _ b: T) -> T { a + b } }
    enum Sub: BinaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ a: T, _ b: T) -> T { a - b } }
    enum Mul: BinaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ a: T, _ b: T) -> T { a * b } }
    enum Div: BinaryKernel { @inline(__always) static func apply<T: CPUFloat>(_ a: T, _ b: T) -> T { a / b } }
}
