import MoonwatchCore

/// A signature's optional `filter` table: conditions checked before the Lua event is built, and
/// compiled into the kernel probes so that events no signature could accept never leave the
/// kernel. All listed conditions must hold.
///
/// ```lua
/// filter = {
///   changed = true,              -- some TOCTOU argument read differently at entry and exit
///   success = true,              -- ret >= 0 (false: ret < 0)
///   compat = true,               -- a 32-bit compat syscall
///   bits = 64,                   -- the process's own word size (process.bits): 64 or 32
///   control = "SCM_RIGHTS",      -- a message header carries this control message (or a list)
///   comm = { "nc", "ncat" },     -- process.comm is one of these; not_comm: none of these
///   uid = { 0 },                 -- process.uid is one of these; not_uid: none of these
///   args = { request = { 4, 5 }, domain = 17,    -- an integer or string argument equals one of
///            flags = { any_bits = 3 } },         -- an integer argument has one of these bits set
/// }
/// ```
/// An `args` condition constrains the selected events that have that argument and leaves the
/// others alone, so one filter can narrow `socket` by domain while `dup2` passes untouched.
/// Why: Lua costs ~0.3–1 µs per call, and shipping an event out of the kernel costs more; most
/// events a signature selects by name are not the ones it reports on. The filter is data, so it is
/// also what `signatures lint` can check and what the kernel can evaluate.
public struct SignatureFilter: Sendable, Equatable {
    /// The clause for each selected kind, indexed by catalogue index (nil: not selected); the
    /// `args` conditions differ per kind, everything else is the same.
    public private(set) var clauses: [FilterClause?] = []
    /// The conditions common to every kind (no `args`).
    public private(set) var base = FilterClause()
    /// Argument names used, as written.
    public private(set) var argNames: [String] = []

    public init() {}

    public var isEmpty: Bool { base.isEmpty && argNames.isEmpty }

    public static let keys: Set<String> = ["changed", "success", "compat", "bits", "control", "comm", "not_comm", "uid",
                                           "not_uid", "args"]

    /// The clause that applies to events of `kind`.
    public func clause(for kind: EventKind) -> FilterClause {
        kind.index < clauses.count ? clauses[kind.index] ?? base : base
    }

    /// Builds the filter from the signature table's `filter` value; the error names the problem.
    static func parse(_ v: Value, events: [EventKind]) -> Result<SignatureFilter, FilterError> {
        guard case .object(let f) = v else { return .failure(FilterError("'filter' must be a table")) }
        var out = SignatureFilter()
        for key in f.keys where !keys.contains(key) {
            return .failure(FilterError("unknown filter key '\(key)' (known: \(keys.sorted().joined(separator: ", ")))"))
        }
        func bool(_ k: String) throws(FilterError) -> Bool? {
            guard let x = f[k] else { return nil }
            guard case .bool(let b) = x else { throw FilterError("filter.\(k) must be true or false") }
            return b
        }
        func strings(_ k: String) throws(FilterError) -> Set<String>? {
            guard let x = f[k] else { return nil }
            if case .string(let s) = x { return [s] }
            guard case .array(let a) = x, a.allSatisfy({ $0.string != nil }) else {
                throw FilterError("filter.\(k) must be a string or a list of strings")
            }
            return Set(a.compactMap(\.string))
        }
        func uids(_ k: String) throws(FilterError) -> Set<UInt32>? {
            guard let x = f[k] else { return nil }
            var s = Set<UInt32>()
            for item in x.array ?? [x] {
                guard let n = item.int64, item.bool == nil, let u = UInt32(exactly: n) else {
                    throw FilterError("filter.\(k) must list uids (integers from 0 to 4294967295)")
                }
                s.insert(u)
            }
            return s
        }
        var c = FilterClause()
        do throws(FilterError) {
            c.changed = try bool("changed")
            c.success = try bool("success")
            c.compat = try bool("compat")
            if let b = f["bits"] {
                guard let n = b.int64, b.bool == nil, n == 32 || n == 64 else {
                    throw FilterError("filter.bits must be 64 or 32 (the process's own word size, process.bits)")
                }
                c.bits = UInt8(n)
            }
            if let names = try strings("control") {
                var types = Set<FilterClause.ControlType>()
                for n in names {
                    guard let t = FilterClause.ControlType(rawValue: n) else {
                        let known = FilterClause.ControlType.allCases.map(\.rawValue).joined(separator: " or ")
                        throw FilterError("filter.control \"\(n)\" is not a control message type moonwatch decodes (\(known))")
                    }
                    types.insert(t)
                }
                c.control = types
            }
            c.comm = try strings("comm")
            c.notComm = try strings("not_comm") ?? []
            c.uid = try uids("uid")
            c.notUid = try uids("not_uid") ?? []
        } catch { return .failure(error) }
        if c.control != nil, !events.contains(where: { !$0.spec.messageArgs.isEmpty }) {
            return .failure(FilterError("filter.control: none of the selected events carries a message header"))
        }
        out.base = c
        out.clauses = [FilterClause?](repeating: nil, count: Catalogue.count)
        for k in events { out.clauses[k.index] = c }
        if let a = f["args"] {
            guard case .object(let af) = a else { return .failure(FilterError("filter.args must be a table of argument = value(s)")) }
            for (name, want) in af.pairs {
                var ints = Set<Int64>(), strs = Set<String>()
                var anyBits: Int64?
                if case .object(let o) = want {
                    guard o.keys == ["any_bits"], let m = o["any_bits"]?.int64, o["any_bits"]?.bool == nil, m != 0 else {
                        return .failure(FilterError("filter.args.\(name): a table condition is { any_bits = MASK } with a non-zero integer mask"))
                    }
                    anyBits = m
                } else {
                    for item in want.array ?? [want] {
                        if let n = item.int64, item.bool == nil { ints.insert(n) }
                        else if let s = item.string { strs.insert(s) }
                        else { return .failure(FilterError("filter.args.\(name) must be integers or strings, or { any_bits = MASK }")) }
                    }
                }
                var found = false
                for k in events {
                    if let i = k.spec.argIndex(name) {
                        out.clauses[k.index]?.args.append(FilterClause.ArgCondition(index: i, ints: ints, strings: strs, anyBits: anyBits))
                        found = true
                    }
                }
                if !found {
                    return .failure(FilterError("filter.args.\(name): none of the selected events has an argument named '\(name)'"))
                }
                out.argNames.append(name)
            }
            for k in events { out.clauses[k.index]?.args.sort { $0.index < $1.index } }
        }
        return .success(out)
    }

    /// `facts` memoizes what several signatures' filters ask of the same event.
    @inline(__always)
    public func matches(_ e: Event, facts: inout EventFacts) -> Bool {
        let i = e.kind.index
        guard i < clauses.count, let c = clauses[i] else { return base.matches(e, facts: &facts) }
        return c.matches(e, facts: &facts)
    }
}

public struct FilterError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

extension KernelInterest {
    /// What these signatures could accept: each enabled signature adds its clause for each kind it
    /// selects; a signature without a filter takes its kinds whole.
    public init(signatures: [Signature]) {
        self.init()
        for s in signatures where !s.isDisabled {
            for k in s.events { add(k, clause: s.filter.clause(for: k)) }
        }
    }
}
