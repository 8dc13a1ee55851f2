#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore

/// How findings are written.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// moonwatch's own JSON, one object per line, with the whole triggering event.
    case json
    /// One aligned line per finding for terminals.
    case table
    /// Falco's JSON alert shape, accepted by falcosidekick.
    case falco
    /// Tracee's finding-as-event JSON shape (classic trace.Event with metadata).
    case tracee
}

public enum FindingFormatter {
    /// Appends one finding (one line, newline included) in `format`.
    public static func write(_ f: Finding, format: OutputFormat, host: String, to w: inout JSONWriter) {
        switch format {
        case .json: json(f, host: host, to: &w)
        case .falco: falco(f, host: host, to: &w)
        case .tracee: tracee(f, host: host, to: &w)
        case .table: w.raw(tableLine(f))
        }
        w.bytes.append(0x0A)
    }

    // MARK: native

    public static func json(_ f: Finding, host: String, to w: inout JSONWriter) {
        w.raw("{\"time\":"); w.uint(f.time)
        w.raw(",\"signature\":{\"id\":"); w.string(f.signature.id)
        w.raw(",\"name\":"); w.string(f.signature.name)
        w.raw(",\"version\":"); w.string(f.signature.version)
        w.raw(",\"severity\":"); w.string(f.signature.severity.rawValue)
        w.raw(",\"tags\":"); w.value(.array(f.signature.tags.map { .string($0) }))
        w.raw(",\"mitre\":")
        if let m = f.signature.mitre {
            w.raw("{\"tactic\":"); w.string(m.tactic); w.raw(",\"technique\":"); w.string(m.technique); w.raw("}")
        } else {
            w.raw("null")
        }
        w.raw("},\"severity\":"); w.string(f.severity.rawValue)
        w.raw(",\"message\":"); w.string(f.message)
        w.raw(",\"data\":"); w.value(f.data)
        w.raw(",\"event\":")
        if let e = f.event { EventJSON.write(e, to: &w) } else { w.raw("null") }
        w.raw(",\"host\":"); w.string(host)
        if let r = f.repeats {
            w.raw(",\"repeats\":{\"count\":"); w.uint(r.count)
            w.raw(",\"first_time\":"); w.uint(r.first)
            w.raw(",\"last_time\":"); w.uint(r.last)
            w.raw("}")
        }
        w.raw("}")
    }

    // MARK: Falco

    /// Falco's alert JSON: falcosidekick requires rule, priority, time and a non-empty output_fields.
    public static func falco(_ f: Finding, host: String, to w: inout JSONWriter) {
        let time = rfc3339(f.time)
        var fields = Value.Fields()
        fields.append("evt.time", .unsigned(f.time))
        if let e = f.event {
            fields.append("evt.type", .string(e.name))
            fields.append("evt.res", .int(e.ret))
            fields.append("proc.pid", .int(Int64(e.process.pid)))
            fields.append("proc.tid", .int(Int64(e.process.tid)))
            fields.append("proc.ppid", .int(Int64(e.process.ppid)))
            fields.append("proc.name", .string(e.process.comm))
            fields.append("proc.exepath", .string(e.process.exe))
            fields.append("user.uid", .int(Int64(e.process.uid)))
            fields.append("group.gid", .int(Int64(e.process.gid)))
            fields.append("container.id", .string(e.process.container.isEmpty ? "host" : e.process.container))
        }
        fields.append("moonwatch.signature.id", .string(f.signature.id))
        if let r = f.repeats {
            fields.append("moonwatch.repeats", .unsigned(r.count))
            fields.append("moonwatch.repeats.first_time", .string(rfc3339(r.first)))
        }
        if case .object(let d) = f.data {
            // Falco's output_fields hold scalars (consumers template and index them by key): a
            // list or table from the signature's data goes in as its JSON text.
            for (k, v) in d.pairs {
                switch v {
                case .array, .object: fields.append("moonwatch.data." + k, .string(v.jsonText))
                default: fields.append("moonwatch.data." + k, v)
                }
            }
        }
        var output = "\(timeOfDay(f.time)): \(f.severity.falcoPriority) \(f.message)\(repeatsSuffix(f))"
        if let e = f.event {
            output += " | evt_type=\(e.name) proc_name=\(e.process.comm) pid=\(e.process.pid) uid=\(e.process.uid) signature=\(f.signature.id)"
        }
        var tags = f.signature.tags
        if let m = f.signature.mitre { tags.append(m.technique) }
        w.raw("{\"hostname\":"); w.string(host)
        w.raw(",\"output\":"); w.string(output)
        w.raw(",\"priority\":"); w.string(f.severity.falcoPriority)
        w.raw(",\"rule\":"); w.string(f.signature.name)
        w.raw(",\"source\":\"syscall\"")
        w.raw(",\"tags\":"); w.value(.array(tags.map { .string($0) }))
        w.raw(",\"time\":"); w.string(time)
        w.raw(",\"output_fields\":"); w.value(.object(fields))
        w.raw("}")
    }

