// Device strings, device resolution and the errors for devices that are not there.
import Dive
import Testing

@Suite("Devices") struct DeviceTests {
    @Test func parsing() throws {
        #expect(try Device(parsing: "cpu") == .cpu)
        #expect(try Device(parsing: "auto") == .auto)
        #expect(try Device(parsing: "opencl") == .opencl(platform: nil, index: 0))
        #expect(try Device(parsing: "opencl:3") == .opencl(platform: nil, index: 3))
        #expect(try Device(parsing: "opencl:1.2") == .opencl(platform: 1, index: 2))
        #expect(try Device(parsing: "cuda") == .cuda(index: 0))
        #expect(try Device(parsing: "CUDA:2") == .cuda(index: 2))
        for bad in ["gpu", "opencl:", "opencl:x", "opencl:-1", "opencl:1.2.3", "cuda:", "cuda:x", "cuda:-1", "cuda:0.1"] {
            #expect(throws: DiveError.self) { try Device(parsing: bad) }
        }
    }

    @Test func missingDeviceListsWhatIsThere() throws {
        do {
            _ = try Backends.backend(for: .opencl(platform: nil, index: 9))
            Issue.record("opencl:9 should not exist")
        } catch let error as DiveError {
            #expect(error.description.contains("opencl:9"))
            #expect(error.description.contains("cpu"))
        }
    }

    @Test func autoPicksAGPUOrTheCPU() throws {
        let chosen = try Backends.backend(for: .auto)
        let hasGPU = DeviceRegistry.openCLDevices.contains { $0.isGPU }
        #expect(hasGPU ? chosen.device != .cpu : chosen.device == .cpu)
    }

    @Test(arguments: allDevices)
    func mismatchedDevicesAndShapesThrow(device: Device) throws {
        let b = try backend(device)
        let x = try Tensor.zeros([2, 3], on: b)
        #expect(throws: DiveError.self) { try x.matmul(try Tensor.zeros([2, 3], on: b)) }
        #expect(throws: DiveError.self) { try x + (try Tensor.zeros([4], on: b)) }
        #expect(throws: DiveError.self) { try x.reshaped([5]) }
        if device != .cpu {
            #expect(throws: DiveError.self) { try x + (try Tensor.zeros([2, 3], on: CPUBackend.shared)) }
            #expect(throws: DiveError.self) { try Tensor([1.0, 2.0], on: b) }
        }
        let moved = try x.to(CPUBackend.shared)
        #expect(try moved.toArray() == [0, 0, 0, 0, 0, 0])
        // Gradients flow back across devices through to(_:).
        let w = try Tensor([Float(1), 2, 3], on: b).requiringGrad()
        let onCPU = try (w * w).to(CPUBackend.shared)
        try (onCPU * (try Tensor([Float(1), 10, 100], on: CPUBackend.shared))).sum().backward()
        #expect(w.grad?.device == device)
        #expect(try w.grad!.toArray() == [2, 40, 600])
    }
}
