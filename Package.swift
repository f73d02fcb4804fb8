// swift-tools-version:6.1
// Dive: the sequence models of Dive into Deep Learning on CUDA, OpenCL and the CPU (OpenBLAS).
import PackageDescription

let package = Package(
    name: "Dive",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dive", targets: ["dive"]),
        .library(name: "Dive", targets: ["Dive"]),
        .library(name: "DiveData", targets: ["DiveData"]),
        .library(name: "DiveNN", targets: ["DiveNN"]),
        .library(name: "DiveZoo", targets: ["DiveZoo"]),
        .library(name: "DiveReference", targets: ["DiveReference"]),
        .library(name: "DiveDistributed", targets: ["DiveDistributed"])
    ],
    // `swift build --traits MPI`: data-parallel training over MPI (OpenMPI's libopenmpi-dev).
    traits: [.trait(name: "MPI", description: "Data-parallel training across processes over MPI (dive train --distributed).")],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.0.0", traits: ["MallocInterposer"])
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(
            name: "COpenCL", path: "Sources/COpenCL", pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),

        // The CPU's vector kernels and packed-operand GEMM, AVX-512, AVX2+FMA or baseline chosen at run time.
        .target(name: "CKernels", path: "Sources/CKernels", exclude: ["kernels.inc"]),

        // Kernels/*.cl become a generated Swift source at build time.
        .executableTarget(name: "EmbedKernelsTool", path: "Sources/EmbedKernelsTool"),
        .plugin(
            name: "EmbedKernels", capability: .buildTool(),
            dependencies: ["EmbedKernelsTool"], path: "Plugins/EmbedKernels"),

        .target(
            name: "Dive",
            dependencies: [
                "COpenCL", "CBLAS", "CKernels", .product(name: "Numerics", package: "swift-numerics"),
                .product(name: "Logging", package: "swift-log")
            ],
            path: "Sources/Dive",
            plugins: ["EmbedKernels"]),
        // The Time Machine (179 KB, public domain) is compiled in, so the main job runs offline.
        .target(
            name: "DiveData",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"), "ZIPFoundation", .product(name: "Logging", package: "swift-log")
            ],
            path: "Sources/DiveData", resources: [.embedInCode("Resources/timemachine.txt")]),
        .target(name: "DiveNN", dependencies: ["Dive"], path: "Sources/DiveNN"),
        // The processes of a data-parallel run: MPI with the trait, one process without it.
        .target(
            name: "DiveDistributed", dependencies: [.target(name: "CMPI", condition: .when(traits: ["MPI"]))],
            path: "Sources/DiveDistributed"),
        .target(
            name: "DiveZoo",
            dependencies: ["Dive", "DiveNN", "DiveData", "DiveDistributed", .product(name: "Logging", package: "swift-log")],
            path: "Sources/DiveZoo"),
        // The float64 reference of every primitive (plain loops), shared by the tests and `dive check`.
        .target(name: "DiveReference", dependencies: ["Dive"], path: "Sources/DiveReference"),
        .target(name: "DiveBench", dependencies: ["Dive", "DiveNN", "DiveReference", "CBLAS"], path: "Benchmarks/DiveBench"),
        // `swift package benchmark`: DiveBench's workloads under package-benchmark.
        .executableTarget(
            name: "DiveBenchmarks",
            dependencies: ["Dive", "DiveNN", "DiveBench", .product(name: "Benchmark", package: "package-benchmark")],
            path: "Benchmarks/DiveBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        .executableTarget(
            name: "dive",
            dependencies: [
                "Dive", "DiveData", "DiveNN", "DiveZoo", "DiveBench", "DiveReference", "DiveDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")
            ],
            path: "Sources/DiveCLI"),

        .testTarget(name: "DiveTests", dependencies: ["Dive", "DiveReference", "CKernels"], path: "Tests/DiveTests"),
        .testTarget(name: "DiveDataTests", dependencies: ["DiveData"], path: "Tests/DiveDataTests"),
        .testTarget(
            name: "DiveNNTests", dependencies: ["DiveNN", "Dive", "DiveBench", "DiveReference", "DiveNNResumeWorker"],
            path: "Tests/DiveNNTests"),
        .testTarget(
            name: "DiveZooTests", dependencies: ["DiveZoo", "DiveNN", "Dive", "DiveData", "DiveReference", "DiveQuietProbe"],
            path: "Tests/DiveZooTests"),
        // End-to-end tests of the `dive` command: reliability, and data-parallel runs under mpirun (MPI trait).
        .testTarget(
            name: "CLITests", dependencies: ["dive", "Dive", "DiveNN", "DiveData", "DiveZoo", "DiveDistributed", "DiveReference"],
            path: "Tests/CLITests",
            exclude: ["Interop", "StandInCUDA", "CountOpenCL", "TensorBoard"]),
        // Test-only: a small training run that DiveNNTests kills with SIGKILL and resumes.
        .executableTarget(name: "DiveNNResumeWorker", dependencies: ["DiveNN", "Dive"], path: "Tests/DiveNNResumeWorker"),
        // Test-only: a library program on every device that must print nothing but its own line.
        .executableTarget(name: "DiveQuietProbe", dependencies: ["DiveZoo", "DiveNN", "DiveData", "Dive"], path: "Tests/DiveQuietProbe")
    ],
    swiftLanguageModes: [.v6]
)

// `DIVE_DOCC=1 swift package generate-documentation`: the DocC plugin, only when asked for, so that
// users never resolve it.
if Context.environment["DIVE_DOCC"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"))
}
