// swift-tools-version:5.9
// TetherKit: the iPhone side of tether's camera protocol (proto/camera/PROTOCOL.md).
//
// Foundation only, no outside packages: the same sources build for iOS and macOS apps
// and on Linux, where tests and tether-controller run against the real board stack.
import PackageDescription

let package = Package(
    name: "TetherKit",
    platforms: [.iOS(.v16), .macOS(.v13)],  // Duration and Clock, for every timeout
    products: [
        .library(name: "TetherKit", targets: ["TetherKit"]),
        .executable(name: "tether-controller", targets: ["tether-controller"]),
    ],
    targets: [
        .target(name: "TetherKit"),
        .executableTarget(name: "tether-controller", dependencies: ["TetherKit"]),
        .testTarget(name: "TetherKitTests", dependencies: ["TetherKit"]),
    ]
)
