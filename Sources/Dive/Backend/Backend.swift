// `Backend`: the primitives every device implements. The ops layer (Sources/Dive/Ops) allocates
// outputs and records gradients; a backend only computes. All tensors are contiguous and
// row-major. A primitive missing from a backend is a compile error, never a copy to the host.

/// The compute primitives a device implements (CPU, OpenCL, CUDA) over contiguous row-major tensors; the ops
/// layer allocates outputs and records gradients.
public protocol Backend: AnyObject {
    /// The concrete device (never `.auto`).
    var device: Device { get }
    /// One line for messages and listings, e.g. "opencl:0 (pthread-haswell-AMD EPYC, PoCL)".
    var displayName: String { get }

    // MARK: memory
    /// Device memory of `byteCount` bytes, uninitialised, usually from the backend's pool.
    func allocate(byteCount: Int) throws -> Buffer
    /// `byteCount` bytes of `buffer`'s allocation from `byteOffset` (counted in that allocation)
    /// as a buffer of their own, sharing the memory; nil where the device cannot address memory
    /// starting there (OpenCL sub-buffers start at the device's base-address alignment).
    func view(_ buffer: Buffer, byteOffset: Int, byteCount: Int) throws -> Buffer?
    /// Copies host bytes into the buffer (a device may queue the copy without waiting).
    func upload(_ bytes: UnsafeRawBufferPointer, to buffer: Buffer) throws
    /// Waits for queued work, then copies the buffer out.
    func download(_ buffer: Buffer, to bytes: UnsafeMutableRawBufferPointer) throws
    /// Returns when every queued operation has finished.
    func synchronize() throws
    /// Host memory of `byteCount` bytes that this device copies to and from at full speed (CUDA:
    /// page-locked; elsewhere ordinary), for a transfer made every step such as the gradients'
    /// all-reduce; give it back with `freeHost`.
    func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer
    /// Gives back host memory from `allocateHost`.
    func freeHost(_ pointer: UnsafeMutableRawPointer)
    /// Runs one training step (forward, backward, optimiser). With `asGraph`, a backend that can
    /// queues the step's work as one unit (CUDA graphs); the default runs it as it comes.
    func runStep(asGraph: Bool, _ body: () throws -> Void) throws
    /// What this device's work has cost so far (launches, transfers, waits); the CPU launches nothing.
    var trace: DeviceTrace { get }

    // MARK: data movement
    /// Sets every element of y to `value`, converted to y's dtype.
    func fill(_ y: Tensor, value: Double) throws
    /// Copies `layout.shape` elements from `x` to `y` through arbitrary strides: permute, slice
    /// and concat are all this one primitive.
    func copyStrided(_ x: Tensor, into y: Tensor, layout: StridedLayout) throws

