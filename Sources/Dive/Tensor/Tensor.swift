// `Tensor`: a contiguous, row-major array that lives on one device, with its autograd links.
// Reshapes share storage; every other op writes a new buffer from the backend's pool.

/// A contiguous row-major array on one device with its autograd links; reshapes share storage.
public final class Tensor {
    /// The size of each axis, outermost first.
    public let shape: [Int]
    /// The element type.
    public let dtype: DType
    /// Device memory; shared by reshaped views of the same data. (A `var` so that autograd can
    /// ask whether it is uniquely referenced, and `shareStorage` can point a replica's parameter
    /// at the model's; nothing else reassigns it.)
    public internal(set) var storage: Buffer
    /// The backend that owns the storage and runs every op on this tensor.
    public let backend: Backend

    /// Whether gradients flow into this tensor. Set on parameters; ops propagate it.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf tensor after `backward()`.
    public var grad: Tensor?
    /// How this tensor was computed, when it needs a gradient and is not a leaf.
    var gradNode: GradNode?

    /// Number of elements.
    public let count: Int
    /// The number of axes.
    public var rank: Int { shape.count }
    /// The device the tensor lives on.
    public var device: Device { backend.device }

    init(shape: [Int], dtype: DType, storage: Buffer, backend: Backend, requiresGrad: Bool = false) {
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
        self.backend = backend
        self.requiresGrad = requiresGrad
        self.count = shape.reduce(1, *)
    }

    /// A new tensor with uninitialised contents.
    public static func empty(_ shape: [Int], dtype: DType = .float32, on backend: Backend) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw DiveError.invalidArgument(op: "Tensor", detail: "negative dimension in shape \(shape)")
        }
        let count = shape.reduce(1, *)
        let buffer = try backend.allocate(byteCount: count * dtype.byteSize)
        return Tensor(shape: shape, dtype: dtype, storage: buffer, backend: backend)
    }

    /// An uninitialised tensor like this one (same device), of the given shape and type.
    func emptyLike(_ shape: [Int]? = nil, dtype: DType? = nil) throws -> Tensor {
        try Tensor.empty(shape ?? self.shape, dtype: dtype ?? self.dtype, on: backend)
    }

    /// The same data without autograd history; shares storage.
    public func detached() -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: storage, backend: backend)
    }

    /// Marks this tensor as a leaf that accumulates gradients, and returns it.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// Makes this tensor read and write `source`'s memory from now on (a replica's parameter
    /// sharing the model's, each with its own gradient). Shape, type and device must match.
    public func shareStorage(with source: Tensor) throws {
        guard source.shape == shape, source.dtype == dtype, source.backend === backend else {
            throw DiveError.invalidArgument(
                op: "shareStorage", detail: "\(source) cannot back \(self): shape, type and device must match")
        }
        storage = source.storage
    }
}

extension Tensor: CustomStringConvertible {
    /// "Tensor(shape, dtype, device)", with ", requiresGrad" where set.
    public var description: String {
        "Tensor(\(shape), \(dtype), \(device)\(requiresGrad ? ", requiresGrad" : ""))"
    }
}
