// CUDA devices as a user meets them: `dive devices` always has a line about CUDA (the driver's
// devices, or why there are none, e.g. "cuda: no NVIDIA driver (libcuda.so.1 not found)"), and
// `--device cuda` that cannot run is a one-line error with a non-zero exit, not a crash.
import Foundation
import Testing

@Suite("CUDADevices") struct CUDADeviceTests {
    @Test func devicesSaysWhatCUDAThereIs() throws {
        let out = try CLI.succeed(["devices"])
        let lines = out.split(separator: "\n").filter { $0.hasPrefix("cuda") }
        #expect(!lines.isEmpty, "no CUDA line in:\n\(out)")
        if dlopen("libcuda.so.1", RTLD_NOW) == nil {
            #expect(lines == ["cuda: no NVIDIA driver (libcuda.so.1 not found)"])
        }
    }

    @Test(arguments: [
        ["train", "rnn", "--device", "cuda", "--epochs", "1"], ["train", "rnn", "--device", "cuda:3"],
        ["bench", "kernels", "--device", "cuda:0"], ["check", "--device", "cuda"]
    ])
    func unusableCUDAIsAOneLineError(_ args: [String]) throws {
        let r = try CLI.run(args)
        #expect(r.exitedNormally && r.status != 0, "\(args): \(r.output)")
        let lines = r.output.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("cuda:"), "\(args): \(r.output)")
    }
}
