// The autograd tape: each op that sees an input requiring gradients records a `GradNode` with a
// backward closure; `backward()` walks the graph in reverse topological order and accumulates
// gradients into the leaves' `grad`. Closures capture detached data, never their own output,
// so no reference cycles form.

final class GradNode {
    /// The op's inputs, in the order the backward closure returns their gradients.
    let inputs: [Tensor]
    /// Given the gradient of the output, the gradients of the inputs (nil where not needed).
    let backward: (Tensor) throws -> [Tensor?]

    init(inputs: [Tensor], backward: @escaping (Tensor) throws -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

public enum Autograd {
    @TaskLocal static var isEnabled = true

    /// Runs `body` without recording gradients (evaluation, optimiser updates).
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        try $isEnabled.withValue(false) { try body() }
    }

    /// Whether an op on these inputs must record a backward.
    @inline(__always)
    static func shouldRecord(_ inputs: [Tensor]) -> Bool {
        inputs.contains { $0.requiresGrad } && isEnabled
    }
}

extension Tensor {
    /// Attaches a backward to this freshly computed tensor.
    func record(inputs: [Tensor], backward: @escaping (Tensor) throws -> [Tensor?]) {
        requiresGrad = true
        gradNode = GradNode(inputs: inputs, backward: backward)
    }

    /// Back-propagates from this tensor. A scalar needs no seed; otherwise pass `gradient`
    /// (the gradient of some scalar with respect to this tensor). Leaves' `grad` accumulate.
    public func backward(_ gradient: Tensor? = nil) throws {
        guard requiresGrad else {
            throw DiveError.autograd(detail: "backward() on a tensor that does not require gradients")
        }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                throw DiveError.shapeMismatch(op: "backward", detail: "gradient \(gradient.shape) for tensor \(shape)")
            }
            seed = gradient
        } else {
            guard count == 1 else {
                throw DiveError.autograd(detail: "backward() without a gradient needs a one-element tensor, not \(shape)")
            }
            seed = try Tensor.ones(shape, dtype: dtype, on: backend)
        }

        // Reverse topological order by depth-first search from self (iterative: deep RNN graphs).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.gradNode?.inputs ?? [] where input.requiresGrad
                && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        try Autograd.withoutGrad {
            for tensor in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                guard let node = tensor.gradNode else {
                    tensor.grad = try tensor.grad.map { try $0 + g } ?? g
                    continue
                }
                let inputGrads = try node.backward(g)
                for (input, inputGrad) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let inputGrad else { continue }
                    guard inputGrad.shape == input.shape else {
                        throw DiveError.autograd(detail: "backward produced a gradient of shape \(inputGrad.shape) for an input of shape \(input.shape)")
                    }
                    let key = ObjectIdentifier(input)
                    grads[key] = try grads[key].map { try $0 + inputGrad } ?? inputGrad
                }
            }
        }
    }

    /// Clears `grad`.
    public func zeroGrad() { grad = nil }
}
