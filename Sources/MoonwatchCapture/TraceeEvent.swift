import MoonwatchCore

/// Reads Tracee's JSON event output (`tracee --output json`, the classic `trace.Event` shape).
///
/// Events whose names are in moonwatch's catalogue become `Event`s with arguments matched by
/// name and values brought to moonwatch's shapes (sockaddr maps, flag and constant names, hex
/// pointers). The result is checked like a native line: a context field or an argument of the
/// wrong type, or a name moonwatch does not know, is an error (the line is skipped and counted),
/// never a value handed to signatures. Any other Tracee event (LSM hooks, network packets,
/// Tracee's own findings) is valid input that moonwatch has no decoder for: it is counted by name.
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
        if let t = f["timestamp"] {
            do { e.time = try EventJSON.time(t, "\"timestamp\"") } catch { throw DecodeError(description: error.reason) }
        }
        e.ret = try integer(f, "returnValue", Int64.self) ?? 0
        var p = ProcessContext()
        p.pid = try integer(f, ["hostProcessId", "processId"], Int32.self) ?? 0
        p.tid = try integer(f, ["hostThreadId", "threadId"], Int32.self) ?? 0
        p.ppid = try integer(f, ["hostParentProcessId", "parentProcessId"], Int32.self) ?? 0
        p.uid = try integer(f, "userId", UInt32.self) ?? 0
        p.comm = try string(f["processName"], "processName") ?? ""
        if let x = f["executable"] {
            guard case .object(let xf) = x else { throw DecodeError(description: "\"executable\" must be an object") }
            p.exe = try string(xf["path"], "executable.path") ?? ""
        }
        p.container = try string(f["containerId"], "containerId") ?? ""
        if p.container.isEmpty, case .object(let c)? = f["container"] { p.container = try string(c["id"], "container.id") ?? "" }
        // Lua integers in signatures: 0 ... 2^63-1.
        p.cgroup = try nonNegative(f, "cgroupId")
        p.mntns = try nonNegative(f, "mountNamespace")
        p.pidns = try nonNegative(f, "pidNamespace")
        if let flags = f["contextFlags"] {
            guard case .object(let cf) = flags else { throw DecodeError(description: "\"contextFlags\" must be an object") }
            if let c = cf["isCompat"] {
                guard case .bool(let b) = c else { throw DecodeError(description: "contextFlags.isCompat must be true or false") }
                p.compat = b
            }
        }
        e.process = p
        if let args = f["args"], !args.isNull {
            guard case .array(let list) = args else { throw DecodeError(description: "\"args\" must be a list") }
            let spec = kind.spec
            for a in list {
                guard case .object(let af) = a else { throw DecodeError(description: "each of \"args\" must be an object {name, type, value}") }
                guard case .string(let name)? = af["name"] else { throw DecodeError(description: "an argument has no \"name\" string") }
                guard let i = spec.argIndex(name) else { continue }   // Tracee-only argument: not in our model
                if e.args[i] != nil { throw DecodeError(description: "\(spec.name).\(name) is given twice") }
                let arg = spec.args[i]
                guard let value = try convert(af["value"] ?? .null, to: arg, event: spec.name) else { continue }
                if let why = EventJSON.check(value, arg.type) {
                    throw DecodeError(description: "\(spec.name).\(name): \(why)")
                }
                e.args[i] = value
            }
        }
        return .event(e)
    }

    // MARK: context fields

    /// An integer field, in the range of `T`; also accepted as a decimal string (newer Tracee
    /// prints 64-bit values that way).
    static func integer<T: FixedWidthInteger>(_ f: Value.Fields, _ key: String, _ type: T.Type) throws(DecodeError) -> T? {
        guard let v = f[key], !v.isNull else { return nil }
        switch v {
        case .int(let n): if let t = T(exactly: n) { return t }
        case .uint(let n): if let t = T(exactly: n) { return t }
        case .string(let s): if let t = T(s) { return t }
        default: break
        }
        throw DecodeError(description: "\"\(key)\" must be an integer from \(T.min) to \(T.max), got \(v.jsonText.prefix(40))")
    }

    /// The first of `keys` that is present.
    static func integer<T: FixedWidthInteger>(_ f: Value.Fields, _ keys: [String], _ type: T.Type) throws(DecodeError) -> T? {
        for k in keys { if let v = try integer(f, k, type) { return v } }
        return nil
    }

    /// 0 ... 2^63-1, the non-negative Lua integers (0 when absent).
    static func nonNegative(_ f: Value.Fields, _ key: String) throws(DecodeError) -> UInt64 {
        guard let n = try integer(f, key, Int64.self) else { return 0 }
        guard n >= 0 else { throw DecodeError(description: "\"\(key)\" must not be negative") }
        return UInt64(n)
    }

    static func string(_ v: Value?, _ key: String) throws(DecodeError) -> String? {
        guard let v, !v.isNull else { return nil }
        guard case .string(let s) = v else { throw DecodeError(description: "\"\(key)\" must be a string") }
        return s
    }

    // MARK: arguments

    /// Brings a Tracee value to the catalogue's shape. nil leaves the argument out: Tracee gave
    /// only the address of a structure it did not decode (a msghdr, a timespec pointer).
    static func convert(_ v: Value, to arg: ArgSpec, event: String) throws(DecodeError) -> Value? {
        switch arg.type {
        case .pointer, .int, .uint, .long, .ulong, .intRef:
            guard case .string(let s) = v else { return v }
            if let n = number(s) { return n }
            guard let names = TraceeNames.table(event: event, arg: arg.name) else {
                throw DecodeError(description: "\(event).\(arg.name): \"\(s.prefix(60))\" is not a number")
            }
            switch TraceeNames.value(s, names) {
            case .success(let n): return .int(n)
            case .failure(let unknown):
                throw DecodeError(description: "\(event).\(arg.name): unknown name \"\(unknown.name.prefix(60))\" in \"\(s.prefix(80))\"")
            }
        case .sockaddr:
            return sockaddr(v)
        case .msghdr, .mmsghdrs:
            if case .int = v { return nil }
            if case .uint = v { return nil }
            if case .string(let s) = v, number(s) != nil { return nil }
            return v
        case .timespec, .timespec32:
            // Tracee decodes a timespec as seconds in a float.
            switch v {
            case .double(let d) where d.isFinite && d >= 0 && d < 9e18:
                let sec = d.rounded(.down)
                return .object([("sec", .int(Int64(sec))), ("nsec", .int(Int64(((d - sec) * 1e9).rounded())))])
            case .int(let n): return .object([("sec", .int(n)), ("nsec", 0)])
            case .string(let s) where number(s) != nil: return nil   // only the pointer
            default: return v
            }
        default:
            return v
        }
    }

    /// "0x7ffd…" (a pointer) or "-100" (an integer printed as a string).
    static func number(_ s: String) -> Value? {
        if s.hasPrefix("0x") || s.hasPrefix("0X"), let n = UInt64(s.dropFirst(2), radix: 16) { return .unsigned(n) }
        if let n = Int64(s) { return .int(n) }
        return nil
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
            // moonwatch's own decoder gives other families as their number.
            if let n = TraceeNames.families[family] { return .object([("family", .int(n))]) }
            return .object([("family", .string(family))])
        }
    }

    static func port(_ v: Value?) -> Value {
        if let s = v?.string, let n = Int64(s) { return .int(n) }
        return v ?? .null
    }
}

