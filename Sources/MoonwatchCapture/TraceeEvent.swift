import MoonwatchCore

/// Reads Tracee's JSON event output (`tracee --output json`, the classic `trace.Event` shape).
///
/// Events whose names are in moonwatch's catalogue become `Event`s with arguments matched by
/// name and values brought to moonwatch's shapes (sockaddr maps, flag strings, hex pointers).
/// Any other Tracee event (LSM hooks, network packets, Tracee's own findings) is valid input that
/// moonwatch has no decoder for: it is counted by name, not rejected.
public enum TraceeEvent {
    public enum Decoded { case event(Event), foreign(String) }

    public struct DecodeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Tracee names that differ from the catalogue's.
    static let renamed = ["sched_process_fork": "process_fork", "sched_process_exit": "process_exit"]

    public static func decode(_ f: Value.Fields) throws(DecodeError) -> Decoded {
        guard case .string(let traceeName)? = f["eventName"] else { throw DecodeError(description: "\"eventName\" must be a string") }
        guard let kind = Catalogue.kind(named: renamed[traceeName] ?? traceeName) else { return .foreign(traceeName) }
        var e = Event(kind: kind)
        e.time = f["timestamp"]?.uint64 ?? 0
        e.ret = f["returnValue"]?.int64 ?? 0
        var p = ProcessContext()
        p.pid = Int32(truncatingIfNeeded: (f["hostProcessId"] ?? f["processId"])?.int64 ?? 0)
        p.tid = Int32(truncatingIfNeeded: (f["hostThreadId"] ?? f["threadId"])?.int64 ?? 0)
        p.ppid = Int32(truncatingIfNeeded: (f["hostParentProcessId"] ?? f["parentProcessId"])?.int64 ?? 0)
        p.uid = UInt32(truncatingIfNeeded: f["userId"]?.int64 ?? 0)
        p.comm = f["processName"]?.string ?? ""
        p.exe = f["executable"]?["path"]?.string ?? ""
        p.container = f["containerId"]?.string ?? f["container"]?["id"]?.string ?? ""
        p.cgroup = f["cgroupId"]?.uint64 ?? 0
        p.mntns = f["mountNamespace"]?.uint64 ?? 0
        p.pidns = f["pidNamespace"]?.uint64 ?? 0
        p.compat = f["contextFlags"]?["isCompat"]?.bool ?? false
        e.process = p
        if let args = f["args"] {
            guard case .array(let list) = args else { throw DecodeError(description: "\"args\" must be a list") }
            let spec = kind.spec
            for a in list {
                guard case .string(let name)? = a["name"] else { continue }
                guard let i = spec.argIndex(name) else { continue }   // Tracee-only argument: not in our model
                let value = a["value"] ?? .null
                e.args[i] = convert(value, to: spec.args[i], event: spec.name)
            }
        }
        return .event(e)
    }

    static func convert(_ v: Value, to arg: ArgSpec, event: String) -> Value {
        switch arg.type {
        case .pointer, .int, .uint, .long, .ulong, .intRef:
            if case .string(let s) = v {
                if s.hasPrefix("0x"), let n = UInt64(s.dropFirst(2), radix: 16) { return .unsigned(n) }
                if let n = Int64(s) { return .int(n) }
                if arg.name == "flags", event == "openat" || event == "execveat", let n = openFlags(s) { return .int(n) }
            }
            return v
        case .sockaddr:
            return sockaddr(v)
        default:
            return v
        }
    }

    /// Tracee prints socket addresses as string maps: {"sa_family":"AF_INET","sin_addr":…,"sin_port":"80"}.
    static func sockaddr(_ v: Value) -> Value {
        guard case .object(let f) = v, let family = f["sa_family"]?.string else { return v }
        switch family {
        case "AF_INET":
            return .object([("family", "AF_INET"), ("addr", f["sin_addr"] ?? ""), ("port", port(f["sin_port"]))])
        case "AF_INET6":
            return .object([("family", "AF_INET6"), ("addr", f["sin6_addr"] ?? ""), ("port", port(f["sin6_port"]))])
        case "AF_UNIX":
            let path = f["sun_path"]?.string ?? ""
            if path.hasPrefix("@") { return .object([("family", "AF_UNIX"), ("path", .string(path)), ("abstract", true)]) }
            return .object([("family", "AF_UNIX"), ("path", .string(path))])
        default:
            return .object([("family", .string(family))])
        }
    }

    static func port(_ v: Value?) -> Value {
        if let s = v?.string, let n = Int64(s) { return .int(n) }
        return v ?? .null
    }

    static let openFlagBits: [String: Int64] = [
        "O_RDONLY": 0, "O_WRONLY": 0o1, "O_RDWR": 0o2, "O_CREAT": 0o100, "O_EXCL": 0o200, "O_NOCTTY": 0o400,
        "O_TRUNC": 0o1000, "O_APPEND": 0o2000, "O_NONBLOCK": 0o4000, "O_DSYNC": 0o10000, "O_SYNC": 0o4010000,
        "O_DIRECT": 0o40000, "O_LARGEFILE": 0o100000, "O_DIRECTORY": 0o200000, "O_NOFOLLOW": 0o400000,
        "O_NOATIME": 0o1000000, "O_CLOEXEC": 0o2000000, "O_PATH": 0o10000000, "O_TMPFILE": 0o20200000,
    ]

    /// "O_WRONLY|O_CREAT|O_TRUNC" → 577; nil if any part is unknown.
    static func openFlags(_ s: String) -> Int64? {
        var bits: Int64 = 0
        for part in s.split(separator: "|") {
            guard let b = openFlagBits[String(part)] else { return nil }
            bits |= b
        }
        return bits
    }
}
