// swift-tools-version:6.0
import PackageDescription

// The recorder runs inside other programs' malloc: it must be optimised in every configuration
// (a -Onone build instantiates generic metadata and allocates on the first malloc) and must not
// emit exclusivity checks (runtime calls) around its global state.
let recorderSwiftFlags: [SwiftSetting] = [
    .unsafeFlags(["-O", "-enforce-exclusivity=unchecked", "-Xllvm", "-enable-machine-outliner=never",
                  // frame pointers, so a frame-pointer walk passes through the recorder's own frames
                  "-Xcc", "-fno-omit-frame-pointer",
                  // neither module uses concurrency or regexes: not importing them keeps
                  // libswift_Concurrency, _StringProcessing and _RegexParser (and libdispatch) out
                  // of every traced process, a third of the recorder's start-up
                  "-Xfrontend", "-disable-implicit-concurrency-module-import",
                  "-Xfrontend", "-disable-implicit-string-processing-module-import"]),
]

let package = Package(
    name: "alloctrace",
    products: [
        .executable(name: "alloctrace", targets: ["alloctrace"]),
        // The LD_PRELOAD library: libAllocTracePreload.so.
        .library(name: "AllocTracePreload", type: .dynamic, targets: ["AllocTraceRecorder"]),
        // `AllocTrace.mark("label")` for Swift programs; a no-op when the recorder is absent.
        .library(name: "AllocTraceMarks", targets: ["AllocTraceMarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // --- shared modules -------------------------------------------------------------------
        .target(name: "TraceFormat", path: "Sources/TraceFormat", swiftSettings: recorderSwiftFlags),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .target(name: "TraceReader", dependencies: ["TraceFormat", "CZstd"], path: "Sources/TraceReader"),
        // Prefetch and mremap for the replay (header only).
        .systemLibrary(name: "CReplaySupport", path: "Sources/CReplaySupport"),
        .target(name: "TraceAnalysis", dependencies: ["TraceReader", "TraceFormat", "CReplaySupport"], path: "Sources/TraceAnalysis"),
        .target(name: "AllocTraceMarks", path: "Sources/AllocTraceMarks"),
        .systemLibrary(name: "CLibdw", path: "Sources/CLibdw", pkgConfig: "libdw",
                       providers: [.apt(["libdw-dev"])]),
        // Return addresses -> frames (libdw, Swift and C++ demangling), offline.
        .systemLibrary(name: "CIberty", path: "Sources/CIberty", providers: [.apt(["libiberty-dev"])]),
        .target(name: "Symbolication", dependencies: ["CLibdw", "CIberty", "TraceReader", "TraceFormat"], path: "Sources/Symbolication",
                linkerSettings: [.linkedLibrary("stdc++")]),

        // Renderers: text tables, JSON; one report a file over the replay's model.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "TraceReports", dependencies: ["TraceAnalysis", "Symbolication", "TraceReader", "TraceFormat", "CZlib"],
                path: "Sources/TraceReports"),

        // --- recorder (LD_PRELOAD library) -----------------------------------------------------
        .target(
            name: "CRecorderSupport",
            dependencies: ["CZstd"],
            path: "preload/CRecorderSupport",
            cSettings: [.unsafeFlags(["-O2", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls",
                                      "-ftls-model=initial-exec"])],
            linkerSettings: [.linkedLibrary("unwind"), .linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),
        .target(
            name: "AllocTraceRecorder",
            dependencies: ["CRecorderSupport", "TraceFormat", "CZstd"],
            path: "preload/Recorder",
            swiftSettings: recorderSwiftFlags
        ),

        // --- analyzer (the `alloctrace` command) -------------------------------------------------
        .target(
            name: "AllocTraceCommands",
            dependencies: [
                "TraceReader", "TraceFormat", "TraceAnalysis", "TraceReports", "Symbolication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "analyzer/AllocTraceCommands",
            // Python/alloctrace.py (marks from Python) is found in the source tree or an installed
            // prefix, not declared as a resource: SwiftPM's resource accessor imports Foundation,
            // whose ICU data alone maps 40 MB into `record` (it must start under a small ulimit -v)
            exclude: ["Python"]
        ),
        .executableTarget(name: "alloctrace", dependencies: ["AllocTraceCommands"], path: "analyzer/alloctrace"),

        // --- samples: programs whose allocation behaviour is known exactly ---------------------
        .executableTarget(name: "samples", dependencies: ["AllocTraceMarks"], path: "samples/swift"),
        // C samples find include/alloctrace.h through "../../../include" (relative to samples/c/<name>).
        .executableTarget(name: "sample-entrypoints", path: "samples/c/entrypoints",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-threads", path: "samples/c/threads",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-fork", path: "samples/c/fork",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-exec", path: "samples/c/exec",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-long", path: "samples/c/long",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-crash", path: "samples/c/crash",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-dlopen", path: "samples/c/dlopen",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-cxx", path: "samples/c/cxx",
                          cxxSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-graph", path: "samples/c/graph",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-sampled", path: "samples/c/sampled",
                          cSettings: [.headerSearchPath("../../../include")]),
        .executableTarget(name: "sample-hostile", path: "samples/c/hostile",
                          cSettings: [.headerSearchPath("../../../include")], linkerSettings: [.linkedLibrary("pthread")]),

        // --- tests ---------------------------------------------------------------------------
        .testTarget(name: "TraceFormatTests", dependencies: ["TraceFormat", "TraceReader", "CZstd"], path: "Tests/TraceFormatTests"),
        .testTarget(name: "EndToEndTests", dependencies: ["TraceReader", "TraceFormat"], path: "Tests/EndToEndTests"),
        .testTarget(name: "SymbolicationTests", dependencies: ["Symbolication"], path: "Tests/SymbolicationTests"),
        .testTarget(name: "TraceAnalysisTests", dependencies: ["TraceAnalysis", "TraceReader"], path: "Tests/TraceAnalysisTests"),
    ]
)