    // MARK: Tracee

    /// Tracee's classic finding-as-event: the triggering event's context, eventName = signature
    /// name, data as args, and metadata with the signature's properties.
    public static func tracee(_ f: Finding, host: String, to w: inout JSONWriter) {
        let p = f.event?.process ?? ProcessContext()
        let severityNumber: Int64 = switch f.severity { case .info: 0; case .low: 1; case .medium: 2; case .high, .critical: 3 }
        w.raw("{\"timestamp\":"); w.uint(f.time)
        w.raw(",\"processId\":"); w.int(Int64(p.pid))
        w.raw(",\"threadId\":"); w.int(Int64(p.tid))
        w.raw(",\"parentProcessId\":"); w.int(Int64(p.ppid))
        w.raw(",\"hostProcessId\":"); w.int(Int64(p.pid))
        w.raw(",\"hostThreadId\":"); w.int(Int64(p.tid))
        w.raw(",\"hostParentProcessId\":"); w.int(Int64(p.ppid))
        w.raw(",\"userId\":"); w.int(Int64(p.uid))
        w.raw(",\"mountNamespace\":"); w.uint(p.mntns)
        w.raw(",\"pidNamespace\":"); w.uint(p.pidns)
        w.raw(",\"cgroupId\":"); w.uint(p.cgroup)
        w.raw(",\"processName\":"); w.string(p.comm)
        w.raw(",\"executable\":{\"path\":"); w.string(p.exe); w.raw("}")
        w.raw(",\"hostName\":"); w.string(host)
        w.raw(",\"containerId\":"); w.string(p.container)
        w.raw(",\"container\":{}")
        w.raw(",\"kubernetes\":{}")
        w.raw(",\"eventId\":\"6000\"")
        w.raw(",\"eventName\":"); w.string(f.signature.name)
        var args: [Value] = []
        if case .object(let d) = f.data {
            for (k, v) in d.pairs { args.append(.object([("name", .string(k)), ("type", .string(traceeType(v))), ("value", v)])) }
        }
        if let e = f.event {
            var w2 = JSONWriter()
            EventJSON.write(e, to: &w2)
            let trig = (try? JSONParser.parse(w2.bytes)) ?? .null
            args.append(.object([("name", "triggeredBy"), ("type", "unknown"), ("value", trig)]))
        }
        w.raw(",\"argsNum\":"); w.int(Int64(args.count))
        w.raw(",\"returnValue\":"); w.int(f.event?.ret ?? 0)
        w.raw(",\"syscall\":"); w.string(f.event?.name ?? "")
        w.raw(",\"stackAddresses\":null")
        w.raw(",\"contextFlags\":{\"containerStarted\":false,\"isCompat\":"); w.bool(p.compat); w.raw("}")
        w.raw(",\"args\":"); w.value(.array(args))
        var props = Value.Fields()
        props.append("Severity", .int(severityNumber))
        props.append("Category", .string(f.signature.mitre?.tactic ?? ""))
        props.append("Technique", .string(""))
        props.append("external_id", .string(f.signature.mitre?.technique ?? ""))
        props.append("signatureID", .string(f.signature.id))
        props.append("signatureName", .string(f.signature.name))
        if let r = f.repeats { props.append("repeats", .unsigned(r.count)) }
        w.raw(",\"metadata\":{\"Version\":"); w.string(f.signature.version)
        w.raw(",\"Description\":"); w.string(f.message)
        w.raw(",\"Tags\":"); w.value(.array(f.signature.tags.map { .string($0) }))
        w.raw(",\"Properties\":"); w.value(.object(props))
        w.raw("}}")
    }

    static func traceeType(_ v: Value) -> String {
        switch v {
        case .string: return "string"
        case .int, .uint: return "int64"
        case .double: return "float64"
        case .bool: return "bool"
        case .array: return "[]interface{}"
        default: return "map[string]interface{}"
        }
    }

    // MARK: table