    // MARK: arithmetic
    /// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] + bias, the bias (n elements) added to every
    /// row of every batch item, then max(0, ·) when `relu` (a Linear layer and its activation in one
    /// launch). With beta == 0, C is not read.
    func gemm(
        _ a: Tensor, _ b: Tensor, into c: Tensor, shape: GemmShape, alpha: Float, beta: Float, bias: Tensor?,
        relu: Bool) throws
    /// y = op(x) elementwise (same element count).
    func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor) throws
    /// dx = dy · f'(x), from whichever of x or y = f(x) the derivative needs.
    func unaryBackward(
        _ op: UnaryOp, input x: Tensor, output y: Tensor, gradOutput dy: Tensor,
        into dx: Tensor) throws
    /// c = a op b elementwise, broadcasting as `plan` says (c has `plan.outShape`).
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into c: Tensor, plan: BroadcastPlan) throws
    /// y += scale · x in place (same element count): running sums that stay on the device.
    func accumulate(_ x: Tensor, scale: Float, into y: Tensor) throws
    /// Reduces the middle axis of x viewed as (outer, length, inner) into y (outer, inner).
    func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor, outer: Int, length: Int, inner: Int) throws

    // MARK: fused row ops
    /// The book's masked softmax over rows of `cols`; row r keeps its first
    /// validLens[r / (rows / validLens.count)] entries, the rest count as logit -1e6.
    func maskedSoftmax(_ x: Tensor, validLens: Tensor?, into y: Tensor, rows: Int, cols: Int) throws
    /// dx = y · (dy - Σ y·dy) at valid positions and 0 at masked ones (they were constants).
    func softmaxBackward(
        output y: Tensor, gradOutput dy: Tensor, validLens: Tensor?, into dx: Tensor,
        rows: Int, cols: Int) throws
    /// Per-row cross-entropy of log-softmax(logits) against `targets`, with label smoothing ε
    /// (target distribution (1-ε)·onehot + ε/V), times an optional per-row weight (the padding mask).
    func crossEntropy(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        into loss: Tensor, rows: Int, classes: Int) throws
    /// Row r's loss has gradient gradLoss[r] · gradScale, or gradLoss[0] · gradScale for every row
    /// when gradLoss has one element (the gradient of a scaled sum of the losses).
    func crossEntropyBackward(
        logits: Tensor, targets: Tensor, weights: Tensor?, labelSmoothing: Float,
        gradLoss: Tensor, gradScale: Float, into dLogits: Tensor, rows: Int, classes: Int) throws
    /// With `residual`, normalises z = x + dropout(residual) (the Transformer's AddNorm) and writes z
    /// to `sum` for the backward.
    func layerNorm(
        _ x: Tensor, residual: Tensor?, dropout: DropoutMask?, gamma: Tensor, beta: Tensor, eps: Float,
        into y: Tensor, sum: Tensor?, mean: Tensor, rstd: Tensor, rows: Int, cols: Int) throws
    /// Writes dx, dGamma and dBeta (overwriting them), and with `dResidual` the residual's
    /// gradient dropout(dx). `x` is what the forward normalised (z for AddNorm).
    func layerNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        dropout: DropoutMask?, into dx: Tensor, dResidual: Tensor?, dGamma: Tensor, dBeta: Tensor,
        rows: Int, cols: Int) throws

    // MARK: attention
    /// out = maskedSoftmax(scale · Q Kᵀ, validLens) V for Q (B, Tq, D), K (B, Tk, D), V (B, Tk, Dv);
    /// the softmax weights (B, Tq, Tk) go to `weights` for the backward and for inspection.
    /// With `dropout`, the weights multiplying V are dropped out (the mask of `DropoutMask`);
    /// `weights` keeps them before dropout.
    func attention(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, scale: Float, dropout: DropoutMask?,
        into out: Tensor, weights: Tensor, dims: AttentionDims) throws
    /// Masked scores were constants: they pass no gradient to Q and K.
    func attentionBackward(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, weights: Tensor, gradOutput dOut: Tensor,
        scale: Float, dropout: DropoutMask?, into dq: Tensor, dk: Tensor, dv: Tensor, dims: AttentionDims) throws

    // MARK: embeddings
    /// out[n, :] = (table[indices[n], :] · scale + positions[n % T, :]) · dropout's mask, with
    /// positions (T, dim) optional (the transformer's scaled, position-encoded, dropped-out
    /// embedding in one launch); an index outside the table reads a zero row.
    func embedding(
        table: Tensor, indices: Tensor, scale: Float, positions: Tensor?, dropout: DropoutMask?,
        into out: Tensor, count: Int, dim: Int) throws
    /// dTable = 0, then dTable[indices[n], :] += dOut[n, :] · dropout's mask · scale.
    func embeddingBackward(
        gradOutput dOut: Tensor, indices: Tensor, scale: Float, dropout: DropoutMask?,
        into dTable: Tensor, count: Int, dim: Int) throws

    // MARK: randomness, optimisation
    /// y = x · mask / (1 - p), mask[i] = CounterRNG.uniform(seed, offset + i) >= p. The same seed
    /// and offset give the same mask on every device; applying it to dy is the backward.
    func dropout(_ x: Tensor, mask: DropoutMask, into y: Tensor) throws
    /// One fused Adam or AdamW update of every `params[i]` in place from `grads[i]`, with its
    /// moments `m[i]` and `v[i]` (the arrays are parallel).
    func adamStep(params: [Tensor], grads: [Tensor], m: [Tensor], v: [Tensor], hyper: AdamHyper) throws
    /// Plain SGD of every `params[i]` in place: p -= lr · scale · grads[i], scale = gradScale[0] or 1.
    func sgdStep(params: [Tensor], grads: [Tensor], lr: Float, gradScale: Tensor?) throws
    /// out (one element) = the L2 norm of all the tensors' elements together, or with `clipTo` θ
    /// the clipping scale θ / max(norm, θ) (the book's `grad_clipping`).
    func globalNorm(_ tensors: [Tensor], clipTo maxNorm: Float?, into out: Tensor) throws

    // MARK: recurrent cells
    /// One time step of a fused recurrent cell over (batch, hidden) elements; see `CellStep` for
    /// which slice of each sequence tensor it reads and writes. Pre-activations are
    /// gi + gh + bias (gi = x W_ihᵀ + b_ih at step t, gh = h W_hhᵀ without bias).
    /// Writes out[t] = h', hNext = h', saved[t] (GRU: r,z,n,gh_n+b_hn; LSTM: i,f,g,o) and, for
    /// LSTM, cells[slot + 1] = c' from cells[slot].
    func cellForward(
        _ cell: CellKind, gi: Tensor, gh: Tensor, bias: Tensor, hPrev: Tensor, cells: Tensor?,
        into out: Tensor, hNext: Tensor, saved: Tensor, step: CellStep) throws
    /// The backward of `cellForward` at one step: from dOut[t] + dh (the carried gradient of h'),
    /// and for LSTM dc (carried gradient of c'), writes dGi[t], dGh[t] and dgh (both the
    /// pre-activation gradients of gi and gh), and in place: for GRU dh = the direct part z·dh'
    /// of the gradient of h_{t-1} (the caller adds dgh W_hh); for LSTM dc = f·dc'.
    func cellBackward(
        _ cell: CellKind, saved: Tensor, hPrev: Tensor, cells: Tensor?, out: Tensor,
        gradOut dOut: Tensor, dh: Tensor, dc: Tensor?, into dGi: Tensor, dGh: Tensor,
        dgh: Tensor, step: CellStep) throws
    /// The whole forward recurrence of one direction (default: `recurrentForwardByStep`, a GEMM
    /// and a `cellForward` per step).
    func recurrentForward(_ q: RecurrentSequence) throws
    /// The whole backward recurrence (default: `recurrentBackwardByStep`); see Ops/Recurrent.swift.
    func recurrentBackward(
        _ q: RecurrentSequence, gradOut: Tensor, dh: Tensor, dc: Tensor?,
        dGi: Tensor, dGh: Tensor) throws
}

