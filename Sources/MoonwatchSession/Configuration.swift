#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import MoonwatchOutput
import MoonwatchSignatures

/// Everything a run is configured with, resolved once from, in increasing precedence:
///
/// 1. the defaults;
/// 2. the configuration file: `--config FILE`, else `$MOONWATCH_CONFIG`, else
///    `/etc/moonwatch/moonwatch.yaml` when it exists (an empty name means no file);
/// 3. the environment: `MOONWATCH_<KEY>` (`MOONWATCH_MIN_SEVERITY=high`);
/// 4. `--set key=value` (Falco's `-o`), in the order given;
/// 5. the command line's own options (`--min-severity high`).
///
/// A later layer replaces a key an earlier one set, with one exception: a repeatable option
/// (`--disable`, `--signatures`, `--keep-env`, `--param`...) adds to the list the layers before it
/// built, so `--disable MW-2001` does not bring back what the file disabled (`--set disable=[]`
/// empties a list). Every value keeps where it came from, for `config show` and error messages.
public struct Configuration: Sendable, Equatable {
    // Signatures
    public var signatures: [String] = []
    public var noBundled = false
    public var disable: [String] = []
    public var minSeverity: Severity?
    public var params: ParamOverrides = [:]
    public var budget: Int64 = SandboxLimits.default.instructionsPerCall
    public var memory: Int = SandboxLimits.default.memoryBytes >> 20
    public var callTimeout: Int64 = SandboxLimits.default.callTimeoutMilliseconds
    // Findings
    /// nil: table on a terminal, json otherwise (and in files).
    public var output: OutputFormat?
    public var out: String?
    /// Seconds; 0 is off.
    public var dedupWindow: Double = 60
    public var rateLimit: Int = 100
    public var keepEnv: [String] = []
    public var stats = false
    public var statsFile: String?
    public var verbose = false
    // Replay
    public var strict = false
    public var maxLine: Int = 4 << 20
    // Live
    public var events: String?
    /// `for`, in seconds.
    public var duration: Double?
    public var pid: [Int32] = []
    public var comm: [String] = []
    public var uid: [UInt32] = []
    public var ringSize: Int = 16
    public var bpfStats = false
    public var capture: String?
    public var captureEnv = false
    public var watch = false

    /// The configuration file read, if any.
    public var file: String?
    /// Key -> where its value came from ("/etc/moonwatch/moonwatch.yaml:3", "--set", "--disable", ...).
    public var origins: [String: String] = [:]

    public init() {}

    public static let defaultFile = "/etc/moonwatch/moonwatch.yaml"
    public static let environmentPrefix = "MOONWATCH_"
    /// Names the environment uses for something else (developer overrides, test switches).
    static let reservedEnvironment: Set<String> = ["CONFIG", "PROBE_MODE", "BPF_OBJECT", "BPF_CLANG", "REQUIRE_LIVE"]

    public var limits: SandboxLimits {
        var l = SandboxLimits.default
        l.instructionsPerCall = budget
        l.memoryBytes = memory << 20
        l.callTimeoutMilliseconds = callTimeout
        return l
    }

    /// The finding format in effect: the chosen one, or table on a terminal and json elsewhere.
    public func outputFormat(stdoutIsTerminal: Bool = isatty(1) != 0) -> OutputFormat {
        if let output { return output }
        return out == nil && stdoutIsTerminal ? .table : .json
    }

    /// The deduplication, rate limit, severity floor and environment settings of the findings.
    public var gateSettings: FindingGate.Settings {
        var g = FindingGate.Settings()
        g.dedupWindow = UInt64(dedupWindow * 1e9)
        g.rateLimit = rateLimit
        g.minSeverity = minSeverity
        g.keepEnv = Set(keepEnv)
        return g
    }
}

// MARK: - Values

