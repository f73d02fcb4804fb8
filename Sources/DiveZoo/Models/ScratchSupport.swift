// Pieces shared by the from-scratch models of 8.5, 9.1 and 9.2: the book's parameter
// initialisation (N(0, 0.01²) weights, zero biases), per-step inputs, the loop over time and the
// output layer.
import Dive
import DiveNN

enum Scratch {
    /// The book's `normal(shape)`: randn · 0.01.
    static func weight(_ shape: [Int], on backend: Backend, rng: HostRNG) throws -> Tensor {
        try Initializer.normal(std: 0.01).make(shape, on: backend, rng: rng)
    }

    static func zeros(_ n: Int, on backend: Backend) throws -> Tensor { try Tensor.zeros([n], on: backend) }

    /// Per time step the (B) token indices of tokens (T, B).
    static func steps(_ tokens: Tensor) throws -> [Tensor] {
        let T = tokens.shape[0], B = tokens.shape[1]
        return try (0..<T).map { try tokens.slice(axis: 0, $0..<($0 + 1)).reshaped([B]) }
    }

    /// one_hot(X_t) · W for a (V, H) weight: the same values and gradient as the book's
    /// product with a one-hot matrix, computed as a row lookup.
    static func inputProduct(_ w: Tensor, _ x: Tensor) throws -> Tensor { try Tensor.embedding(w, indices: x) }

    /// The book's loop over time: H_t = step(X_t, H_{t-1}) from `h` for the (B) tokens of every
    /// step, then the output layer on every H_t: the logits (T·B, V) and the state of the last H.
    static func unroll(
        _ tokens: Tensor, from h: Tensor, wHQ: Tensor, bQ: Tensor,
        step: (_ x: Tensor, _ h: Tensor) throws -> Tensor
    ) throws -> (logits: Tensor, state: RecurrentState) {
        var h = h  // (B, H)
        var hs: [Tensor] = []
        for x in try steps(tokens) {
            h = try step(x, h)
            hs.append(h)
        }
        return (try output(hs, wHQ: wHQ, bQ: bQ), RecurrentState(h: h))
    }

    /// The book's output layer applied to every step: cat(H_t) (T·B, H) · W_hq + b_q → (T·B, V).
    static func output(_ hs: [Tensor], wHQ: Tensor, bQ: Tensor) throws -> Tensor {
        let all = hs.count == 1 ? hs[0] : try Tensor.concat(hs, axis: 0)
        return try all.matmul(wHQ) + bQ
    }
}

extension LanguageModel {
    /// The forward of a scratch model whose state is h alone (8.5, 9.1): `checkLayout`, then
    /// `Scratch.unroll` from the state's h.
    func unrollScratch(
        _ tokens: Tensor, state: RecurrentState, wHQ: Tensor, bQ: Tensor,
        step: (_ x: Tensor, _ h: Tensor) throws -> Tensor
    ) throws -> (logits: Tensor, state: RecurrentState) {
        try checkLayout(tokens, state: state)
        return try Scratch.unroll(tokens, from: state.h, wHQ: wHQ, bQ: bQ, step: step)
    }
}