extension Backend {
    /// Layer normalisation of x alone.
    public func layerNorm(
        _ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float,
        into y: Tensor, mean: Tensor, rstd: Tensor, rows: Int, cols: Int
    ) throws {
        try layerNorm(
            x, residual: nil, dropout: nil, gamma: gamma, beta: beta, eps: eps, into: y, sum: nil,
            mean: mean, rstd: rstd, rows: rows, cols: cols)
    }

    /// The backward of plain layer normalisation (no residual or dropout): writes dx, dGamma and dBeta.
    public func layerNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        into dx: Tensor, dGamma: Tensor, dBeta: Tensor, rows: Int, cols: Int
    ) throws {
        try layerNormBackward(
            x, gradOutput: dy, gamma: gamma, mean: mean, rstd: rstd, dropout: nil, into: dx,
            dResidual: nil, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
    }

    /// Attention without dropout.
    public func attention(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, scale: Float,
        into out: Tensor, weights: Tensor, dims: AttentionDims
    ) throws {
        try attention(q: q, k: k, v: v, validLens: validLens, scale: scale, dropout: nil, into: out, weights: weights, dims: dims)
    }

    /// The backward of attention without dropout: writes dq, dk and dv from dOut and the saved weights.
    public func attentionBackward(
        q: Tensor, k: Tensor, v: Tensor, validLens: Tensor?, weights: Tensor, gradOutput dOut: Tensor,
        scale: Float, into dq: Tensor, dk: Tensor, dv: Tensor, dims: AttentionDims
    ) throws {
        try attentionBackward(
            q: q, k: k, v: v, validLens: validLens, weights: weights, gradOutput: dOut, scale: scale,
            dropout: nil, into: dq, dk: dk, dv: dv, dims: dims)
    }

    /// GEMM without a bias or activation.
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, shape: GemmShape, alpha: Float, beta: Float) throws {
        try gemm(a, b, into: c, shape: shape, alpha: alpha, beta: beta, bias: nil, relu: false)
    }
}

