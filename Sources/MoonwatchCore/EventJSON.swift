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
        if e.changed != 0 {
            w.raw(",\"changed\":[")
            for (k, n) in e.changedNames.enumerated() {
                if k > 0 { w.raw(",") }
                w.string(n)
            }
            w.raw("]")
        }
        w.raw("}")
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
        if let t = f["time"] {
            guard let n = t.uint64 else { throw DecodeError("malformed event", "\"time\" must be a non-negative integer (ns)") }
            e.time = n
        }
        if let r = f["ret"] {
            guard let n = r.int64 else { throw DecodeError("malformed event", "\"ret\" must be an integer") }
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
        if let c = f["changed"] {
            guard case .array(let names) = c else { throw DecodeError("malformed event", "\"changed\" must be a list of argument names") }
            var bits: UInt64 = 0
            for n in names {
                guard case .string(let s) = n, let i = spec.argIndex(s) else {
                    throw DecodeError("bad argument", "\"changed\" names an argument \(name) does not have: \(n.jsonText)")
                }
                bits |= 1 << UInt64(i)
            }
            e.changed = bits
        } else if e.exitArgs.contains(where: { $0 != nil }) {
            e.computeChanged()
        }
        return e
    }

    static func decodeProcess(_ v: Value) throws(DecodeError) -> ProcessContext {
        guard case .object(let f) = v else { throw DecodeError("malformed event", "\"process\" must be an object") }
        var p = ProcessContext()
        func int<T: FixedWidthInteger>(_ key: String, _ type: T.Type) throws(DecodeError) -> T? {
            guard let v = f[key] else { return nil }
            guard let n = v.int64, let t = T(exactly: n) else { throw DecodeError("malformed event", "process.\(key) must be an integer in range") }
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
        if let v = f["cgroup"] { guard let n = v.uint64 else { throw DecodeError("malformed event", "process.cgroup must be an integer") }; p.cgroup = n }
        if let v = f["mntns"] { guard let n = v.uint64 else { throw DecodeError("malformed event", "process.mntns must be an integer") }; p.mntns = n }
        if let v = f["pidns"] { guard let n = v.uint64 else { throw DecodeError("malformed event", "process.pidns must be an integer") }; p.pidns = n }
        if let v = f["compat"] { guard case .bool(let b) = v else { throw DecodeError("malformed event", "process.compat must be true or false") }; p.compat = b }
        if let v = f["bits"] {
            guard let n = v.int64, n == 0 || n == 32 || n == 64 else { throw DecodeError("malformed event", "process.bits must be 0, 32 or 64") }
            p.bits = UInt8(n)
        }
        return p
    }

    /// Why `v` does not have the shape of `type`, or nil. `null` is always allowed (NULL pointer).
    public static func check(_ v: Value, _ type: ArgType) -> String? {
        if case .null = v { return nil }
        switch type {
        case .int, .uint, .long, .ulong, .pointer, .intRef:
            if v.int64 != nil || v.uint64 != nil { return nil }
            return "expected an integer, got \(v.jsonText.prefix(40))"
        case .string:
            if case .string = v { return nil }
            return "expected a string"
        case .argv:
            if case .array(let a) = v, a.allSatisfy({ $0.string != nil }) { return nil }
            return "expected a list of strings"
        case .sockaddr, .msghdr, .timespec, .timespec32:
            if case .object = v { return nil }
            return "expected an object (\(type.shape))"
        case .mmsghdrs, .fdPair, .stdio:
            if case .array = v { return nil }
            return "expected a list (\(type.shape))"
        case .program, .sockinfo:
            if case .object = v { return nil }
            return "expected an object (\(type.shape))"
        }
    }
}
