// Checkpoints: round trip with optimiser state and metadata, interchange with Python's
// `safetensors` package (both directions), and clear errors for mismatched, truncated or corrupt files.
import Dive
import DiveNN
import Foundation
import Testing

final class SmallNet: Module {
    let embedding: Embedding, rnn: LSTM, dense: Linear
    init(seed: UInt64, on b: Backend = cpu) throws {
        let rng = HostRNG(seed: seed)
        embedding = try Embedding(6, 3, on: b, rng: rng)
        rnn = try LSTM(inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, on: b, rng: rng)
        dense = try Linear(8, 6, on: b, rng: rng)
        super.init()
        register("embedding", embedding); register("rnn", rnn); register("dense", dense)
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("divenn-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@discardableResult
func run(_ executable: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe; p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("DiveNNCheckpoints", .serialized) struct CheckpointTests {
    @Test func roundTripWithOptimiserAndMetadata() throws {
        let dir = try temporaryDirectory(), url = dir.appendingPathComponent("a.safetensors")
        let net = try SmallNet(seed: 1)
        let adam = try Adam(net.parameters, lr: 0.01)
        for p in net.parameters { p.grad = try Tensor.ones(p.shape, on: cpu) }
        try adam.step(); try adam.step()
        net.randomStream.offset = 1234
        try Checkpoint.save(to: url, model: net, optimizer: adam, info: CheckpointInfo(step: 7, extra: ["batch": "3"]))
        let other = try SmallNet(seed: 2), adam2 = try Adam(other.parameters, lr: 0.5)
        let info = try Checkpoint.load(from: url, into: other, optimizer: adam2)
        #expect(info == CheckpointInfo(step: 7, extra: ["batch": "3"]))
        #expect(adam2.stepCount == 2 && adam2.lr == 0.01 && other.randomStream.offset == 1234)
        for (a, b) in zip(net.parameters, other.parameters) { #expect(try a.toArray() == b.toArray()) }
        for (a, b) in zip(adam.v, adam2.v) { #expect(try a.toArray() == b.toArray()) }
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasSuffix(".tmp") }))
    }

    @Test func mismatchedTruncatedAndCorruptFilesAreErrors() throws {
        let dir = try temporaryDirectory(), url = dir.appendingPathComponent("m.safetensors")
        let net = try SmallNet(seed: 1)
        try Checkpoint.save(to: url, model: net, info: CheckpointInfo(step: 1))
        let before = try net.parameters.map { try $0.toArray() }
        func expectError(_ file: URL, _ fragment: String) {
            do {
                try Checkpoint.load(from: file, into: net)
                #expect(Bool(false), "loading \(file.lastPathComponent) should fail with '\(fragment)'")
            } catch let e as CheckpointError {
                #expect(e.description.contains(fragment) && e.description.contains(file.path), "\(e)")
            } catch { #expect(Bool(false), "unexpected \(error)") }
        }
        // A model with another shape: the file names the tensor.
        let wrong = try SafeTensorsFile.read(from: url)
        var bad = wrong
        bad.tensors["dense.weight"] = SafeTensor([Float](repeating: 0, count: 8 * 5), shape: [5, 8])
        let shapeURL = dir.appendingPathComponent("shape.safetensors"); try bad.write(to: shapeURL)
        expectError(shapeURL, "'dense.weight' has shape [5, 8]")
        bad = wrong; bad.tensors["dense.bias"] = nil
        let missingURL = dir.appendingPathComponent("missing.safetensors"); try bad.write(to: missingURL)
        expectError(missingURL, "missing tensor 'dense.bias'")
        bad = wrong; bad.tensors["dense.bias"] = SafeTensor([Int32](repeating: 0, count: 6), shape: [6])
        let dtypeURL = dir.appendingPathComponent("dtype.safetensors"); try bad.write(to: dtypeURL)
        expectError(dtypeURL, "dtype I32")
        bad = wrong; bad.tensors["extra.thing"] = SafeTensor([Float(1)], shape: [1])
        let extraURL = dir.appendingPathComponent("extra.safetensors"); try bad.write(to: extraURL)
        expectError(extraURL, "unexpected tensor 'extra.thing'")
        // Truncated and corrupt bytes.
        let bytes = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("cut.safetensors"); try bytes.prefix(bytes.count - 10).write(to: cut)
        expectError(cut, "truncated")
        let tiny = dir.appendingPathComponent("tiny.safetensors"); try bytes.prefix(5).write(to: tiny)
        expectError(tiny, "truncated")
        var garbled = bytes; garbled[9] = 0x7B; garbled[10] = 0x7B
        let corrupt = dir.appendingPathComponent("corrupt.safetensors"); try garbled.write(to: corrupt)
        expectError(corrupt, "corrupt header")
        expectError(dir.appendingPathComponent("absent.safetensors"), "cannot read")
        // Nothing was changed by any failed load.
        #expect(try net.parameters.map { try $0.toArray() } == before)
    }

    @Test func pythonSafetensorsReadsAndWritesOurFiles() throws {
        // python3 as found on PATH (through env), as `.ci/run` installs the package for it.
        guard (try? run("/usr/bin/env", ["python3", "-c", "import safetensors.numpy, numpy"]))?.status == 0 else {
            print(
                "SKIPPED pythonSafetensorsReadsAndWritesOurFiles: python3 with the safetensors and numpy packages is not installed (pip install safetensors numpy)"
            )
            return
        }
        let dir = try temporaryDirectory()
        let ours = dir.appendingPathComponent("dive.safetensors"), theirs = dir.appendingPathComponent("python.safetensors")
        let net = try SmallNet(seed: 5)
        try Checkpoint.save(to: ours, model: net, info: CheckpointInfo(step: 3))
        // Python reads our file, reports names, shapes and sums, and writes every tensor doubled.
        let script = """
            import json, sys, numpy as np
            from safetensors.numpy import load_file, save_file
            from safetensors import safe_open
            t = load_file(sys.argv[1])
            with safe_open(sys.argv[1], framework="np") as f: meta = f.metadata()
            print(json.dumps({"step": meta["step"], "tensors": {k: [list(v.shape), str(v.dtype), float(np.sum(v.astype(np.float64)))] for k, v in t.items()}}))
            save_file({k: (v * 2).astype(np.float32) for k, v in t.items()}, sys.argv[2], metadata={"step": "4"})
            """
        let result = try run("/usr/bin/env", ["python3", "-c", script, ours.path, theirs.path])
        #expect(result.status == 0, "python failed: \(result.output)")
        guard result.status == 0, let line = result.output.split(separator: "\n").last,
            let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let tensors = report["tensors"] as? [String: [Any]]
        else { return }
        #expect(report["step"] as? String == "3")
        let named = net.namedParameters()
        #expect(Set(tensors.keys) == Set(named.map(\.name)))
        for (name, p) in named {
            let entry = tensors[name] ?? []
            #expect(entry.count == 3 && (entry[0] as? [Int]) == p.shape && (entry[1] as? String) == "float32", "\(name): \(entry)")
            let sum = try p.toDoubleArray().reduce(0, +)
            #expect(abs(((entry.last as? Double) ?? .nan) - sum) <= 1e-5 * max(1, abs(sum)), "\(name) sum")
        }
        // Python's file loads into a matching module: values doubled exactly.
        let loaded = try SmallNet(seed: 99)
        let info = try Checkpoint.load(from: theirs, into: loaded)
        #expect(info.step == 4)
        for (a, b) in zip(net.parameters, loaded.parameters) { #expect(try a.toArray().map { $0 * 2 } == b.toArray()) }
    }
}