/// A value as written in a file, `--set`, the environment or an option, before it is typed.
public indirect enum ConfigValue: Sendable, Equatable {
    case scalar(String)
    case list([String])
    /// A mapping (only `params` takes one): key, value, where the value was written.
    case map([(key: String, value: ConfigValue, origin: String)])

    public static func == (a: ConfigValue, b: ConfigValue) -> Bool {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.map(let x), .map(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

/// A configuration problem, located ("moonwatch.yaml:3: min_severity: ...", "--set: ...").
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public var origin: String
    public var message: String
    public init(_ origin: String, _ message: String) { self.origin = origin; self.message = message }
    public var description: String { origin.isEmpty ? message : "\(origin): \(message)" }
}

extension Configuration {
    /// Sets one key. `append`: a list value extends the current list (repeatable options).
    /// `base`: the folder relative paths are taken from (a file's; nil keeps them as given).
    public mutating func apply(_ key: String, _ value: ConfigValue, origin: String, append: Bool = false,
                               base: String? = nil) throws(ConfigError) {
        guard let spec = ConfigKey.named(key) else {
            let hint = ConfigKey.suggestion(for: key).map { "; did you mean '\($0)'?" } ?? ""
            throw ConfigError(origin, "unknown key '\(key)'\(hint) (`moonwatch config show` lists every key)")
        }
        func fail(_ why: String) -> ConfigError { ConfigError(origin, "\(key): \(why)") }
        func scalar() throws(ConfigError) -> String {
            switch value {
            case .scalar(let s): return s.trimmingSpaces
            case .list: throw fail("expected one value, not a list")
            case .map: throw fail("expected one value, not a mapping")
            }
        }
        func items() throws(ConfigError) -> [String] {
            switch value {
            case .list(let l): return l.map(\.trimmingSpaces)
            case .scalar(let s):
                // `--set disable=a,b` and `MOONWATCH_DISABLE=a,b` are lists too; an empty value empties it.
                return s.trimmingSpaces.isEmpty ? [] : s.split(separator: ",").map { String($0).trimmingSpaces }
            case .map: throw fail("expected a list, not a mapping")
            }
        }
        func path(_ p: String) -> String {
            guard let base, !p.hasPrefix("/"), !p.isEmpty, p != "-" else { return p }
            return base + "/" + p
        }
        func list<T>(_ parse: (String) throws(ConfigError) -> T, _ current: [T]) throws(ConfigError) -> [T] {
            var out = append ? current : []
            for s in try items() { out.append(try parse(s)) }
            return out
        }
        switch key {
        case "signatures": signatures = try list({ path($0) }, signatures)
        case "no_bundled": noBundled = try Self.bool(scalar(), fail)
        case "disable": disable = try list({ $0 }, disable)
        case "min_severity": minSeverity = try Self.severity(scalar(), fail)
        case "params": try applyParams(value, origin: origin, append: append)
        case "budget": budget = try Self.integer(scalar(), in: 1000...Int64.max, fail)
        case "memory": memory = Int(try Self.integer(scalar(), in: 1...4096, fail))
        case "call_timeout": callTimeout = try Self.integer(scalar(), in: 10...86_400_000, fail)
        case "output":
            let s = try scalar()
            guard let f = OutputFormat(rawValue: s.lowercased()) else {
                throw fail("\"\(s)\" is not one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            output = f
        case "out": out = Self.optional(path(try scalar()))
        case "dedup_window": dedupWindow = try Self.seconds(scalar(), allowZero: true, fail)
        case "rate_limit": rateLimit = Int(try Self.integer(scalar(), in: 0...1_000_000, fail))
        case "keep_env": keepEnv = try list({ $0 }, keepEnv)
        case "stats": stats = try Self.bool(scalar(), fail)
        case "stats_file": statsFile = Self.optional(path(try scalar()))
        case "verbose": verbose = try Self.bool(scalar(), fail)
        case "strict": strict = try Self.bool(scalar(), fail)
        case "max_line": maxLine = try Self.size(scalar(), fail)
        case "events":
            let s = try scalar()
            if !s.isEmpty { _ = try Self.eventKinds(s, base: [], fail) }
            events = Self.optional(s)
        case "for":
            let s = try scalar()
            duration = s.isEmpty ? nil : try Self.seconds(s, allowZero: false, fail)
        case "pid": pid = try list({ (s: String) throws(ConfigError) in Int32(try Self.integer(s, in: 1...Int64(Int32.max), fail)) }, pid)
        case "comm":
            comm = try list({ (s: String) throws(ConfigError) in
                guard !s.isEmpty, s.utf8.count <= 15 else {
                    throw fail("\"\(s)\": a comm is 1 to 15 bytes long (the kernel cuts longer program names to 15)")
                }
                return s
            }, comm)
        case "uid": uid = try list({ (s: String) throws(ConfigError) in UInt32(try Self.integer(s, in: 0...Int64(UInt32.max), fail)) }, uid)
        case "ring_size":
            let n = try Self.integer(scalar(), in: 1...1024, fail)
            guard n & (n - 1) == 0 else { throw fail("\(n) is not a power of two between 1 and 1024 (MiB)") }
            ringSize = Int(n)
        case "bpf_stats": bpfStats = try Self.bool(scalar(), fail)
        case "capture": capture = Self.optional(path(try scalar()))
        case "capture_env": captureEnv = try Self.bool(scalar(), fail)
        case "watch": watch = try Self.bool(scalar(), fail)
        default: preconditionFailure("configuration key \(spec.name) has no setter")
        }
        origins[key] = append && origins[key] != nil && origins[key] != origin ? origins[key]! + ", " + origin : origin
    }

    /// `params` from a file ({ID: {NAME: VALUE}}), or one `ID.NAME=VALUE` (`--param`).
    private mutating func applyParams(_ value: ConfigValue, origin: String, append: Bool) throws(ConfigError) {
        func raw(_ v: ConfigValue, _ at: String) throws(ConfigError) -> ParamOverride {
            switch v {
            case .scalar(let s): return ParamOverride(.scalar(s), origin: at)
            case .list(let l): return ParamOverride(.list(l), origin: at)
            case .map: throw ConfigError(at, "params: a parameter's value is one value or a list, not a mapping")
            }
        }
        var next: ParamOverrides = append ? params : [:]
        switch value {
        case .map(let ids):
            for (id, v, at) in ids {
                guard case .map(let names) = v else {
                    throw ConfigError(at, "params.\(id): expected a mapping of parameter names to values, like {tools: [a, b]}")
                }
                for (name, pv, pat) in names { next[id, default: [:]][name] = try raw(pv, pat) }
            }
        case .scalar(let s):
            // ID.NAME=VALUE; ids may contain dots, parameter names do not.
            guard let eq = s.firstIndex(of: "="), let dot = s[..<eq].lastIndex(of: "."),
                  dot > s.startIndex, s.index(after: dot) < eq else {
                throw ConfigError(origin, "\"\(s)\": write a parameter as ID.NAME=VALUE (a list as a,b,c), e.g. MW-7001.tools=tcpdump,ping")
            }
            let id = String(s[..<dot]).trimmingSpaces, name = String(s[s.index(after: dot)..<eq]).trimmingSpaces
            next[id, default: [:]][name] = ParamOverride(.scalar(String(s[s.index(after: eq)...])), origin: origin)
        case .list(let l):
            for item in l { try applyParams(.scalar(item), origin: origin, append: true) }
            return
        }
        params = next
    }

    // MARK: Parsers (one error wording for files, --set, the environment and options)

    static func optional(_ s: String) -> String? { s.isEmpty ? nil : s }

    static func bool(_ s: String, _ fail: (String) -> ConfigError) throws(ConfigError) -> Bool {
        switch s.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw fail("\"\(s)\" is not true or false")
        }
    }

    static func integer(_ s: String, in range: ClosedRange<Int64>, _ fail: (String) -> ConfigError) throws(ConfigError) -> Int64 {
        guard let n = Int64(s.replacingAll("_", with: "")) else { throw fail("\"\(s)\" is not a whole number") }
        guard range.contains(n) else {
            throw fail(range.upperBound == Int64.max ? "\(n) is below \(range.lowerBound)" : "\(n) is not between \(range.lowerBound) and \(range.upperBound)")
        }
        return n
    }

    static func severity(_ s: String, _ fail: (String) -> ConfigError) throws(ConfigError) -> Severity {
        if let v = Severity(rawValue: s.lowercased()) { return v }
        let close = Severity.allCases.map(\.rawValue).min { Catalogue.editDistance(s, $0) < Catalogue.editDistance(s, $1) }
        throw fail("\"\(s)\" is not one of info, low, medium, high, critical" + (close.map { " (did you mean \($0)?)" } ?? ""))
    }

    /// "30s", "5m", "1h", "250ms", or plain seconds.
    public static func seconds(_ text: String, allowZero: Bool, _ fail: (String) -> ConfigError) throws(ConfigError) -> Double {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var value: Double?
        if let v = Double(t) { value = v } else {
            for (suffix, mult) in units where t.hasSuffix(suffix) {
                if let v = Double(t.dropLast(suffix.count)) { value = v * mult }
                break
            }
        }
        guard let v = value, v.isFinite, v > 0 || (allowZero && v == 0) else {
            throw fail("\"\(text)\" is not a duration like 30s, 5m or 1h" + (allowZero ? " (0 turns it off)" : ""))
        }
        return v
    }

    /// "4M", "512K", "65536" (at least 1K, at most 1G).
    static func size(_ text: String, _ fail: (String) -> ConfigError) throws(ConfigError) -> Int {
        let t = text.trimmingSpaces.uppercased()
        var mult = 1, digits = Substring(t)
        if t.hasSuffix("K") { mult = 1 << 10; digits = t.dropLast() } else if t.hasSuffix("M") { mult = 1 << 20; digits = t.dropLast() }
        guard let n = Int(digits), n > 0, n <= (1 << 30) / mult, n * mult >= 1024 else {
            throw fail("\"\(text)\" is not a size between 1K and 1024M, like 4M or 512K")
        }
        return n * mult
    }

    /// `events`: names, `all`, or `+names` to add to `base`.
    public static func eventKinds(_ text: String, base: Set<EventKind>, _ fail: (String) -> ConfigError) throws(ConfigError) -> Set<EventKind> {
        var s = text.trimmingSpaces
        var out: Set<EventKind> = []
        if s.hasPrefix("+") { out = base; s.removeFirst() }
        for part in s.split(separator: ",") {
            let name = String(part).trimmingSpaces
            if name.isEmpty { continue }
            if name == "all" { out.formUnion(Catalogue.kinds); continue }
            guard let k = Catalogue.kind(named: name) else {
                let hint = Catalogue.suggestions(for: name)
                throw fail("unknown event \"\(name)\"" + (hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?")
                           + " (`moonwatch events list` shows them all)")
            }
            out.insert(k)
        }
        if out.isEmpty && !text.trimmingSpaces.hasPrefix("+") { throw fail("\"\(text)\" names no event") }
        return out
    }
}
