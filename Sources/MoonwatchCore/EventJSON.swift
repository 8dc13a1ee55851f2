/// The native capture format: one JSON object per event, field names as in the Lua view.
///
/// `{"name":"sendmsg","time":…,"ret":…,"process":{…},"args":{…},"exit_args":{…},"changed":[…]}`
/// `exit_args` and `changed` are written only when non-empty. See docs/capture-format.md.
public enum EventJSON {
    public static func write(_ e: Event, to w: inout JSONWriter) {
        let spec = e.spec
        w.raw("{\"name\":")
        w.string(spec.name)
        w.raw(",\"time\":"); w.uint(e.time)
        w.raw(",\"ret\":"); w.int(e.ret)
        w.raw(",\"process\":")
        writeProcess(e.process, to: &w)
        w.raw(",\"args\":{")
        var first = true
        for i in 0..<spec.args.count {
            guard let v = e.args[i] else { continue }
            if !first { w.raw(",") }
            first = false
            w.key(spec.args[i].name)
            w.value(v)
        }
        w.raw("}")
        if e.exitArgs.contains(where: { $0 != nil }) {
            w.raw(",\"exit_args\":{")
            first = true
            for i in 0..<spec.args.count {
                guard let v = e.exitArgs[i] else { continue }
                if !first { w.raw(",") }
                first = false
                w.key(spec.args[i].name)
                w.value(v)
            }
            w.raw("}")
        }
        if e.changed != 0 { writeNames(",\"changed\":[", e.changedNames, to: &w) }
        if e.late != 0 { writeNames(",\"late\":[", e.lateNames, to: &w) }
        if e.truncated != 0 { writeNames(",\"truncated\":[", e.truncatedNames, to: &w) }
        if let via = e.via {
            w.raw(",\"via\":")
            w.string(via.rawValue)
        }
        w.raw("}")
    }

    private static func writeNames(_ open: String, _ names: [String], to w: inout JSONWriter) {
        w.raw(open)
        for (k, n) in names.enumerated() {
            if k > 0 { w.raw(",") }
            w.string(n)
        }
        w.raw("]")
    }

    public static func writeProcess(_ p: ProcessContext, to w: inout JSONWriter) {
        w.raw("{\"pid\":"); w.int(Int64(p.pid))
        w.raw(",\"tid\":"); w.int(Int64(p.tid))
        w.raw(",\"ppid\":"); w.int(Int64(p.ppid))
        w.raw(",\"uid\":"); w.int(Int64(p.uid))
        w.raw(",\"gid\":"); w.int(Int64(p.gid))
        w.raw(",\"comm\":"); w.string(p.comm)
        w.raw(",\"exe\":"); w.string(p.exe)
        w.raw(",\"container\":"); w.string(p.container)
        w.raw(",\"cgroup\":"); w.uint(p.cgroup)
        w.raw(",\"mntns\":"); w.uint(p.mntns)
        w.raw(",\"pidns\":"); w.uint(p.pidns)
        w.raw(",\"compat\":"); w.bool(p.compat)
        w.raw(",\"bits\":"); w.int(Int64(p.bits))
        // The executable's identity, when the probes reported it.
        if p.exeIno != 0 {
            w.raw(",\"exe_ino\":"); w.uint(p.exeIno)
            w.raw(",\"exe_dev\":"); w.uint(p.exeDev)
        }
        if !p.exeFs.isEmpty { w.raw(",\"exe_fs\":"); w.string(p.exeFs) }
        w.raw("}")
    }

    public static func text(_ e: Event) -> String {
        var w = JSONWriter()
        write(e, to: &w)
        return w.text
    }

    /// A decode problem; the reader prefixes file and line.
    public struct DecodeError: Error, Sendable, CustomStringConvertible, Equatable {
        public var reason: String
        /// A short category for stats ("unknown event", "bad argument", …).
        public var category: String
        public init(_ category: String, _ reason: String) { self.category = category; self.reason = reason }
        public var description: String { reason }
    }

