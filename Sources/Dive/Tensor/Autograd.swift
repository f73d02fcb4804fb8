// The autograd tape: each op that sees an input requiring gradients records a `GradNode` with a
// backward closure; `backward()` walks the graph in reverse topological order and accumulates
// gradients into the leaves' `grad`. Closures capture detached data, never their own output,
// so no reference cycles form.
// A backward consumes the graph it walks: a second backward through any of its nodes is an error
// (it would add the same gradients again) unless the first one passed `retainGraph: true`.
// A tensor used more than once gathers several gradients. When the gradient gathered so far is
// held by nothing else, the next op may add its own into it in place (a GEMM with beta = 1), so
// the sum costs no launch of its own.

final class GradNode {
    /// The op's inputs, in the order the backward closure returns their gradients.
    let inputs: [Tensor]
    /// Given the gradient of the output and, per input, a gradient gathered so far that the op may
    /// add into in place (nil where there is none to share), the gradients of the inputs (nil where
    /// not needed). An op that added into `gathered[i]` returns that same tensor for input i.
    let backward: (_ gradient: Tensor, _ gathered: [Tensor?]) throws -> [Tensor?]
    /// Set once a backward without `retainGraph` has run through this node.
    var consumed = false

    init(inputs: [Tensor], backward: @escaping (Tensor, [Tensor?]) throws -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

/// The switch for gradient recording: ops record a backward only while it is enabled for the task.
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
        record(inputs: inputs) { g, _ in try backward(g) }
    }

    /// Attaches a backward that may add its input gradients into those gathered so far (see
    /// `GradNode.backward`).
    func record(inputs: [Tensor], accumulatingBackward backward: @escaping (Tensor, [Tensor?]) throws -> [Tensor?]) {
        requiresGrad = true
        gradNode = GradNode(inputs: inputs, backward: backward)
    }

    /// Back-propagates from this tensor. A scalar needs no seed; otherwise pass `gradient`
    /// (the gradient of some scalar with respect to this tensor). Leaves' `grad` accumulate.
    /// The graph is consumed: a later backward through any part of it throws (and changes no
    /// gradient) unless this one passes `retainGraph: true`.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) throws {
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
            if tensor.gradNode?.consumed == true {
                throw DiveError.autograd(
                    detail:
                        "backward() through a graph that an earlier backward() already used; pass retainGraph: true to that one to go through it again"
                )
            }
            stack.append((tensor, true))
            for input in tensor.gradNode?.inputs ?? []
            where input.requiresGrad
                && !visited.contains(ObjectIdentifier(input))
            {
                stack.append((input, false))
            }
        }

        if !retainGraph { for tensor in order { tensor.gradNode?.consumed = true } }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        try Autograd.withoutGrad {
            for tensor in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                guard let node = tensor.gradNode else {
                    tensor.grad = try tensor.grad.map { try $0 + g } ?? g
                    continue
                }
                var offered = Set<ObjectIdentifier>()
                let gathered = node.inputs.map { input -> Tensor? in
                    let key = ObjectIdentifier(input)
                    guard input.requiresGrad, offered.insert(key).inserted else { return nil }
                    return Tensor.exclusive(&grads[key]) ? grads[key] : nil
                }
                let inputGrads = try node.backward(g, gathered)
                for (input, inputGrad) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let inputGrad else { continue }
                    guard inputGrad.shape == input.shape else {
                        throw DiveError.autograd(
                            detail: "backward produced a gradient of shape \(inputGrad.shape) for an input of shape \(input.shape)")
                    }
                    let key = ObjectIdentifier(input)
                    if let sum = grads[key], sum === inputGrad { continue }  // added in place
                    grads[key] = try grads[key].map { try $0 + inputGrad } ?? inputGrad
                }
            }
        }
    }

    /// Whether `gradient` is held only here and shares its storage with no other tensor, so that
    /// adding into it in place changes nothing else (views never qualify: others may overlap).
    static func exclusive(_ gradient: inout Tensor?) -> Bool {
        guard gradient != nil, isKnownUniquelyReferenced(&gradient!) else { return false }
        return gradient!.storage.viewed == nil && isKnownUniquelyReferenced(&gradient!.storage)
    }

    /// Clears `grad`.
    public func zeroGrad() { grad = nil }
}
