/// One conjunction of conditions on events of one kind: what a signature's `filter` table asks of
/// that kind, resolved against its arguments. The engine checks it before building the Lua event;
/// the probes compile the clauses of all loaded signatures into the kernel (`KernelInterest`), so
/// that the same conditions also decide what leaves the kernel. Both must agree: everything the
/// kernel evaluates mirrors `matches` exactly, and whatever the kernel cannot evaluate it widens.
public struct FilterClause: Sendable, Hashable {
    /// A 32-bit compat syscall (or not).
    public var compat: Bool?
    /// The process's own word size (`process.bits`: 64 or 32).
    public var bits: UInt8?
    /// ret >= 0 (or ret < 0).
    public var success: Bool?
    /// Some TOCTOU argument read differently at entry and exit (or none did).
    public var changed: Bool?
    /// A message header argument carries a control message of one of these types.
    public var control: Set<ControlType>?
    /// process.comm is one of these.
    public var comm: Set<String>?
    /// process.comm is none of these.
    public var notComm: Set<String> = []
    /// process.uid is one of these.
    public var uid: Set<UInt32>?
    /// process.uid is none of these.
    public var notUid: Set<UInt32> = []
    /// Every argument condition holds, sorted by argument index.
    public var args: [ArgCondition] = []

    /// Control message types a filter can name: the ones the decoder names.
    public enum ControlType: String, Sendable, Hashable, CaseIterable {
        case rights = "SCM_RIGHTS"
        case credentials = "SCM_CREDENTIALS"
    }

    /// The argument at `index` (of this clause's kind) equals one of `ints` (integer values) or
    /// `strings` (string values); or, with `anyBits`, an integer argument has one of those bits set
    /// (flags: `O_WRONLY | O_RDWR` opens for writing). Any other value, or no value, fails.
    public struct ArgCondition: Sendable, Hashable {
        public var index: Int
        public var ints: Set<Int64>
        public var strings: Set<String>
        public var anyBits: Int64?
        public init(index: Int, ints: Set<Int64> = [], strings: Set<String> = [], anyBits: Int64? = nil) {
            self.index = index; self.ints = ints; self.strings = strings; self.anyBits = anyBits
        }

        @inline(__always)
        func holds(_ v: Value) -> Bool {
            if let n = v.int64, v.bool == nil {
                if let m = anyBits { return n & m != 0 }
                return ints.contains(n)
            }
            if let s = v.string { return anyBits == nil && strings.contains(s) }
            return false
        }

        /// A condition both `self` and `other` imply (nil: none, the argument is not constrained).
        func union(_ other: ArgCondition) -> ArgCondition? {
            switch (anyBits, other.anyBits) {
            case (let a?, let b?): return ArgCondition(index: index, anyBits: a | b)
            case (nil, nil): return ArgCondition(index: index, ints: ints.union(other.ints), strings: strings.union(other.strings))
            default: return nil
            }
        }
    }

    public init() {}

    /// Accepts every event.
    public static let any = FilterClause()

    public var isEmpty: Bool { self == .any }

    @inline(__always)
    public func matches(_ e: Event, facts: inout EventFacts) -> Bool {
        if let c = compat, e.process.compat != c { return false }
        if let b = bits, e.process.bits != b { return false }
        if let s = success, (e.ret >= 0) != s { return false }
        if let c = changed, (e.changed != 0) != c { return false }
        if let set = comm, !set.contains(e.process.comm) { return false }
        if !notComm.isEmpty, notComm.contains(e.process.comm) { return false }
        if let set = uid, !set.contains(e.process.uid) { return false }
        if !notUid.isEmpty, notUid.contains(e.process.uid) { return false }
        for a in args {
            guard a.index < e.args.count, let v = e.args[a.index], a.holds(v) else { return false }
        }
        if let want = control {
            let present = facts.controlTypes(of: e)
            if !want.contains(where: { present.contains($0) }) { return false }
        }
        return true
    }

    /// The narrowest clause that accepts everything `self` accepts and everything `other` accepts
    /// (each condition is kept only in a form both imply). Used where the kernel has room for
    /// fewer clauses than signatures have.
    public func union(_ other: FilterClause) -> FilterClause {
        var u = FilterClause()
        u.compat = compat == other.compat ? compat : nil
        u.bits = bits == other.bits ? bits : nil
        u.success = success == other.success ? success : nil
        u.changed = changed == other.changed ? changed : nil
        if let a = control, let b = other.control { u.control = a.union(b) }
        if let a = comm, let b = other.comm { u.comm = a.union(b) }
        u.notComm = notComm.intersection(other.notComm)
        if let a = uid, let b = other.uid { u.uid = a.union(b) }
        u.notUid = notUid.intersection(other.notUid)
        for a in args {
            if let b = other.args.first(where: { $0.index == a.index }), let c = a.union(b) { u.args.append(c) }
        }
        return u
    }
}

/// Answers several signatures' filters need about the same event, computed once per event.
public struct EventFacts {
    private var control: Set<FilterClause.ControlType>?
    public init() {}

    /// The control message types named in the event's message header arguments.
    public mutating func controlTypes(of e: Event) -> Set<FilterClause.ControlType> {
        if let control { return control }
        var found = Set<FilterClause.ControlType>()
        for i in e.spec.messageArgs {
            guard let v = e.args[i] else { continue }
            if case .array(let msgs) = v {
                for m in msgs { EventFacts.collect(m["msg"] ?? .null, into: &found) }
            } else {
                EventFacts.collect(v, into: &found)
            }
        }
        control = found
        return found
    }

    private static func collect(_ msg: Value, into found: inout Set<FilterClause.ControlType>) {
        guard case .array(let cs)? = msg["control"] else { return }
        for c in cs {
            if case .string(let t)? = c["type"], let type = FilterClause.ControlType(rawValue: t) { found.insert(type) }
        }
    }
}

/// What the loaded signatures could accept, per event kind: compiled into the kernel probes so
/// that nothing else leaves the kernel. A kind is absent when nothing selects it.
public struct KernelInterest: Sendable, Equatable {
    public enum Selection: Sendable, Equatable {
        /// Every event of the kind (a signature selects it without a filter, or a capture).
        case all
        /// Events that one of these clauses accepts.
        case matching([FilterClause])
    }

    public var kinds: [EventKind: Selection]

    public init(kinds: [EventKind: Selection] = [:]) { self.kinds = kinds }

    /// Every event of these kinds (`moonwatch capture`).
    public static func everything(_ kinds: Set<EventKind>) -> KernelInterest {
        KernelInterest(kinds: Dictionary(uniqueKeysWithValues: kinds.map { ($0, .all) }))
    }

    /// Adds one selector's clause for `kind`: an empty clause selects the whole kind.
    public mutating func add(_ kind: EventKind, clause: FilterClause) {
        if clause.isEmpty { kinds[kind] = .all; return }
        switch kinds[kind] {
        case .all: return
        case .matching(let cs): if !cs.contains(clause) { kinds[kind] = .matching(cs + [clause]) }
        case nil: kinds[kind] = .matching([clause])
        }
    }

    /// Would the interest let this event through? (What the kernel decides, in user space: for
    /// tests and for `replay` statistics.)
    public func admits(_ e: Event) -> Bool {
        var facts = EventFacts()
        switch kinds[e.kind] {
        case nil: return false
        case .all: return true
        case .matching(let cs): return cs.contains { $0.matches(e, facts: &facts) }
        }
    }
}