/// Shapes of a batched GEMM. A is (m, k) row-major, or (k, m) when `transA`; B is (k, n), or (n, k)
/// when `transB`; C is (m, n). Batch strides are in elements; 0 shares the operand across the batch.
public struct GemmShape: Equatable, Sendable {
    /// The batch count and the matrix sizes: C is (m, n) and the inner dimension is k.
    public var batch, m, n, k: Int
    /// Whether A is stored transposed, (k, m), and whether B is, (n, k).
    public var transA, transB: Bool
    /// Elements between consecutive batch items of A, B and C; 0 shares that operand across the batch.
    public var strideA, strideB, strideC: Int

    /// Builds a GEMM shape; each batch stride defaults to its operand's size (m·k, k·n, m·n).
    public init(
        batch: Int = 1, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
        strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil
    ) {
        self.batch = batch; self.m = m; self.n = n; self.k = k
        self.transA = transA; self.transB = transB
        self.strideA = strideA ?? m * k
        self.strideB = strideB ?? k * n
        self.strideC = strideC ?? m * n
    }
}

/// A dropout mask: element i is kept when CounterRNG.uniform(seed, counter(i)) >= p and then scaled
/// by 1 / (1 - p), the same mask on every device. counter(i) = offset + i, or, with `block` > 0
/// (one process's rows of a data-parallel minibatch in a time-major tensor),
/// offset + (i / block)·stride + i % block. Fused ops take contiguous masks (`block` 0) only.
public struct DropoutMask: Equatable, Sendable {
    /// The drop probability, the RNG seed and the counter of element 0.
    public var p: Float, seed: UInt64, offset: UInt64
    /// Elements per block of consecutive counters and the counters between blocks; `block` 0: one block.
    public var block = 0, stride = 0
    /// Builds a mask from its drop probability, seed and first counter, contiguous unless `block` > 0.
    public init(p: Float, seed: UInt64, offset: UInt64, block: Int = 0, stride: Int = 0) {
        self.p = p; self.seed = seed; self.offset = offset; self.block = block; self.stride = stride
    }
    /// The counter of element i.
    @inlinable public func counter(_ i: Int) -> UInt64 {
        block > 0 ? offset &+ UInt64(i / block) &* UInt64(stride) &+ UInt64(i % block) : offset &+ UInt64(i)
    }
}

/// Sizes of one attention call: batch (including heads), queries, keys, query/key size, value size,
/// and `heads`: with h > 1, Q, K, V and the output hold the heads side by side in their last axis,
/// (items, T, h·depth), and batch entry b is head b % h of item b / h (the multi-head layout, no
/// split or merge copies); 1 is the plain (batch, T, depth) layout.
public struct AttentionDims: Equatable, Sendable {
    /// The batch count (items × heads), query steps Tq, key steps Tk, query/key size D and value size Dv.
    public var batch, queries, keys, depth, valueDepth: Int
    /// Heads per item laid side by side in the last axis; 1 for the plain (batch, T, depth) layout.
    public var heads: Int
    /// Where Q, K and V (and their gradients) sit in their buffers: by default each on its own,
    /// heads side by side; packed projections put them side by side in one.
    public var query, key, value: AttentionColumns
    /// Builds the sizes of an attention call with Q, K and V each in its own buffer, heads side by side.
    public init(batch: Int, queries: Int, keys: Int, depth: Int, valueDepth: Int, heads: Int = 1) {
        self.batch = batch; self.queries = queries; self.keys = keys
        self.depth = depth; self.valueDepth = valueDepth; self.heads = heads
        query = AttentionColumns(offset: 0, stride: heads * depth)
        key = query
        value = AttentionColumns(offset: 0, stride: heads * valueDepth)
    }

