// The kernel variants an OpenCL device can run for one op, and the task-local switch that forces
// one: `auto` picks per device type (CPU-shaped kernels on PoCL, GPU-shaped ones on GPUs); tests
// and `dive check` run every variant on every device against the same float64 reference.

/// GEMM: `small` (gemm_small, one launch, operands read in place), `packed` (gemm_pack +
/// gemm_tile, register tiles over contiguous panels: CPU-type devices), `localTiles` (gemm_lt,
/// local-memory tiles with register blocking in one launch: GPUs).
public enum GemmVariant: String, CaseIterable, Sendable { case auto, small, packed, localTiles }

/// Recurrences: `groups` (one launch per direction and pass, a work-group carrying a few rows
/// through every step with barriers between GEMM and cell: GPUs), `vectors` (one launch, one
/// work-item carrying its rows with float8 vectors, no barriers: CPU-type devices, H a multiple
/// of 8) or `byStep` (a GEMM and a cell launch per step). `auto` picks per device type and falls
/// back to `byStep` when a group's state does not fit in local memory.
public enum RecurrentPath: String, CaseIterable, Sendable { case auto, groups, vectors, byStep }

/// Row ops (softmax, layernorm forward and input gradient): `perItem`, one work-item per row with
/// vector loads (CPU-type devices), or `perGroup`, one work-group per row with tree reductions in
/// local memory (GPUs).
public enum RowVariant: String, CaseIterable, Sendable { case auto, perItem, perGroup }

/// Forces kernel variants for the code run inside `withValue` (task-local, so concurrent tests
/// never see each other's choice).
public enum KernelVariants {
    @TaskLocal public static var gemm = GemmVariant.auto
    @TaskLocal public static var recurrent = RecurrentPath.auto
    @TaskLocal public static var rows = RowVariant.auto
}