    /// Decodes one native event object. Unknown top-level keys are ignored (newer writers may
    /// add some); unknown events and arguments, and values of the wrong shape, are errors.
    public static func decode(_ v: Value) throws(DecodeError) -> Event {
        guard case .object(let f) = v else { throw DecodeError("malformed event", "an event must be a JSON object") }
        guard let nameValue = f["name"] else { throw DecodeError("malformed event", "missing \"name\"") }
        guard case .string(let name) = nameValue else { throw DecodeError("malformed event", "\"name\" must be a string") }
        guard let kind = Catalogue.kind(named: name) else {
            let hint = Catalogue.suggestions(for: name)
            throw DecodeError("unknown event", "unknown event \"\(name)\"" + (hint.isEmpty ? "" : " (did you mean \(hint.joined(separator: ", "))?)"))
        }
        var e = Event(kind: kind)
        if let t = f["time"] { e.time = try time(t) }
        if let r = f["ret"] {
            guard case .int(let n) = r else { throw DecodeError("malformed event", "\"ret\" must be an integer") }
            e.ret = n
        }
        if let p = f["process"] { e.process = try decodeProcess(p) }
        let spec = kind.spec
        if let a = f["args"] {
            guard case .object(let af) = a else { throw DecodeError("malformed event", "\"args\" must be an object") }
            for (k, value) in af.pairs {
                guard let i = spec.argIndex(k) else {
                    throw DecodeError("bad argument", "\(name) has no argument \"\(k)\" (arguments: \(spec.args.map(\.name).joined(separator: ", ")))")
                }
                if let why = check(value, spec.args[i].type) { throw DecodeError("bad argument", "\(name).\(k): \(why)") }
                e.args[i] = value
            }
        }
        if let a = f["exit_args"] {
            guard case .object(let af) = a else { throw DecodeError("malformed event", "\"exit_args\" must be an object") }
            for (k, value) in af.pairs {
                guard let i = spec.argIndex(k) else { throw DecodeError("bad argument", "\(name) has no argument \"\(k)\"") }
                guard spec.args[i].tags.contains(.TOCTOU) else {
                    throw DecodeError("bad argument", "\(name).\(k) is not TOCTOU-tagged, so it has no exit re-read")
                }
                if let why = check(value, spec.args[i].type) { throw DecodeError("bad argument", "exit_args \(name).\(k): \(why)") }
                e.exitArgs[i] = value
            }
        }
        func names(_ key: String) throws(DecodeError) -> UInt64? {
            guard let c = f[key] else { return nil }
            guard case .array(let names) = c else { throw DecodeError("malformed event", "\"\(key)\" must be a list of argument names") }
            var bits: UInt64 = 0
            for n in names {
                guard case .string(let s) = n, let i = spec.argIndex(s) else {
                    throw DecodeError("bad argument", "\"\(key)\" names an argument \(name) does not have: \(n.jsonText)")
                }
                bits |= 1 << UInt64(i)
            }
            return bits
        }
        if let bits = try names("changed") {
            e.changed = bits
        } else if e.exitArgs.contains(where: { $0 != nil }) {
            e.computeChanged()
        }
        if let bits = try names("late") { e.late = bits }
        if let bits = try names("truncated") { e.truncated = bits }
        if let v = f["via"] {
            guard case .string(let s) = v, let via = Event.Via(rawValue: s) else {
                throw DecodeError("malformed event", "\"via\" must be one of \(Event.Via.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            e.via = via
        }
        return e
    }

    /// Event times (and cgroup and namespace ids) are Lua integers in signatures: 0 ... 2^63-1.
    /// A value past that range, a negative one or a float makes the line a skipped "malformed
    /// event", in native and Tracee input alike.
    public static func time(_ v: Value, _ what: String = "\"time\"", unit: String = " (ns)") throws(DecodeError) -> UInt64 {
        if case .int(let n) = v, n >= 0 { return UInt64(n) }
        if case .uint = v {
            throw DecodeError("malformed event", "\(what) is beyond Lua's integer range (at most 2^63-1)\(unit): \(v.jsonText)")
        }
        throw DecodeError("malformed event", "\(what) must be a non-negative integer\(unit)")
    }

    static func decodeProcess(_ v: Value) throws(DecodeError) -> ProcessContext {
        guard case .object(let f) = v else { throw DecodeError("malformed event", "\"process\" must be an object") }
        var p = ProcessContext()
        func int<T: FixedWidthInteger>(_ key: String, _ type: T.Type) throws(DecodeError) -> T? {
            guard let v = f[key] else { return nil }
            guard case .int(let n) = v, let t = T(exactly: n) else { throw DecodeError("malformed event", "process.\(key) must be an integer in range") }
            return t
        }
        func str(_ key: String) throws(DecodeError) -> String? {
            guard let v = f[key] else { return nil }
            guard case .string(let s) = v else { throw DecodeError("malformed event", "process.\(key) must be a string") }
            return s
        }
        if let x = try int("pid", Int32.self) { p.pid = x }
        if let x = try int("tid", Int32.self) { p.tid = x }
        if let x = try int("ppid", Int32.self) { p.ppid = x }
        if let x = try int("uid", UInt32.self) { p.uid = x }
        if let x = try int("gid", UInt32.self) { p.gid = x }
        if let x = try str("comm") { p.comm = x }
        if let x = try str("exe") { p.exe = x }
        if let x = try str("container") { p.container = x }
        if let v = f["cgroup"] { p.cgroup = try time(v, "process.cgroup", unit: "") }
        if let v = f["mntns"] { p.mntns = try time(v, "process.mntns", unit: "") }
        if let v = f["pidns"] { p.pidns = try time(v, "process.pidns", unit: "") }
        if let v = f["compat"] { guard case .bool(let b) = v else { throw DecodeError("malformed event", "process.compat must be true or false") }; p.compat = b }
        if let v = f["bits"] {
            guard case .int(let n) = v, n == 0 || n == 32 || n == 64 else { throw DecodeError("malformed event", "process.bits must be 0, 32 or 64") }
            p.bits = UInt8(n)
        }
        if let v = f["exe_ino"] { p.exeIno = try time(v, "process.exe_ino", unit: "") }
        if let v = f["exe_dev"] { p.exeDev = try time(v, "process.exe_dev", unit: "") }
        if let x = try str("exe_fs") { p.exeFs = x }
        return p
    }

    /// Why `v` does not have the shape of `type`, or nil. `null` is always allowed for an argument
    /// (a NULL pointer). Nested values are checked too, against the shapes of docs/capture-format.md:
    /// an integer is a JSON integer (not `true`, not `1.5`), objects have only their documented
    /// keys, each with its type. What passes is what a signature may rely on.
    public static func check(_ v: Value, _ type: ArgType) -> String? {
        if case .null = v { return nil }
        return ArgShape.check(v, type)
    }

    /// Estimated bytes the value takes once built as Lua tables and strings in a signature's
    /// state (64-bit Lua 5.4: string header 24, table 56, array slot 16, hash node 32).
    public static func luaBytes(_ v: Value) -> Int {
        switch v {
        case .null, .bool, .int, .uint, .double: return 0
        case .string(let s): return 25 + s.utf8.count
        case .array(let a): return a.reduce(56 + 16 * a.count) { $0 + luaBytes($1) }
        case .object(let f):
            var n = 56 + 32 * max(1, f.count).nextPowerOfTwo
            for k in 0..<f.count { n += 25 + f.keys[k].utf8.count + luaBytes(f.values[k]) }
            return n
        }
    }

    /// `luaBytes` of every argument and exit re-read of an event.
    public static func luaBytes(_ e: Event) -> Int {
        var n = 25 + e.process.comm.utf8.count + 25 + e.process.exe.utf8.count + 25 + e.process.container.utf8.count
        for a in e.args { if let a { n += luaBytes(a) } }
        for a in e.exitArgs { if let a { n += luaBytes(a) } }
        return n
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}

/// The documented argument shapes, checked recursively.
enum ArgShape {
    static func check(_ v: Value, _ type: ArgType) -> String? {
        switch type {
        case .int, .uint, .long, .intRef:
            return int(v)
        case .ulong, .pointer:
            return size(v)   // 64-bit unsigned values may pass Int64.max (kernel addresses)
        case .string:
            if case .string = v { return nil }
            return "expected a string"
        case .argv:
            guard case .array = v else { return "expected a list of strings" }
            return list(v, string)
        case .sockaddr, .msghdr, .timespec, .timespec32:
            guard case .object = v else { return "expected an object (\(type.shape))" }
            switch type {
            case .sockaddr: return sockaddr(v)
            case .msghdr: return msghdr(v)
            default: return object(v, [("sec", int), ("nsec", int)])
            }
        case .mmsghdrs, .fdPair:
            guard case .array(let a) = v else { return "expected a list (\(type.shape))" }
            if type == .fdPair {
                if a.count > 2 { return "expected at most two descriptors, got \(a.count)" }
                return list(v, int)
            }
            return list(v) { item in object(item, [("msg", { $0.isNull ? nil : msghdr($0) }), ("len", size)]) }
        case .program:
            guard case .object = v else { return "expected an object (\(type.shape))" }
            return object(v, [("path", string), ("ino", size), ("dev", size), ("fs", string), ("deleted", bool)])
        case .sockinfo:
            guard case .object = v else { return "expected an object (\(type.shape))" }
            return socket(v)
        case .stdio:
            guard case .array(let a) = v else { return "expected a list (\(type.shape))" }
            if a.count > 3 { return "expected descriptors 0, 1 and 2, got \(a.count) entries" }
            return list(v) { item in
                object(item, [("fd", int), ("type", string), ("path", string), ("ino", size),
                              ("socket", { $0.isNull ? nil : socket($0) })])
            }
        }
    }

    static func expected(_ what: String, _ v: Value) -> String {
        "expected \(what), got \(v.jsonText.prefix(40))"
    }

    static func int(_ v: Value) -> String? {
        if case .int = v { return nil }
        return expected("an integer", v)
    }

    /// size_t-like values the caller controls (an iovec length) may pass Int64.max.
    static func size(_ v: Value) -> String? {
        if case .int = v { return nil }
        if case .uint = v { return nil }
        return expected("an integer", v)
    }

    static func string(_ v: Value) -> String? {
        if case .string = v { return nil }
        return expected("a string", v)
    }

    static func bool(_ v: Value) -> String? {
        if case .bool = v { return nil }
        return expected("true or false", v)
    }

    /// A name the kernel's constants print as ("SOL_SOCKET", "AF_INET") or the raw number.
    static func nameOrInt(_ v: Value) -> String? {
        switch v {
        case .string, .int: return nil
        default: return expected("a name or an integer", v)
        }
    }

    static func list(_ v: Value, _ item: (Value) -> String?) -> String? {
        guard case .array(let a) = v else { return expected("a list", v) }
        for (i, x) in a.enumerated() { if let why = item(x) { return "[\(i + 1)]: \(why)" } }
        return nil
    }

    /// An object whose documented keys (any may be missing) have their types. Other keys pass:
    /// a newer writer may add some, as at the top level.
    static func object(_ v: Value, _ fields: [(String, (Value) -> String?)]) -> String? {
        guard case .object(let f) = v else { return expected("an object", v) }
        for (k, x) in f.pairs {
            guard let check = fields.first(where: { $0.0 == k })?.1 else { continue }
            if let why = check(x) { return "\(k): \(why)" }
        }
        return nil
    }

    static func sockaddr(_ v: Value) -> String? {
        object(v, [("family", nameOrInt), ("addr", string), ("port", int), ("path", string), ("abstract", bool)])
    }

    static func msghdr(_ v: Value) -> String? {
        object(v, [("name", { $0.isNull ? nil : sockaddr($0) }), ("iov", { list($0, size) }), ("iovlen", size), ("bytes", size),
                   ("controllen", size), ("control", { list($0, cmsg) }), ("flags", int)])
    }

    static func cmsg(_ v: Value) -> String? {
        object(v, [("level", nameOrInt), ("type", nameOrInt), ("fds", { list($0, int) }), ("files", { list($0, file) }),
                   ("cred", { object($0, [("pid", int), ("uid", int), ("gid", int)]) }), ("len", size)])
    }

    static func file(_ v: Value) -> String? {
        object(v, [("fd", int), ("type", string), ("path", string), ("peer", string), ("ino", size)])
    }

    static func endpoint(_ v: Value) -> String? {
        v.isNull ? nil : object(v, [("addr", string), ("port", int)])
    }

    static func socket(_ v: Value) -> String? {
        object(v, [("ino", size), ("family", nameOrInt), ("type", int), ("local", endpoint), ("remote", endpoint),
                   ("peer", { $0.isNull ? nil : size($0) })])
    }
}