/// The names Tracee prints for flags and constants (with its argument parsing on), and their
/// values on x86_64 Linux. A value is one name or several joined by "|".
enum TraceeNames {
    static let families: [String: Int64] = [
        "AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4, "AF_APPLETALK": 5,
        "AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9, "AF_INET6": 10, "AF_ROSE": 11, "AF_DECnet": 12,
        "AF_NETBEUI": 13, "AF_SECURITY": 14, "AF_KEY": 15, "AF_NETLINK": 16, "AF_ROUTE": 16, "AF_PACKET": 17,
        "AF_ASH": 18, "AF_ECONET": 19, "AF_ATMSVC": 20, "AF_RDS": 21, "AF_SNA": 22, "AF_IRDA": 23, "AF_PPPOX": 24,
        "AF_WANPIPE": 25, "AF_LLC": 26, "AF_IB": 27, "AF_MPLS": 28, "AF_CAN": 29, "AF_TIPC": 30, "AF_BLUETOOTH": 31,
        "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34, "AF_PHONET": 35, "AF_IEEE802154": 36, "AF_CAIF": 37,
        "AF_ALG": 38, "AF_NFC": 39, "AF_VSOCK": 40, "AF_KCM": 41, "AF_QIPCRTR": 42, "AF_SMC": 43, "AF_XDP": 44,
        "AF_MCTP": 45,
    ]

