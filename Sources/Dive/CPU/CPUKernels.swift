// The CPU's vector kernels: CKernels' table (kernels.inc) for the path this CPU runs, AVX-512,
// AVX2+FMA or the architecture's baseline, chosen once when the library loads (DIVE_CPU_PATH
// chooses a narrower one).
import CKernels

enum CPUKernels {
    /// The chosen path's kernels.
    static let table: DiveCPUKernels = dive_cpu_kernels().pointee
    /// "avx512", "avx2+fma" or "baseline".
    static var path: String { String(cString: dive_cpu_path()) }
}
