import MoonwatchCore

/// A signature's optional `filter` table: conditions the engine checks natively, before it builds
/// the Lua event or enters Lua at all. All listed conditions must hold.
///
/// ```lua
/// filter = {
///   changed = true,              -- some TOCTOU argument read differently at entry and exit
///   success = true,              -- ret >= 0 (false: ret < 0)
///   compat = true,               -- a 32-bit compat syscall
///   control = "SCM_RIGHTS",      -- a message header carries this control message
///   comm = { "nc", "ncat" },     -- process.comm is one of these; not_comm: none of these
///   uid = { 0 },                 -- process.uid is one of these; not_uid: none of these
///   args = { request = { 4, 5 }, domain = 17 },   -- an integer or string argument equals one of
/// }
/// ```
/// An `args` condition constrains the selected events that have that argument and leaves the
/// others alone, so one filter can narrow `socket` by domain while `dup2` passes untouched.
/// Why: Lua costs ~0.3–1 µs per call; most events a signature selects by name are not the ones
/// it reports on. The filter is data, so it is also what `signatures lint` can check.
public struct SignatureFilter: Sendable, Equatable {
    public var changed: Bool?
    public var success: Bool?
    public var compat: Bool?
    public var control: String?
    public var comm: Set<String>?
    public var notComm: Set<String>?
    public var uid: Set<UInt32>?
    public var notUid: Set<UInt32>?
    /// Per event kind index: (argument index, accepted integers, accepted strings).
    var args: [Int: [(Int, Set<Int64>, Set<String>)]] = [:]
    /// Argument names used, for errors when a selected event lacks them all.
    public var argNames: [String] = []

    public static func == (a: SignatureFilter, b: SignatureFilter) -> Bool {
        a.changed == b.changed && a.success == b.success && a.compat == b.compat && a.control == b.control
            && a.comm == b.comm && a.notComm == b.notComm && a.uid == b.uid && a.notUid == b.notUid && a.argNames == b.argNames
    }

    public var isEmpty: Bool {
        changed == nil && success == nil && compat == nil && control == nil && comm == nil && notComm == nil
            && uid == nil && notUid == nil && argNames.isEmpty
    }

    public static let keys: Set<String> = ["changed", "success", "compat", "control", "comm", "not_comm", "uid", "not_uid", "args"]

    /// Builds the filter from the signature table's `filter` value; the error names the problem.
    static func parse(_ v: Value, events: [EventKind]) -> Result<SignatureFilter, FilterError> {
        guard case .object(let f) = v else { return .failure(FilterError("'filter' must be a table")) }
        var out = SignatureFilter()
        for key in f.keys where !keys.contains(key) {
            return .failure(FilterError("unknown filter key '\(key)' (known: \(keys.sorted().joined(separator: ", ")))"))
        }
        func bool(_ k: String) -> Result<Bool?, FilterError> {
            guard let x = f[k] else { return .success(nil) }
            guard case .bool(let b) = x else { return .failure(FilterError("filter.\(k) must be true or false")) }
            return .success(b)
        }
        func strings(_ k: String) -> Result<Set<String>?, FilterError> {
            guard let x = f[k] else { return .success(nil) }
            if case .string(let s) = x { return .success([s]) }
            guard case .array(let a) = x, a.allSatisfy({ $0.string != nil }) else {
                return .failure(FilterError("filter.\(k) must be a string or a list of strings"))
            }
            return .success(Set(a.compactMap(\.string)))
        }
        func uids(_ k: String) -> Result<Set<UInt32>?, FilterError> {
            guard let x = f[k] else { return .success(nil) }
            let list = x.array ?? [x]
            var s = Set<UInt32>()
            for item in list {
                guard let n = item.int64, let u = UInt32(exactly: n) else { return .failure(FilterError("filter.\(k) must list uids (integers)")) }
                s.insert(u)
            }
            return .success(s)
        }
        do {
            out.changed = try bool("changed").get()
            out.success = try bool("success").get()
            out.compat = try bool("compat").get()
            if let c = f["control"] {
                guard case .string(let s) = c else { return .failure(FilterError("filter.control must be a string such as \"SCM_RIGHTS\"")) }
                out.control = s
            }
            out.comm = try strings("comm").get()
            out.notComm = try strings("not_comm").get()
            out.uid = try uids("uid").get()
            out.notUid = try uids("not_uid").get()
        } catch { return .failure(error) }
        if let a = f["args"] {
            guard case .object(let af) = a else { return .failure(FilterError("filter.args must be a table of argument = value(s)")) }
            for (name, want) in af.pairs {
                var ints = Set<Int64>(), strs = Set<String>()
                for item in want.array ?? [want] {
                    if let n = item.int64, item.bool == nil { ints.insert(n) }
                    else if let s = item.string { strs.insert(s) }
                    else { return .failure(FilterError("filter.args.\(name) must be integers or strings")) }
                }
                var found = false
                for k in events {
                    if let i = k.spec.argIndex(name) {
                        out.args[k.index, default: []].append((i, ints, strs))
                        found = true
                    }
                }
                if !found {
                    return .failure(FilterError("filter.args.\(name): none of the selected events has an argument named '\(name)'"))
                }
                out.argNames.append(name)
            }
        }
        return .success(out)
    }

    /// `facts` memoizes what several signatures' filters ask of the same event.
    @inline(__always)
    public func matches(_ e: Event, facts: inout EventFacts) -> Bool {
        if let c = changed, (e.changed != 0) != c { return false }
        if let s = success, (e.ret >= 0) != s { return false }
        if let c = compat, e.process.compat != c { return false }
        if let set = comm, !set.contains(e.process.comm) { return false }
        if let set = notComm, set.contains(e.process.comm) { return false }
        if let set = uid, !set.contains(e.process.uid) { return false }
        if let set = notUid, set.contains(e.process.uid) { return false }
        if !argNames.isEmpty {
            if let conds = args[e.kind.index] {
                for (i, ints, strs) in conds {
                    guard let v = e.args[i] else { return false }
                    if let n = v.int64, v.bool == nil { if !ints.contains(n) { return false } }
                    else if let s = v.string { if !strs.contains(s) { return false } }
                    else { return false }
                }
            }
        }
        if let want = control {
            if facts.controlType != want {
                facts.controlType = want
                facts.hasControl = SignatureFilter.hasControl(e, type: want)
            }
            if !facts.hasControl { return false }
        }
        return true
    }

    /// Does any message header argument carry a control message of this type?
    static func hasControl(_ e: Event, type: String) -> Bool {
        for i in e.spec.messageArgs {
            guard let v = e.args[i] else { continue }
            if case .array(let msgs) = v {
                for m in msgs where controlIn(m["msg"] ?? .null, type) { return true }
            } else if controlIn(v, type) {
                return true
            }
        }
        return false
    }

    private static func controlIn(_ msg: Value, _ type: String) -> Bool {
        guard case .array(let cs)? = msg["control"] else { return false }
        for c in cs { if case .string(let t)? = c["type"], t == type { return true } }
        return false
    }
}

/// Per-event answers shared by the filters of all signatures that see the event.
public struct EventFacts {
    var controlType: String?
    var hasControl = false
    public init() {}
}

public struct FilterError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
