// The kernel variants an OpenCL device can run for one op, and the task-local switch that forces
// one: `auto` picks per device type (CPU-shaped kernels on PoCL, GPU-shaped ones on GPUs); tests
// and `dive check` run every variant on every device against the same float64 reference.
import Foundation

/// GEMM: `small` (gemm_small, one launch, operands read in place), `packed` (gemm_pack +
/// gemm_tile, register tiles over contiguous panels: CPU-type devices), `localTiles` (gemm_lt,
/// local-memory tiles with register blocking in one launch: GPUs) or `splitK` (gemm_lt over runs
/// of K in separate work-groups, added in order by gemm_splitk_sum: skinny products on GPUs).
/// `auto` picks per device type, and on GPUs the tuner picks the tile and whether to split K.
public enum GemmVariant: String, CaseIterable, Sendable { case auto, small, packed, localTiles, splitK }

/// Recurrences: `groups` (one launch per direction and pass, a work-group carrying a few rows
/// through every step with barriers between GEMM and cell: GPUs where the batch fills the device),
/// `vectors` (one launch, one work-item carrying its rows with float8 vectors, no barriers:
/// CPU-type devices, H a multiple of 8), `split` (work-groups own hidden units for every row, one
/// launch per step across the whole device), `persistent` (the same kernels, every step in one
/// launch with a device-wide barrier between steps: a cooperative launch on CUDA, one work-group
/// per compute unit on OpenCL) or `byStep` (a GEMM and a cell launch per step). `auto` picks per
/// device: the `vectors` kernels on CPU-type devices, on GPUs the fastest of `groups`, `split` and
/// `persistent` timed on first use (Tuner), and `byStep` where none fits local memory.
public enum RecurrentPath: String, CaseIterable, Sendable { case auto, groups, vectors, split, persistent, byStep }

/// Row ops (softmax, layernorm forward and input gradient, cross-entropy forward and backward): `perItem`, one work-item per row with
/// vector loads (CPU-type devices); `perGroup`, one work-group per row with tree reductions in
/// local memory; or `perTeam`, several rows per work-group, a team of a few work-items (about 8
/// columns each) per row, as many groups as compute units where the rows allow (short rows on
/// GPUs). `auto` takes `perItem` on CPU-type devices and times the other two on GPUs (Tuner).
public enum RowVariant: String, CaseIterable, Sendable { case auto, perItem, perGroup, perTeam }

/// Forces kernel variants for the code run inside `withValue` (task-local, so concurrent tests
/// never see each other's choice). Outside one, `DIVE_VARIANTS` sets them for the whole process,
/// for comparing candidates from the command line: `DIVE_VARIANTS=recurrent=split,rows=perGroup`.
public enum KernelVariants {
    /// The GEMM variant forced for this task, `DIVE_VARIANTS`'s `gemm=` or `.auto` by default.
    @TaskLocal public static var gemm = environment.gemm
    /// The recurrence path forced for this task, `DIVE_VARIANTS`'s `recurrent=` or `.auto` by default.
    @TaskLocal public static var recurrent = environment.recurrent
    /// The row-op variant forced for this task, `DIVE_VARIANTS`'s `rows=` or `.auto` by default.
    @TaskLocal public static var rows = environment.rows
    /// The gemm_lt tile candidate forced for this task (its name, as `dive tune --json` lists it,
    /// e.g. `lt64x64x16/4x4/db/v4`), `DIVE_VARIANTS`'s `tiles=`, or nil: the tuner's choice.
    @TaskLocal public static var gemmTiles = environment.gemmTiles

    /// The names `gemmTiles` accepts: every gemm_lt candidate the tuner may time.
    public static var gemmTileCandidates: [String] { GemmPlanner.allLocalTiles.map(\.description) }

    /// `DIVE_VARIANTS` read once: each `family=variant` it names, and what it could not read.
    static let environment = parse(ProcessInfo.processInfo.environment["DIVE_VARIANTS"] ?? "")

    struct Forced {
        var gemm = GemmVariant.auto, recurrent = RecurrentPath.auto, rows = RowVariant.auto
        var gemmTiles: String?
        var error: String?
    }

    static func parse(_ text: String) -> Forced {
        var f = Forced()
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count == 2 ? parts[1] : ""
            switch parts[0] {
            case "gemm" where GemmVariant(rawValue: value) != nil: f.gemm = GemmVariant(rawValue: value)!
            case "recurrent" where RecurrentPath(rawValue: value) != nil: f.recurrent = RecurrentPath(rawValue: value)!
            case "rows" where RowVariant(rawValue: value) != nil: f.rows = RowVariant(rawValue: value)!
            case "tiles" where GemmPlanner.allLocalTiles.contains { $0.description == value }: f.gemmTiles = value
            default:
                f.error =
                    "cannot read '\(item)'; give family=variant with gemm (\(names(GemmVariant.self))), "
                    + "recurrent (\(names(RecurrentPath.self))), rows (\(names(RowVariant.self))) or tiles (a gemm_lt "
                    + "candidate: \(GemmPlanner.allLocalTiles.map(\.description).joined(separator: "|")))"
            }
        }
        return f
    }

    private static func names<V: CaseIterable & RawRepresentable>(_: V.Type) -> String where V.RawValue == String {
        V.allCases.map(\.rawValue).joined(separator: "|")
    }

    /// Throws where `DIVE_VARIANTS` names a family or variant that does not exist.
    public static func checkEnvironment() throws {
        if let error = environment.error { throw DiveError.invalidArgument(op: "DIVE_VARIANTS", detail: error) }
    }
}