    static let socketTypes: [String: Int64] = [
        "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_RDM": 4, "SOCK_SEQPACKET": 5, "SOCK_DCCP": 6,
        "SOCK_PACKET": 10, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
    ]

    static let openFlags: [String: Int64] = [
        "O_RDONLY": 0, "O_WRONLY": 0o1, "O_RDWR": 0o2, "O_CREAT": 0o100, "O_EXCL": 0o200, "O_NOCTTY": 0o400,
        "O_TRUNC": 0o1000, "O_APPEND": 0o2000, "O_NONBLOCK": 0o4000, "O_DSYNC": 0o10000, "O_SYNC": 0o4010000,
        "O_DIRECT": 0o40000, "O_LARGEFILE": 0o100000, "O_DIRECTORY": 0o200000, "O_NOFOLLOW": 0o400000,
        "O_NOATIME": 0o1000000, "O_CLOEXEC": 0o2000000, "O_PATH": 0o10000000, "O_TMPFILE": 0o20200000,
    ]

    static let atFlags: [String: Int64] = [
        "AT_SYMLINK_NOFOLLOW": 0x100, "AT_REMOVEDIR": 0x200, "AT_SYMLINK_FOLLOW": 0x400, "AT_NO_AUTOMOUNT": 0x800,
        "AT_EMPTY_PATH": 0x1000,
    ]

    static let dirfd: [String: Int64] = ["AT_FDCWD": -100]

    static let messageFlags: [String: Int64] = [
        "MSG_OOB": 0x1, "MSG_PEEK": 0x2, "MSG_DONTROUTE": 0x4, "MSG_CTRUNC": 0x8, "MSG_PROXY": 0x10, "MSG_TRUNC": 0x20,
        "MSG_DONTWAIT": 0x40, "MSG_EOR": 0x80, "MSG_WAITALL": 0x100, "MSG_FIN": 0x200, "MSG_SYN": 0x400,
        "MSG_CONFIRM": 0x800, "MSG_RST": 0x1000, "MSG_ERRQUEUE": 0x2000, "MSG_NOSIGNAL": 0x4000, "MSG_MORE": 0x8000,
        "MSG_WAITFORONE": 0x10000, "MSG_BATCH": 0x40000, "MSG_ZEROCOPY": 0x4000000, "MSG_FASTOPEN": 0x20000000,
        "MSG_CMSG_CLOEXEC": 0x40000000,
    ]

    static let memfdFlags: [String: Int64] = [
        "MFD_CLOEXEC": 0x1, "MFD_ALLOW_SEALING": 0x2, "MFD_HUGETLB": 0x4, "MFD_NOEXEC_SEAL": 0x8, "MFD_EXEC": 0x10,
    ]

    static let userfaultfdFlags: [String: Int64] = ["O_CLOEXEC": 0o2000000, "O_NONBLOCK": 0o4000, "UFFD_USER_MODE_ONLY": 1]

