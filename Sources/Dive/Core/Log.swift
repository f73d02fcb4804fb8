// Diagnostics through swift-log: the library logs, the application (the `dive` CLI, or a program
// using Dive) decides where they go and from which level. Labels name the layer: "dive.device",
// "dive.train". Routine events (program builds, cache hits, tuning, checkpoints) log at `debug`, so
// swift-log's default handler (info and above) prints nothing: a library user sees no line unless
// they bootstrap a handler at `debug`.
import Logging

/// Dive's swift-log loggers, one per layer; routine events log at `debug`, so nothing prints by default.
public enum Log {
    /// Kernel devices (OpenCL and CUDA): program builds and the binary cache, the CUDA probe, GEMM
    /// tuning; every kernel launch at `trace`.
    public static let device = Logger(label: "dive.device")
}
