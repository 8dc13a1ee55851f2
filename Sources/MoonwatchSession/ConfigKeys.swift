import MoonwatchCore
import MoonwatchOutput
import MoonwatchSignatures

/// Every configuration key: its name (a long option's name with `_` for `-`), what it takes, its
/// default as shown in `--help`, and whether a reload (SIGHUP) can change it. The command-line
/// options take their help text from here, so the two cannot drift apart.
public struct ConfigKey: Sendable {
    public enum Shape: Sendable, Equatable {
        /// true or false; on the command line a flag without a value.
        case flag
        /// One value.
        case value(String)
        /// Several values (repeatable on the command line, a YAML list in a file).
        case list(String)
        /// `params`: signature id -> parameter -> value.
        case params
    }
    public var name: String
    public var shape: Shape
    public var help: String
    /// Shown as "(default: ...)"; nil when the default is "unset".
    public var defaultText: String?
    /// Takes effect at start only: a reload that changes it keeps the old value and says so.
    public var restartOnly: Bool
    /// Holds a path: relative paths in a configuration file are taken from the file's folder.
    public var isPath: Bool

    public var option: String { "--" + name.replacingAll("_", with: "-") }
    /// `--help` text: the help, then the default.
    public var helpText: String { help + (defaultText.map { " (default: \($0))" } ?? "") }
    public var valueName: String? {
        switch shape {
        case .flag, .params: return nil
        case .value(let v), .list(let v): return v
        }
    }
}

