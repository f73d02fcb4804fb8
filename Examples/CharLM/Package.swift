// swift-tools-version:6.1
// A user's program that depends on Dive by path and trains a small model through the library API.
import PackageDescription

let package = Package(
    name: "CharLM",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Dive", path: "../..")],
    targets: [
        .executableTarget(name: "CharLM",
                          dependencies: [.product(name: "Dive", package: "Dive"), .product(name: "DiveNN", package: "Dive"),
                                         .product(name: "DiveData", package: "Dive"), .product(name: "DiveZoo", package: "Dive")],
                          path: "Sources/CharLM"),
    ],
    swiftLanguageModes: [.v5]
)
