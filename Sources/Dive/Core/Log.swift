// Diagnostics through swift-log: the library logs, the application (the `dive` CLI, or a program
// using Dive) decides where they go and from which level. Labels name the layer: "dive.opencl",
// "dive.cpu", "dive.data", "dive.train".
import Logging

public enum Log {
    /// Devices, program builds and the binary cache, GEMM tuning; every kernel launch at `trace`.
    public static let opencl = Logger(label: "dive.opencl")
}
