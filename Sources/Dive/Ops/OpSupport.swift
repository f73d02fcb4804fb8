// Checks shared by the ops: operands on one device, element types, and reducing a broadcast
// gradient back to an operand's shape.

extension Tensor {
    /// Throws unless every tensor lives on this tensor's backend.
    func checkSameDevice(_ others: [Tensor], op: String) throws {
        for other in others where other.backend !== backend {
            throw DiveError.deviceMismatch(op: op, detail: "\(device) and \(other.device)")
        }
    }

    /// Throws unless this tensor holds floating-point values.
    func checkFloat(op: String) throws {
        guard dtype.isFloatingPoint else {
            throw DiveError.unsupportedDType(op: op, dtype: dtype, device: backend.displayName)
        }
    }

    /// Throws unless this tensor holds Int32 values; the error says what `role` (the targets, the
    /// indices) must hold, since the device would take any dtype there.
    func checkInt(op: String, role: String) throws {
        guard dtype == .int32 else {
            throw DiveError.invalidArgument(op: op, detail: "\(role) hold \(dtype); they must be int32")
        }
    }

    /// Sums a gradient of a broadcast result back to `target` shape (the backward of broadcasting).
    func sumTo(_ target: [Int]) throws -> Tensor {
        if shape == target { return self }
        var g = self
        let extra = g.rank - target.count
        // Leading dimensions the operand did not have: sum them away.
        if extra > 0 {
            g = try g.reshaped([g.shape.prefix(extra).reduce(1, *)] + Array(g.shape.dropFirst(extra)))
                .sum(axis: 0)
        }
        for axis in 0..<target.count where target[axis] == 1 && g.shape[axis] != 1 {
            g = try g.sum(axis: axis, keepDims: true)
        }
        return try g.reshaped(target)
    }
}
