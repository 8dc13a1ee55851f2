import MoonwatchCore
import MoonwatchSignatures

extension Configuration {
    /// The value of a key as YAML (flow style for lists), as `config show` prints it.
    public func yamlValue(_ key: String) -> String {
        func s(_ v: String?) -> String { v.map(Self.yamlScalar) ?? "null" }
        func l(_ v: [String]) -> String { "[" + v.map(Self.yamlScalar).joined(separator: ", ") + "]" }
        switch key {
        case "signatures": return l(signatures)
        case "no_bundled": return String(noBundled)
        case "disable": return l(disable)
        case "min_severity": return s(minSeverity?.rawValue)
        case "params":
            if params.isEmpty { return "{}" }
            return "\n" + params.keys.sorted().map { id in
                "  " + Self.yamlScalar(id) + ":\n" + params[id]!.keys.sorted().map { name in
                    let o = params[id]![name]!
                    let v: String
                    switch o.raw {
                    case .scalar(let x): v = Self.yamlScalar(x)
                    case .list(let x): v = l(x)
                    }
                    return "    \(name): \(v)    # \(o.origin)"
                }.joined(separator: "\n")
            }.joined(separator: "\n")
        case "budget": return String(budget)
        case "memory": return String(memory)
        case "call_timeout": return String(callTimeout)
        case "output": return s(output?.rawValue)
        case "out": return s(out)
        case "dedup_window": return Self.durationText(dedupWindow)
        case "rate_limit": return String(rateLimit)
        case "keep_env": return l(keepEnv)
        case "stats": return String(stats)
        case "stats_file": return s(statsFile)
        case "verbose": return String(verbose)
        case "strict": return String(strict)
        case "max_line": return maxLine % (1 << 20) == 0 ? "\(maxLine >> 20)M" : maxLine % 1024 == 0 ? "\(maxLine >> 10)K" : String(maxLine)
        case "events": return s(events)
        case "for": return duration.map(Self.durationText) ?? "null"
        case "pid": return "[" + pid.map(String.init).joined(separator: ", ") + "]"
        case "comm": return l(comm)
        case "uid": return "[" + uid.map(String.init).joined(separator: ", ") + "]"
        case "ring_size": return String(ringSize)
        case "bpf_stats": return String(bpfStats)
        case "capture": return s(capture)
        case "capture_env": return String(captureEnv)
        case "watch": return String(watch)
        default: return "null"
        }
    }

    /// Every key with its value and, as a comment, where it came from: a configuration file that
    /// would reproduce this configuration.
    public var yaml: String {
        var out = "# moonwatch configuration in effect" + (file.map { " (file: \($0))" } ?? " (no configuration file)") + "\n"
        let width = ConfigKey.all.map(\.name.count).max() ?? 0
        for k in ConfigKey.all {
            let v = yamlValue(k.name)
            let origin = origins[k.name] ?? "default"
            if v.hasPrefix("\n") {
                out += "\(k.name):\(String(repeating: " ", count: width - k.name.count)) # \(origin)\(v)\n"
            } else {
                let line = "\(k.name): " + String(repeating: " ", count: width - k.name.count) + v
                out += line + String(repeating: " ", count: max(1, width + 30 - line.count)) + "# \(origin)\n"
            }
        }
        return out
    }

    static func durationText(_ seconds: Double) -> String {
        if seconds == 0 { return "0" }
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds.rounded() == seconds { return "\(Int(seconds))s" }
        return "\(Int((seconds * 1000).rounded()))ms"
    }

    /// A string as a YAML scalar: plain when that reads back as the same string, quoted otherwise.
    static func yamlScalar(_ s: String) -> String {
        let special: Set<Character> = [":", "#", "[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "\\"]
        let reserved: Set<String> = ["", "~", "null", "true", "false", "yes", "no", "on", "off"]
        let plain = !reserved.contains(s.lowercased()) && Double(s) == nil && !s.contains(where: { special.contains($0) || $0.isNewline || $0 == "\t" })
            && s.first != " " && s.last != " " && s.first != "-" && s.first != "?"
        if plain { return s }
        var q = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": q += "\\\""
            case "\\": q += "\\\\"
            case "\n": q += "\\n"
            case "\t": q += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { q += "\\x" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16) } else { q.unicodeScalars.append(u) }
            }
        }
        return q + "\""
    }
}
