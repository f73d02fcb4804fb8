// swift-tools-version:6.1
// Users' programs that depend on Dive by path and train through the library API: CharLM (a
// character LSTM with its own loop) and OwnText (your text, the Trainer, held-out perplexity, a
// checkpoint round trip, every device).
import PackageDescription

let package = Package(
    name: "Examples",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Dive", path: "..")],
    targets: [
        .executableTarget(
            name: "CharLM",
            dependencies: [
                .product(name: "Dive", package: "Dive"), .product(name: "DiveNN", package: "Dive"),
                .product(name: "DiveData", package: "Dive"), .product(name: "DiveZoo", package: "Dive")
            ],
            path: "Sources/CharLM"),
        .executableTarget(
            name: "OwnText",
            dependencies: [
                .product(name: "Dive", package: "Dive"), .product(name: "DiveNN", package: "Dive"),
                .product(name: "DiveData", package: "Dive"), .product(name: "DiveZoo", package: "Dive")
            ],
            path: "Sources/OwnText")
    ],
    swiftLanguageModes: [.v6]
)
