import ArgumentParser
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSession

/// The help of a configuration key, as `--help` shows it (the text lives with the key).
func help(_ key: String) -> ArgumentHelp {
    ArgumentHelp(ConfigKey.help(key), valueName: ConfigKey.named(key)?.valueName)
}

/// The options a command was given, as configuration settings (only those given: the rest comes
/// from the file, the environment or the defaults).
struct Given {
    var options: [ConfigurationSource.Option] = []
    mutating func value(_ key: String, _ v: String?) {
        if let v { options.append(.init(key: key, value: .scalar(v))) }
    }
    mutating func list(_ key: String, _ v: [String], origin: String? = nil) {
        if !v.isEmpty { options.append(.init(key: key, value: .list(v), append: true, origin: origin)) }
    }
    mutating func flag(_ key: String, _ on: Bool) {
        if on { options.append(.init(key: key, value: .scalar("true"))) }
    }
}

/// `--config` and `--set`: where the configuration comes from.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "Configuration file (YAML; `moonwatch config show` prints every key). Default: $MOONWATCH_CONFIG, else \(MoonwatchSession.Configuration.defaultFile) when it exists; \"\" for none.",
        valueName: "file"))
    var file: String?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Set one configuration key, over the file and the environment: --set min_severity=high, --set disable=[MW-1001,MW-2001]. Repeatable.",
        valueName: "key=value"))
    var sets: [String] = []

    /// Resolves the configuration with the command's own options on top.
    func source(_ given: Given) -> ConfigurationSource {
        ConfigurationSource(configFile: file, environment: ConfigurationSource.processEnvironment, sets: sets, options: given.options)
    }
}

/// Which signatures run, with what limits.
struct SignatureOptions: ParsableArguments {
    @Option(name: .customLong("signatures"), help: help("signatures")) var paths: [String] = []
    @Flag(name: .customLong("no-bundled"), help: help("no_bundled")) var noBundled = false
    @Option(help: help("disable")) var disable: [String] = []
    @Option(name: .customLong("min-severity"), help: help("min_severity")) var minSeverity: String?
    @Option(name: .customLong("param"), help: ArgumentHelp(
        "Set a signature parameter: ID.NAME=VALUE, a list as a,b,c (`moonwatch signatures list --params` shows them). Repeatable.",
        valueName: "id.name=value"))
    var params: [String] = []
    @Option(help: help("budget")) var budget: String?
    @Option(help: help("memory")) var memory: String?
    @Option(name: .customLong("call-timeout"), help: help("call_timeout")) var callTimeout: String?

    func add(to g: inout Given) {
        g.list("signatures", paths)
        g.flag("no_bundled", noBundled)
        g.list("disable", disable)
        g.value("min_severity", minSeverity)
        g.list("params", params, origin: "--param")
        g.value("budget", budget)
        g.value("memory", memory)
        g.value("call_timeout", callTimeout)
    }
}

/// Where findings go and what is written.
struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: help("output")) var output: String?
    @Option(name: .customLong("out"), help: help("out")) var outFile: String?
    @Option(name: .customLong("dedup-window"), help: help("dedup_window")) var dedupWindow: String?
    @Option(name: .customLong("rate-limit"), help: help("rate_limit")) var rateLimit: String?
    @Option(name: .customLong("keep-env"), help: help("keep_env")) var keepEnv: [String] = []
    @Flag(help: help("stats")) var stats = false
    @Option(name: .customLong("stats-file"), help: help("stats_file")) var statsFile: String?
    @Flag(name: .shortAndLong, help: help("verbose")) var verbose = false

    func add(to g: inout Given) {
        g.value("output", output)
        g.value("out", outFile)
        g.value("dedup_window", dedupWindow)
        g.value("rate_limit", rateLimit)
        g.list("keep_env", keepEnv)
        g.flag("stats", stats)
        g.value("stats_file", statsFile)
        g.flag("verbose", verbose)
    }
}

/// Scope and duration of `run` and `capture`.
struct LiveCaptureOptions: ParsableArguments {
    @Option(help: help("events")) var events: String?
    @Option(name: .customLong("for"), help: help("for")) var duration: String?
    @Option(help: help("pid")) var pid: [String] = []
    @Option(help: help("comm")) var comm: [String] = []
    @Option(help: help("uid")) var uid: [String] = []
    @Option(name: .customLong("ring-size"), help: help("ring_size")) var ringSize: String?
    @Flag(name: .customLong("bpf-stats"), help: help("bpf_stats")) var bpfStats = false
    @Flag(name: .customLong("capture-env"), help: help("capture_env")) var captureEnv = false

    func add(to g: inout Given) {
        g.value("events", events)
        g.value("for", duration)
        g.list("pid", pid)
        g.list("comm", comm)
        g.list("uid", uid)
        g.value("ring_size", ringSize)
        g.flag("bpf_stats", bpfStats)
        g.flag("capture_env", captureEnv)
    }
}

/// Options of `run` alone.
struct RunOnlyOptions: ParsableArguments {
    @Option(help: help("capture")) var capture: String?
    @Flag(help: help("watch")) var watch = false

    func add(to g: inout Given) {
        g.value("capture", capture)
        g.flag("watch", watch)
    }
}

/// Options of `replay` alone.
struct ReplayOnlyOptions: ParsableArguments {
    @Flag(help: help("strict")) var strict = false
    @Option(name: .customLong("max-line"), help: help("max_line")) var maxLine: String?

    func add(to g: inout Given) {
        g.flag("strict", strict)
        g.value("max_line", maxLine)
    }
}

/// Messages to standard error, prefixed like every moonwatch diagnostic.
func note(_ s: String) { Engine.stderrLog(s) }