    static let moduleFlags: [String: Int64] = [
        "MODULE_INIT_IGNORE_MODVERSIONS": 1, "MODULE_INIT_IGNORE_VERMAGIC": 2, "MODULE_INIT_COMPRESSED_FILE": 4,
    ]

    static let ptraceRequests: [String: Int64] = [
        "PTRACE_TRACEME": 0, "PTRACE_PEEKTEXT": 1, "PTRACE_PEEKDATA": 2, "PTRACE_PEEKUSR": 3, "PTRACE_POKETEXT": 4,
        "PTRACE_POKEDATA": 5, "PTRACE_POKEUSR": 6, "PTRACE_CONT": 7, "PTRACE_KILL": 8, "PTRACE_SINGLESTEP": 9,
        "PTRACE_GETREGS": 12, "PTRACE_SETREGS": 13, "PTRACE_GETFPREGS": 14, "PTRACE_SETFPREGS": 15, "PTRACE_ATTACH": 16,
        "PTRACE_DETACH": 17, "PTRACE_GETFPXREGS": 18, "PTRACE_SETFPXREGS": 19, "PTRACE_SYSCALL": 24,
        "PTRACE_ARCH_PRCTL": 30, "PTRACE_SYSEMU": 31, "PTRACE_SYSEMU_SINGLESTEP": 32, "PTRACE_SINGLEBLOCK": 33,
        "PTRACE_SETOPTIONS": 0x4200, "PTRACE_GETEVENTMSG": 0x4201, "PTRACE_GETSIGINFO": 0x4202,
        "PTRACE_SETSIGINFO": 0x4203, "PTRACE_GETREGSET": 0x4204, "PTRACE_SETREGSET": 0x4205, "PTRACE_SEIZE": 0x4206,
        "PTRACE_INTERRUPT": 0x4207, "PTRACE_LISTEN": 0x4208, "PTRACE_PEEKSIGINFO": 0x4209, "PTRACE_GETSIGMASK": 0x420a,
        "PTRACE_SETSIGMASK": 0x420b, "PTRACE_SECCOMP_GET_FILTER": 0x420c, "PTRACE_SECCOMP_GET_METADATA": 0x420d,
        "PTRACE_GET_SYSCALL_INFO": 0x420e,
    ]

    /// The names an argument may be printed with, or nil when Tracee prints it as a number only.
    static func table(event: String, arg: String) -> [String: Int64]? {
        switch (event, arg) {
        case ("socket", "domain"), ("socketpair", "domain"): return families
        case ("socket", "type"), ("socketpair", "type"), ("accept4", "flags"): return socketTypes
        case ("openat", "flags"), ("dup3", "flags"): return openFlags
        case ("openat", "dirfd"), ("execveat", "dirfd"): return dirfd
        case ("execveat", "flags"): return atFlags
        case ("memfd_create", "flags"): return memfdFlags
        case ("userfaultfd", "flags"): return userfaultfdFlags
        case ("finit_module", "flags"): return moduleFlags
        case ("ptrace", "request"): return ptraceRequests
        case (_, "flags") where ["sendmsg", "recvmsg", "sendto", "recvfrom", "sendmmsg", "recvmmsg", "recvmmsg_time32"].contains(event):
            return messageFlags
        default: return nil
        }
    }

    /// "AF_PACKET" → 17, "SOCK_RAW|SOCK_CLOEXEC" → 524291; the first unknown name otherwise.
    static func value(_ text: String, _ names: [String: Int64]) -> Result<Int64, NameError> {
        var bits: Int64 = 0
        for part in text.split(separator: "|", omittingEmptySubsequences: false) {
            let name = part.trimmingSpaces
            if let b = names[name] { bits |= b; continue }
            if let n = Int64(name) { bits |= n; continue }
            return .failure(NameError(name: name))
        }
        return .success(bits)
    }

    struct NameError: Error { var name: String }
}