    /// Whether Q, K and V each fill their own buffer, heads side by side (no packing).
    public var isUnpacked: Bool {
        query == AttentionColumns(offset: 0, stride: heads * depth) && key == query
            && value == AttentionColumns(offset: 0, stride: heads * valueDepth)
    }

    /// Element index of row t of head b % heads of item b / heads of an operand laid out as
    /// `columns`, each head `width` wide.
    public func row(_ b: Int, _ t: Int, steps: Int, width: Int, _ columns: AttentionColumns) -> Int {
        columns.offset + ((b / heads) * steps + t) * columns.stride + (b % heads) * width
    }
}

/// An attention operand's place in its buffer: the element offset of its first column and the
/// elements between its rows (h·D alone; 3·h·D when Q, K and V are packed side by side).
public struct AttentionColumns: Equatable, Sendable {
    /// The element offset of the operand's first column and the elements between its rows.
    public var offset: Int, stride: Int
    /// Builds an operand placement from its first column's offset and its row stride, both in elements.
    public init(offset: Int, stride: Int) { self.offset = offset; self.stride = stride }
}

/// An elementwise function of one tensor, some with a scalar operand (`Backend.unary` and its backward).
public enum UnaryOp: Hashable, Sendable {
    case neg, exp, log, tanh, sigmoid, relu, sqrt
    /// x + s, x · s, s - x, s / x, x^s
    case addScalar(Float)
    case mulScalar(Float)
    case rsubScalar(Float)
    case rdivScalar(Float)
    case powScalar(Float)

    /// The scalar operand, 0 for ops without one.
    public var scalar: Float {
        switch self {
        case let .addScalar(s), let .mulScalar(s), let .rsubScalar(s), let .rdivScalar(s), let .powScalar(s): return s
        default: return 0
        }
    }
}

/// An elementwise arithmetic op of two broadcasting tensors: a + b, a - b, a · b, a / b.
public enum BinaryOp: Hashable, Sendable { case add, sub, mul, div }

/// A reduction over the middle axis of (outer, length, inner): sum, mean, max, scaled sum or argmax.
public enum ReduceOp: Hashable, Sendable {
    case sum, mean, max
    /// Σ · s (a loss summed and divided in one launch).
    case scaledSum(Float)

    /// What a sum over `length` elements is multiplied by.
    public func scale(length: Int) -> Float {
        switch self {
        case .mean: return 1 / Float(Swift.max(length, 1))
        case .scaledSum(let s): return s
        default: return 1
        }
    }
    /// Index of the first maximum, as Int32.
    case argmax
}

/// Hyperparameters of one Adam step. `step` counts from 1 (bias correction).
public struct AdamHyper {
    /// The learning rate, the moments' decay rates, the denominator's epsilon and the weight-decay factor.
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// AdamW: decay the weights directly instead of adding weightDecay · param to the gradient.
    public var decoupled: Bool
    /// The 1-based step number used for the moments' bias correction.
    public var step: Int
    /// Optional one-element tensor the gradient is multiplied by first (gradient clipping).
    public var gradScale: Tensor?

    /// Builds Adam's hyperparameters with PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8, no weight decay).
    public init(
        lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0, decoupled: Bool = false, step: Int, gradScale: Tensor? = nil
    ) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay; self.decoupled = decoupled; self.step = step
        self.gradScale = gradScale
    }
}

extension Backend {
    /// Runs the step's body directly, whatever `asGraph` says: its work is queued as it comes.
    public func runStep(asGraph: Bool, _ body: () throws -> Void) throws { try body() }
    /// Ordinary 64-byte-aligned host memory (at least one byte); free it with `freeHost`.
    public func allocateHost(byteCount: Int) throws -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }
    /// Deallocates host memory from the default `allocateHost`.
    public func freeHost(_ pointer: UnsafeMutableRawPointer) { pointer.deallocate() }
}
