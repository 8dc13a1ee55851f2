// swift-tools-version:6.1
import PackageDescription

// Layering (dependencies point downwards only):
//   moonwatch (CLI) ─► MoonwatchSession (configuration, the wiring, signals, privileges)
//   MoonwatchSession ─► MoonwatchEngine, MoonwatchProbes, MoonwatchCapture, MoonwatchOutput
//   MoonwatchEngine ─► MoonwatchSignatures ─► MoonwatchCore
//   MoonwatchProbes ─► MoonwatchCore, Libbpf ─► CLibbpf, CMoonwatchWire   (the only modules that touch libbpf)
//   MoonwatchSignatures ─► CLuaSandbox ─► CLua                   (all Lua-facing C lives in CLuaSandbox)
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "moonwatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "moonwatch", targets: ["moonwatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The configuration file (YAML with line numbers for every key).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries from Debian packages.
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),

        // The Lua sandbox: every function Lua can call (report, hook, allocator, guards) is C,
        // so a Lua error (a longjmp) never crosses a Swift frame.
        .target(name: "CLuaSandbox", dependencies: ["CLua"],
                cSettings: [.unsafeFlags(["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"])]),

        // Kernel <-> user wire structs and the user-ABI structs, shared verbatim with bpf/*.bpf.c.
        .target(name: "CMoonwatchWire"),

        // What `run` gives up after attach: capabilities, no_new_privs, Landlock, seccomp (every thread).
        .target(name: "CMoonwatchPrivileges", cSettings: [.unsafeFlags(["-Wall", "-Wextra"])]),

        // libbpf in Swift: types that own their handles (object, program, map, link, ring buffer),
        // one errno-carrying error naming the C call. Nothing above it sees an OpaquePointer.
        .target(name: "Libbpf", dependencies: ["CLibbpf"]),

        // Per-event code paths: release builds skip dynamic exclusivity checks (debug builds and
        // tests keep them, so a violation still shows up there).
        .target(name: "MoonwatchCore", swiftSettings: hotPath),
        .target(name: "MoonwatchCapture", dependencies: ["MoonwatchCore"]),
        .target(name: "MoonwatchSignatures", dependencies: ["MoonwatchCore", "CLuaSandbox"],
                swiftSettings: hotPath, plugins: ["EmbedFiles"]),
        .target(name: "MoonwatchOutput", dependencies: ["MoonwatchCore"]),
        .target(name: "MoonwatchEngine", dependencies: ["MoonwatchCore", "MoonwatchSignatures", "MoonwatchOutput"],
                swiftSettings: hotPath),
        .target(name: "MoonwatchProbes", dependencies: ["MoonwatchCore", "CMoonwatchWire", "Libbpf"],
                plugins: ["EmbedFiles"]),

        // Build-time embedding of signatures/ and the compiled bpf/ object.
        .executableTarget(name: "moonwatch-embed"),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["moonwatch-embed"]),

        // One run of moonwatch as a library: the configuration resolved from file, environment and
        // flags; the signature set it selects; source, engine, finding gate and sinks wired together;
        // signals (stop, reload, reopen) and the privilege drop. Commands only parse and call it.
        .target(name: "MoonwatchSession", dependencies: [
            "MoonwatchCore", "MoonwatchCapture", "MoonwatchSignatures", "MoonwatchEngine",
            "MoonwatchOutput", "MoonwatchProbes", "CMoonwatchPrivileges",
            .product(name: "Yams", package: "Yams"),
        ]),

        .executableTarget(name: "moonwatch", dependencies: [
            "MoonwatchCore", "MoonwatchCapture", "MoonwatchSignatures", "MoonwatchEngine",
            "MoonwatchOutput", "MoonwatchProbes", "MoonwatchSession",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "moonwatch-bench", dependencies: [
            "MoonwatchCore", "MoonwatchCapture", "MoonwatchSignatures", "MoonwatchEngine", "MoonwatchOutput",
        ], path: "benchmarks/Sources/moonwatch-bench"),

        .testTarget(name: "MoonwatchCoreTests", dependencies: ["MoonwatchCore"]),
        .testTarget(name: "MoonwatchCaptureTests", dependencies: ["MoonwatchCore", "MoonwatchCapture"]),
        .testTarget(name: "MoonwatchSignaturesTests", dependencies: ["MoonwatchCore", "MoonwatchSignatures", "MoonwatchEngine", "MoonwatchOutput"]),
        // Runs the built `moonwatch` binary end to end (the dependency makes `swift build --build-tests` build it).
        .testTarget(name: "MoonwatchCLITests", dependencies: ["MoonwatchCore", "moonwatch"]),
        // Configuration precedence, tuning, deduplication and reload through `Session`, without a kernel.
        .testTarget(name: "MoonwatchSessionTests", dependencies: [
            "MoonwatchCore", "MoonwatchSession", "MoonwatchSignatures", "MoonwatchEngine", "MoonwatchOutput", "MoonwatchCapture",
        ]),

        // Bounded mutation fuzzing of the capture reader and the wire decoder (a small budget in
        // `make test`, a long one in `make fuzz`).
        .testTarget(name: "MoonwatchFuzzTests", dependencies: [
            "MoonwatchCore", "MoonwatchCapture", "MoonwatchProbes", "CMoonwatchWire", "MoonwatchSignatures",
            "MoonwatchEngine", "MoonwatchOutput",
        ]),

        // Live probe tests: the C trigger program makes the syscalls, the tests assert the decoded
        // events and findings (root; skipped otherwise unless MOONWATCH_REQUIRE_LIVE=1).
        .executableTarget(name: "mw-trigger", path: "Tests/Triggers"),
        .testTarget(name: "MoonwatchProbesTests", dependencies: [
            "MoonwatchCore", "MoonwatchProbes", "CMoonwatchWire", "Libbpf", "MoonwatchEngine", "MoonwatchSignatures",
            "MoonwatchOutput", "MoonwatchCapture", "mw-trigger", "moonwatch",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