    public static let tableHeader = "TIME                 SEVERITY  SIGNATURE  PROCESS                   MESSAGE"

    /// Every field from an event or a signature is escaped for the terminal (see `terminalSafe`).
    public static func tableLine(_ f: Finding) -> String {
        let who = f.event.map { "\($0.process.comm)[\($0.process.pid)]" } ?? "-"
        return pad(rfc3339(f.time, fraction: 0).replacingT(), 21) + pad(f.severity.rawValue.uppercased(), 10)
            + pad(f.signature.id.terminalSafe, 11) + pad(who.terminalSafe, 26) + f.message.terminalSafe + repeatsSuffix(f)
    }

    /// " (499 more times from 12:00:01 to 12:00:58)" on the summary of folded findings.
    public static func repeatsSuffix(_ f: Finding) -> String {
        guard let r = f.repeats else { return "" }
        func clock(_ ns: UInt64) -> Substring { rfc3339(ns, fraction: 0).dropLast().split(separator: "T").last ?? "" }
        return " (\(r.count) more \(r.count == 1 ? "time" : "times") from \(clock(r.first)) to \(clock(r.last)))"
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }

    // MARK: time

    /// "2026-11-21T07:23:01.123456789Z"
    public static func rfc3339(_ ns: UInt64, fraction: Int = 9) -> String {
        var t = time_t(ns / 1_000_000_000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var s = "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))"
        if fraction > 0 {
            let frac = String(ns % 1_000_000_000)
            s += "." + String(repeating: "0", count: 9 - frac.count) + frac
        }
        return s + "Z"
    }

    /// "07:23:01.123456789", as Falco's output line starts.
    static func timeOfDay(_ ns: UInt64) -> String {
        let full = rfc3339(ns)
        let t = full.firstIndex(of: "T")!
        return String(full[full.index(after: t)...].dropLast())
    }
}

extension String {
    fileprivate func replacingT() -> String {
        String(map { $0 == "T" ? " " : $0 }).replacingZ()
    }
    fileprivate func replacingZ() -> String { hasSuffix("Z") ? String(dropLast()) : self }
}

/// Writes findings in one format to a file descriptor (stdout or a file).
public final class StreamSink: FindingSink {
    public let format: OutputFormat
    private var fd: Int32
    private let ownsFD: Bool
    /// The file written, or "<stdout>".
    public let path: String
    /// A file (not standard output): what SIGUSR1 reopens after logrotate moved it.
    public var isFile: Bool { ownsFD }
    private let host: String
    private var w = JSONWriter(capacity: 1 << 14)
    private var wroteHeader = false

    public init(format: OutputFormat, path: String?, host: String = StreamSink.hostname()) throws(SystemError) {
        self.format = format
        self.host = host
        if let path, path != "-" {
            fd = try FileSystem.openForOutput(path)
            ownsFD = true
            self.path = path
        } else {
            fd = 1; ownsFD = false; self.path = "<stdout>"
        }
    }

    deinit {
        try? flush()
        if ownsFD { close(fd) }
    }

    public func write(_ findings: [Finding]) throws {
        if format == .table && !wroteHeader {
            w.raw(FindingFormatter.tableHeader); w.bytes.append(0x0A)
            wroteHeader = true
        }
        for f in findings { FindingFormatter.write(f, format: format, host: host, to: &w) }
        // Findings are rare and someone may be watching: write each batch out.
        try flush()
    }

    public func flush() throws {
        guard !w.bytes.isEmpty else { return }
        try FileSystem.writeAll(fd, w.bytes, path: path)
        w.bytes.removeAll(keepingCapacity: true)
    }

    /// Continues in `newFD` (the file opened again at the same path), closing the old one once
    /// what was pending is written to it.
    public func replaceDescriptor(_ newFD: Int32) throws {
        guard ownsFD else { close(newFD); return }
        defer { close(fd); fd = newFD }
        try flush()
    }

    public static func hostname() -> String {
        var buf = [UInt8](repeating: 0, count: 256)
        let ok = buf.withUnsafeMutableBytes { gethostname($0.baseAddress!.assumingMemoryBound(to: CChar.self), 255) } == 0
        guard ok else { return "" }
        return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// Keeps findings in memory (tests, `signatures test`).
public final class CollectingSink: FindingSink {
    public private(set) var findings: [Finding] = []
    public init() {}
    public func write(_ f: [Finding]) throws { findings.append(contentsOf: f) }
    public func flush() throws {}
    public func removeAll() { findings.removeAll() }
}
