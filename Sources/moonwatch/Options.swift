import ArgumentParser
import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSignatures

/// Options shared by every command that loads signatures.
struct SignatureOptions: ParsableArguments {
    @Option(name: .customLong("signatures"), help: ArgumentHelp(
        "A signature file or folder (searched recursively for *.lua). Repeatable. Default: the bundled signatures.",
        valueName: "path"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("Instruction budget of one signature call.", valueName: "n"))
    var budget: Int64 = SandboxLimits.default.instructionsPerCall

    @Option(help: ArgumentHelp("Memory cap of each signature, in MiB.", valueName: "mib"))
    var memory: Int = SandboxLimits.default.memoryBytes >> 20

    @Option(name: .customLong("call-timeout"), help: ArgumentHelp(
        "CPU time one signature call may take, in milliseconds; the watchdog stops a longer call and disables the signature.",
        valueName: "ms"))
    var callTimeout: Int64 = SandboxLimits.default.callTimeoutMilliseconds

    var limits: SandboxLimits {
        var l = SandboxLimits.default
        l.instructionsPerCall = budget
        l.memoryBytes = memory << 20
        l.callTimeoutMilliseconds = callTimeout
        return l
    }

    func validate() throws {
        guard budget >= 1000 else { throw ValidationError("--budget must be at least 1000 instructions") }
        guard memory >= 1 && memory <= 4096 else { throw ValidationError("--memory must be between 1 and 4096 MiB") }
        guard callTimeout >= 10 && callTimeout <= 86_400_000 else {
            throw ValidationError("--call-timeout must be between 10 ms and 24 h (86400000 ms)")
        }
    }

    func sources() throws(SignatureError) -> [SignatureSource] {
        paths.isEmpty ? SignatureLoader.bundledSources : try SignatureLoader.sources(at: paths)
    }

    /// Loads every signature or fails with the first problem, located (file:line).
    func load() throws -> [Signature] {
        let sigs = try Signature.loadAll(try sources(), limits: limits)
        if sigs.isEmpty { throw ValidationError("no signatures found in \(paths.joined(separator: ", "))") }
        return sigs
    }
}

struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Finding format: json, table, falco or tracee.", valueName: "format"))
    var output: OutputFormat = .json

    @Option(name: .customLong("out"), help: ArgumentHelp("Write findings to this file instead of standard output.", valueName: "file"))
    var outFile: String?

    @Flag(help: "Print the run's counters as JSON (on standard error) instead of the text summary.")
    var stats = false

    func sink() throws -> StreamSink { try StreamSink(format: output, path: outFile) }
}

extension OutputFormat: ExpressibleByArgument {}

/// Messages to standard error, prefixed like every moonwatch diagnostic.
func note(_ s: String) { Engine.stderrLog(s) }
