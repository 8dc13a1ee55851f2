#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import Yams

/// Everything a configuration is resolved from. Kept by the session: a reload (SIGHUP) resolves
/// it again, reading the file anew, with the same environment and command line.
public struct ConfigurationSource: Sendable {
    /// `--config`: nil means "the default" (`$MOONWATCH_CONFIG`, else `/etc/moonwatch/moonwatch.yaml`
    /// when it exists); an empty string means no file.
    public var configFile: String?
    public var environment: [String: String]
    /// `--set key=value`, in order.
    public var sets: [String]
    /// The command line's own options, in order.
    public var options: [Option]

    /// One option given on the command line: its key, its value, whether it adds to a list.
    public struct Option: Sendable, Equatable {
        public var key: String
        public var value: ConfigValue
        public var append: Bool
        public var origin: String
        public init(key: String, value: ConfigValue, append: Bool = false, origin: String? = nil) {
            self.key = key; self.value = value; self.append = append
            self.origin = origin ?? ConfigKey.named(key)?.option ?? key
        }
    }

    public init(configFile: String? = nil, environment: [String: String] = [:], sets: [String] = [], options: [Option] = []) {
        self.configFile = configFile; self.environment = environment; self.sets = sets; self.options = options
    }

    /// The process's environment.
    public static var processEnvironment: [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if s.hasPrefix(Configuration.environmentPrefix), let eq = s.firstIndex(of: "=") {
                out[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return out
    }

    /// The file this source reads, nil for none.
    public var filePath: String? {
        if let configFile { return configFile.isEmpty ? nil : configFile }
        if let env = environment[Configuration.environmentPrefix + "CONFIG"] { return env.isEmpty ? nil : env }
        return FileSystem.exists(Configuration.defaultFile) ? Configuration.defaultFile : nil
    }

    /// Defaults, then the file, the environment, `--set`, and the options. `readFile` reads the
    /// configuration file (after the privilege drop, through the opener helper).
    public func resolve(readFile: (String) throws(SystemError) -> String = FileSystem.readText) throws(ConfigError) -> Configuration {
        var c = Configuration()
        if let path = filePath {
            let text: String
            do { text = try readFile(path) } catch {
                throw ConfigError(path, "cannot read the configuration file: \(error)")
            }
            try ConfigFile.apply(text: text, path: path, to: &c)
            c.file = path
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix(Configuration.environmentPrefix) {
            let suffix = String(name.dropFirst(Configuration.environmentPrefix.count))
            if Configuration.reservedEnvironment.contains(suffix) { continue }
            let key = suffix.lowercased()
            // Other MOONWATCH_ variables (tests, tools) are not configuration: only known keys count.
            guard ConfigKey.named(key) != nil, key != "params" else { continue }
            try c.apply(key, try ConfigFile.value(ofText: value, origin: "environment \(name)"), origin: "environment \(name)")
        }
        for s in sets {
            guard let eq = s.firstIndex(of: "=") else {
                throw ConfigError("--set", "\"\(s)\": write --set key=value (`moonwatch config show` lists the keys)")
            }
            let name = String(s[..<eq]).trimmingSpaces
            let text = String(s[s.index(after: eq)...])
            if name.hasPrefix("params.") {
                // --set params.ID.NAME=VALUE is --param ID.NAME=VALUE (ids keep their dashes).
                try c.apply("params", .scalar(String(name.dropFirst("params.".count)) + "=" + text), origin: "--set", append: true)
                continue
            }
            let key = name.replacingAll("-", with: "_")
            try c.apply(key, try ConfigFile.value(ofText: text, origin: "--set"), origin: "--set")
        }
        for o in options {
            try c.apply(o.key, o.value, origin: o.origin, append: o.append)
        }
        return c
    }
}

/// The YAML configuration file: a mapping of keys to values, every key known.
enum ConfigFile {
    static func apply(text: String, path: String, to c: inout Configuration) throws(ConfigError) {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigError(path, "not valid YAML: \(error)".replacingAll("\n", with: " "))
        }
        guard let root else { return }   // an empty file (or only comments)
        guard case .mapping(let m) = root else {
            throw ConfigError(location(path, root.mark), "the configuration must be a mapping of keys to values (key: value)")
        }
        let base = folder(of: path)
        var seen: [String: String] = [:]
        for (k, v) in m {
            let at = location(path, k.mark)
            guard case .scalar(let ks) = k else { throw ConfigError(at, "a key must be a name") }
            let key = ks.string
            if let first = seen[key] { throw ConfigError(at, "'\(key)' is given twice (first at \(first))") }
            seen[key] = at
            try c.apply(key, try value(v, path: path), origin: at, base: base)
        }
    }

    /// A node as a configuration value; mappings keep where each value was written.
    static func value(_ node: Node, path: String) throws(ConfigError) -> ConfigValue {
        switch node {
        case .scalar(let s):
            return .scalar(isNull(s) ? "" : s.string)
        case .sequence(let seq):
            var out: [String] = []
            for item in seq {
                guard case .scalar(let s) = item else {
                    throw ConfigError(location(path, item.mark), "a list holds plain values, not lists or mappings")
                }
                out.append(s.string)
            }
            return .list(out)
        case .mapping(let m):
            var out: [(key: String, value: ConfigValue, origin: String)] = []
            var seen = Set<String>()
            for (k, v) in m {
                guard case .scalar(let ks) = k else { throw ConfigError(location(path, k.mark), "a key must be a name") }
                if !seen.insert(ks.string).inserted { throw ConfigError(location(path, k.mark), "'\(ks.string)' is given twice") }
                out.append((ks.string, try value(v, path: path), location(path, v.mark ?? k.mark)))
            }
            return .map(out)
        case .alias:
            throw ConfigError(location(path, node.mark), "YAML aliases are not supported in the configuration")
        }
    }

    /// A `--set` or environment value: YAML too (`[a, b]` is a list), a plain word as itself.
    static func value(ofText text: String, origin: String) throws(ConfigError) -> ConfigValue {
        let t = text.trimmingSpaces
        guard t.hasPrefix("[") || t.hasPrefix("{") else { return .scalar(t) }
        do {
            guard let node = try Yams.compose(yaml: t) else { return .scalar("") }
            return try value(node, path: origin)
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(origin, "not valid YAML: \(error)".replacingAll("\n", with: " "))
        }
    }

    static func isNull(_ s: Node.Scalar) -> Bool {
        s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    static func location(_ path: String, _ mark: Mark?) -> String {
        mark.map { "\(path):\($0.line)" } ?? path
    }

    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
