// swift-tools-version: 6.1
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode with strict concurrency,
/// and the upcoming features the Swift server ecosystem builds with.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "sockbench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sockbench", targets: ["sockbench"]),
        .library(name: "SockBench", targets: ["SockBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        /// Linux headers Glibc does not expose to Swift (epoll, eventfd, signalfd, tcp_info).
        .target(name: "CSockBenchLinux"),
        /// libpcap; only `PacketCapture` imports it.
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        /// PCRE2 (8-bit); only `BoundedRegex` imports it: expect_regex with a match budget.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        /// zlib; only `HistogramCodec` imports it: histograms other HdrHistogram libraries deflated.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "SockBench",
            dependencies: [
                "CSockBenchLinux",
                "CPcap",
                "CPCRE2",
                "CZlib",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sockbench",
            dependencies: [
                "SockBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SockBenchTests",
            dependencies: ["SockBench", "sockbench"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
