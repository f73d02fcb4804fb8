// `Module`: a tree of named parameters and child modules with PyTorch's `state_dict` names
// (`encoder.rnn.weight_ih_l0`), train/eval mode and one random stream for every dropout inside.
import Dive

/// Base class of every layer and model. Subclasses create their parameters and children, call
/// `super.init()`, then `register` them in PyTorch's order (that order is the `state_dict` order).
open class Module {
    /// Training mode (dropout active); `eval()` turns it off for the whole tree.
    public private(set) var isTraining = true
    /// The stream every dropout in this tree draws its masks from; a checkpoint saves its state.
    public private(set) var randomStream = RandomStream(seed: 0)
    private var ownParameters: [(name: String, tensor: Tensor)] = []
    private var ownChildren: [(name: String, module: Module)] = []

    /// A module with no parameters or children, in training mode, drawing dropout masks from a stream seeded 0.
    public init() {}

    /// Adds a parameter under `name` (marks it as requiring gradients) and returns it.
    @discardableResult
    public func register(_ name: String, _ parameter: Tensor) -> Tensor {
        parameter.requiringGrad()
        ownParameters.append((name, parameter))
        return parameter
    }

    /// Adds a child module under `name`; it shares this module's mode and random stream.
    @discardableResult
    public func register<M: Module>(_ name: String, _ child: M) -> M {
        ownChildren.append((name, child))
        child.setMode(training: isTraining)
        child.useRandomStream(randomStream)
        return child
    }

    /// Every parameter with its dotted path, depth first in registration order.
    public func namedParameters(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var all = ownParameters.map { (prefix + $0.name, $0.tensor) }
        for (name, child) in ownChildren { all += child.namedParameters(prefix: prefix + name + ".") }
        return all
    }

    /// Every parameter, in `namedParameters` order (without making the names: steps ask for these).
    public var parameters: [Tensor] { ownParameters.map(\.tensor) + ownChildren.flatMap(\.module.parameters) }

    /// The direct children with their names.
    public var children: [(name: String, module: Module)] { ownChildren }

    /// Number of scalar parameters (PyTorch's `sum(p.numel() for p in net.parameters())`).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// The parameter at a dotted path, or nil.
    public func parameter(named name: String) -> Tensor? {
        namedParameters().first { $0.name == name }?.tensor
    }

    /// Training mode for this module and all its children.
    public func train(_ on: Bool = true) { setMode(training: on) }
    /// Evaluation mode: dropout off.
    public func eval() { setMode(training: false) }

    private func setMode(training: Bool) {
        isTraining = training
        for (_, child) in ownChildren { child.setMode(training: training) }
    }

    /// Makes every dropout in the tree draw from `stream` (seed it once at the root).
    public func useRandomStream(_ stream: RandomStream) {
        randomStream = stream
        for (_, child) in ownChildren { child.useRandomStream(stream) }
    }

    /// Makes every parameter read and write the memory of `source`'s parameter of the same name
    /// (a replica of a model for one shard of a minibatch: the weights shared, each replica's
    /// gradients its own). Both trees must have the same parameter names and shapes.
    public func shareParameters(with source: Module) throws {
        let mine = namedParameters(), theirs = source.namedParameters()
        guard mine.map(\.name) == theirs.map(\.name) else {
            throw DiveError.invalidArgument(op: "shareParameters", detail: "the two modules have different parameters")
        }
        for (m, t) in zip(mine, theirs) { try m.tensor.shareStorage(with: t.tensor) }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// The backend the parameters live on (nil for a module without parameters).
    public var backend: Backend? {
        ownParameters.first?.tensor.backend ?? ownChildren.lazy.compactMap(\.module.backend).first
    }
}