extension ConfigKey {
    public static let all: [ConfigKey] = [
        // Signatures
        ConfigKey(name: "signatures", shape: .list("path"), help: "A signature file or folder (searched for *.lua) loaded in addition to the bundled set; a signature with a bundled id replaces it. Repeatable.",
                  defaultText: nil, restartOnly: false, isPath: true),
        ConfigKey(name: "no_bundled", shape: .flag, help: "Do not load the bundled signatures (only --signatures).",
                  defaultText: nil, restartOnly: false, isPath: false),
        ConfigKey(name: "disable", shape: .list("id|tag"), help: "Disable the signature with this id, or every signature with this tag. Repeatable.",
                  defaultText: nil, restartOnly: false, isPath: false),
        ConfigKey(name: "min_severity", shape: .value("level"), help: "Disable signatures whose severity is below this level (info, low, medium, high, critical), and drop findings below it.",
                  defaultText: nil, restartOnly: false, isPath: false),
        ConfigKey(name: "params", shape: .params, help: "Signature parameters: ID.NAME=VALUE, a list as a,b,c (command line: --param; file: params: {ID: {NAME: VALUE}}).",
                  defaultText: nil, restartOnly: false, isPath: false),
        ConfigKey(name: "budget", shape: .value("n"), help: "Instruction budget of one signature call.",
                  defaultText: String(SandboxLimits.default.instructionsPerCall), restartOnly: false, isPath: false),
        ConfigKey(name: "memory", shape: .value("mib"), help: "Memory cap of each signature, in MiB.",
                  defaultText: String(SandboxLimits.default.memoryBytes >> 20), restartOnly: false, isPath: false),
        ConfigKey(name: "call_timeout", shape: .value("ms"), help: "CPU time one signature call may take, in milliseconds; the watchdog stops a longer call and disables the signature.",
                  defaultText: String(SandboxLimits.default.callTimeoutMilliseconds), restartOnly: false, isPath: false),
        // Findings
        ConfigKey(name: "output", shape: .value("format"), help: "Finding format: table, json, falco or tracee.",
                  defaultText: "table on a terminal, json otherwise", restartOnly: true, isPath: false),
        ConfigKey(name: "out", shape: .value("file"), help: "Write findings to this file instead of standard output (SIGUSR1 reopens it).",
                  defaultText: nil, restartOnly: true, isPath: true),
        ConfigKey(name: "dedup_window", shape: .value("duration"), help: "Write identical findings (same signature and key: by default the process and the message) once per window of event time, then one summary with the count; 0 turns it off.",
                  defaultText: "60s", restartOnly: false, isPath: false),
        ConfigKey(name: "rate_limit", shape: .value("n"), help: "At most this many findings per signature per minute (after deduplication); the rest are counted and reported; 0 turns it off.",
                  defaultText: "100", restartOnly: false, isPath: false),
        ConfigKey(name: "keep_env", shape: .list("name"), help: "Keep the value of this environment variable in findings (values are removed by default, names kept). Repeatable.",
                  defaultText: nil, restartOnly: false, isPath: false),
        ConfigKey(name: "stats", shape: .flag, help: "Print the run's counters as JSON on standard error instead of the text summary.",
                  defaultText: nil, restartOnly: true, isPath: false),
        ConfigKey(name: "stats_file", shape: .value("file"), help: "Also write the run's counters as JSON to this file at the end.",
                  defaultText: nil, restartOnly: true, isPath: true),
        ConfigKey(name: "verbose", shape: .flag, help: "Say more: the event kinds captured at start, every signature in the summary.",
                  defaultText: nil, restartOnly: false, isPath: false),
        // Replay
        ConfigKey(name: "strict", shape: .flag, help: "replay: fail on the first bad line instead of skipping it.",
                  defaultText: nil, restartOnly: true, isPath: false),
        ConfigKey(name: "max_line", shape: .value("size"), help: "replay: longest input line, in bytes, with an optional K or M suffix; a longer line is skipped and counted.",
                  defaultText: "4M", restartOnly: true, isPath: false),
        // Live
        ConfigKey(name: "events", shape: .value("list"), help: "Comma-separated event names to capture (`moonwatch events list`), or all; a leading + adds them to the signatures' kinds instead of replacing them.",
                  defaultText: "the kinds the enabled signatures select", restartOnly: false, isPath: false),
        ConfigKey(name: "for", shape: .value("duration"), help: "Stop after this long: 30s, 5m, 1h.",
                  defaultText: "until stopped", restartOnly: true, isPath: false),
        ConfigKey(name: "pid", shape: .list("pid"), help: "Only this process and its children. Repeatable.",
                  defaultText: nil, restartOnly: true, isPath: false),
        ConfigKey(name: "comm", shape: .list("name"), help: "Only tasks with this comm, 15 bytes at most. Repeatable, up to 8.",
                  defaultText: nil, restartOnly: true, isPath: false),
        ConfigKey(name: "uid", shape: .list("uid"), help: "Only this uid. Repeatable, up to 8.",
                  defaultText: nil, restartOnly: true, isPath: false),
        ConfigKey(name: "ring_size", shape: .value("mib"), help: "Kernel ring buffer size in MiB (a power of two).",
                  defaultText: "16", restartOnly: true, isPath: false),
        ConfigKey(name: "bpf_stats", shape: .flag, help: "Have the kernel time every run of the probes and report it with the counters (costs two clock reads per run).",
                  defaultText: nil, restartOnly: true, isPath: false),
        ConfigKey(name: "capture", shape: .value("file"), help: "run: also write the events that reached the engine to this capture file (SIGUSR1 reopens it).",
                  defaultText: nil, restartOnly: true, isPath: true),
        ConfigKey(name: "capture_env", shape: .flag, help: "Keep environment values in capture files (removed by default, names kept).",
                  defaultText: nil, restartOnly: false, isPath: false),
        ConfigKey(name: "watch", shape: .flag, help: "run: reload when a signature file or the configuration file changes (SIGHUP always reloads).",
                  defaultText: nil, restartOnly: true, isPath: false),
    ]

    public static func named(_ name: String) -> ConfigKey? { all.first { $0.name == name } }

    /// "did you mean ...?" for a key that does not exist.
    public static func suggestion(for name: String) -> String? {
        let n = name.replacingAll("-", with: "_").lowercased()
        if named(n) != nil { return n }
        return all.map { ($0.name, Catalogue.editDistance(n, $0.name)) }.filter { $0.1 <= 3 }.min { $0.1 < $1.1 }?.0
    }

    /// `--help` text of a key (`ConfigKey.help("dedup_window")`).
    public static func help(_ name: String) -> String {
        guard let k = named(name) else { preconditionFailure("no configuration key \(name)") }
        return k.helpText
    }
}
