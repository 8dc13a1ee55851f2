import CMoonwatchWire
import MoonwatchCore

/// The loaded signatures' interest compiled into one half of `struct mw_live` (struct mw_filter),
/// which the probes evaluate before building any record (bpf/lib/filter.h).
///
/// The kernel tables are bounded (clauses per kind, values per condition, distinct comm names
/// and uids). Where an interest does not fit, or names something the kernel cannot see
/// (string arguments, values read from memory), the compiled clause is *widened*: the
/// condition is dropped or clauses are merged (`FilterClause.union`). Widening only lets more
/// through; the engine checks every signature's filter again, so findings never change, only
/// the cost. `notes` says what was widened.
struct FilterTables {
    private(set) var image = mw_filter()
    /// What could not be represented exactly, for the operator.
    private(set) var notes: [String] = []
    /// The clauses the kernel evaluates for each filtered kind, in table order (bit i of a
    /// record's `clauses` is clause i).
    private(set) var clauses: [EventKind: [FilterClause]] = [:]

    static let maxKinds = Int(MW_MAX_KINDS)
    static let maxClauses = Int(MW_MAX_CLAUSES)
    static let kindClauses = Int(MW_KIND_CLAUSES)
    static let clauseArgs = Int(MW_CLAUSE_ARGS)
    static let argValues = Int(MW_ARG_VALUES)
    static let maxComms = Int(MW_FILTER_COMMS)
    static let maxUIDs = Int(MW_FILTER_UIDS)

    init(_ interest: KernelInterest) {
        var plan: [(EventKind, [FilterClause])] = []   // kinds with clauses, in catalogue order
        withUnsafeMutableBytes(of: &image.kinds) { kinds in
            for (kind, selection) in interest.kinds.sorted(by: { $0.key < $1.key }) {
                guard kind.index < FilterTables.maxKinds else {
                    notes.append("\(kind.name): beyond the kernel's kind table; not captured")
                    continue
                }
                var k = mw_kind_cfg()
                switch selection {
                case .all:
                    k.mode = UInt8(MW_K_ALL)
                case .matching(let clauses):
                    let exact = clauses.compactMap { FilterTables.kernelClause($0, kind: kind, notes: &notes) }
                    if exact.isEmpty {
                        k.mode = UInt8(MW_K_FILTER)  // no clause can ever match: nothing leaves the kernel
                    } else if exact.contains(where: \.isEmpty) {
                        k.mode = UInt8(MW_K_ALL)
                    } else {
                        k.mode = UInt8(MW_K_FILTER)
                        plan.append((kind, exact))
                    }
                }
                kinds.storeBytes(of: k, toByteOffset: kind.index * MemoryLayout<mw_kind_cfg>.stride, as: mw_kind_cfg.self)
            }
        }
        plan = FilterTables.fitPool(plan, notes: &notes)
        let (comms, uids) = FilterTables.fitNames(&plan, notes: &notes)
        write(plan, comms: comms, uids: uids)
        for (kind, cs) in plan { clauses[kind] = cs }
    }

    /// The clause as the kernel can evaluate it: conditions it cannot see are dropped (widened);
    /// nil when the clause can never match (an integer argument condition with no integer, a
    /// comm set of names no task can have).
    static func kernelClause(_ c: FilterClause, kind: EventKind, notes: inout [String]) -> FilterClause? {
        // Control messages live in message headers: a kind without one never matches.
        if c.control != nil && kind.spec.messageArgs.isEmpty { return nil }
        var k = c
        k.args = []
        for a in c.args {
            guard a.index < Int(MW_MAX_ARGS), a.index < kind.spec.args.count else { continue }
            let arg = kind.spec.args[a.index]
            switch arg.type {
            case .int, .uint, .long, .ulong, .pointer:
                // A register: the decoded value is an integer, so only integers can match.
                if let m = a.anyBits {
                    k.args.append(FilterClause.ArgCondition(index: a.index, anyBits: m))
                    continue
                }
                if a.ints.isEmpty { return nil }
                if a.ints.count > argValues {
                    notes.append("\(kind.name): filter.args.\(arg.name) lists more than \(argValues) values; checked in user space only")
                    continue
                }
                k.args.append(FilterClause.ArgCondition(index: a.index, ints: a.ints))
            default:
                notes.append("\(kind.name): filter.args.\(arg.name) is read from memory; checked in user space only")
            }
        }
        if k.args.count > clauseArgs {
            notes.append("\(kind.name): more than \(clauseArgs) argument conditions in one filter; the rest are checked in user space only")
            // keep the most selective ones
            k.args = Array(k.args.sorted { $0.ints.count < $1.ints.count }.prefix(clauseArgs)).sorted { $0.index < $1.index }
        }
        if let set = k.comm {
            let usable = set.filter(encodableComm)
            if usable.count != set.count, set.contains(where: { !encodableComm($0) && !neverAComm($0) }) {
                k.comm = nil  // a name the kernel cannot compare exactly: accept any comm
            } else if usable.isEmpty {
                return nil
            } else {
                k.comm = usable
            }
        }
        // Names no comm can equal never exclude anything; others the kernel cannot compare are left out.
        k.notComm = k.notComm.filter(encodableComm)
        return k
    }

    /// A comm the kernel can compare byte for byte: what the decoder turns back into this string
    /// (at most 15 bytes, no NUL, and no U+FFFD, which the decoder makes of bytes that are not UTF-8).
    static func encodableComm(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return b.count <= 15 && !b.contains(0) && !s.unicodeScalars.contains("\u{FFFD}")
    }

    /// No task's comm can decode to this string (longer than a comm, or holding a NUL).
    static func neverAComm(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return b.contains(0) || (b.count > 15 && !s.unicodeScalars.contains("\u{FFFD}"))
    }

    /// Merges clauses until every kind has at most `kindClauses` and all fit the pool.
    static func fitPool(_ plan: [(EventKind, [FilterClause])], notes: inout [String]) -> [(EventKind, [FilterClause])] {
        var out = plan.map { (kind, cs) -> (EventKind, [FilterClause]) in
            (kind, merge(cs, to: kindClauses, kind: kind, notes: &notes))
        }
        while out.reduce(0, { $0 + $1.1.count }) > maxClauses,
              let i = out.indices.max(by: { out[$0].1.count < out[$1].1.count }), out[i].1.count > 1 {
            out[i].1 = merge(out[i].1, to: out[i].1.count - 1, kind: out[i].0, notes: &notes)
        }
        return out
    }

    /// Merges the two clauses whose union keeps the most conditions, until `n` are left.
    static func merge(_ cs: [FilterClause], to n: Int, kind: EventKind, notes: inout [String]) -> [FilterClause] {
        guard cs.count > n, n > 0 else { return cs }
        notes.append("\(kind.name): \(cs.count) filters merged into \(n) in the kernel")
        var out = cs
        while out.count > n {
            var best = (i: 0, j: 1, loss: Int.max)
            for i in out.indices {
                for j in out.indices where j > i {
                    let loss = strength(out[i]) + strength(out[j]) - 2 * strength(out[i].union(out[j]))
                    if loss < best.loss { best = (i, j, loss) }
                }
            }
            var u = out[best.i].union(out[best.j])
            // A union can list more values than a condition holds: then the condition goes.
            u.args = u.args.filter { $0.ints.count <= argValues }
            out.remove(at: best.j)
            out[best.i] = u
        }
        return out
    }

    /// How many conditions a clause has: what a merge would lose.
    static func strength(_ c: FilterClause) -> Int {
        var n = c.args.count
        for present in [c.compat != nil, c.bits != nil, c.success != nil, c.changed != nil, c.control != nil,
                        c.comm != nil, !c.notComm.isEmpty, c.uid != nil, !c.notUid.isEmpty] where present { n += 1 }
        return n
    }

    /// Collects the comm names and uids the clauses use, widening clauses while there are more
    /// than the tables hold.
    static func fitNames(_ plan: inout [(EventKind, [FilterClause])], notes: inout [String]) -> ([String], [UInt32]) {
        func comms() -> [String] {
            Array(Set(plan.flatMap { $0.1.flatMap { Array($0.comm ?? []) + Array($0.notComm) } })).sorted()
        }
        func uids() -> [UInt32] {
            Array(Set(plan.flatMap { $0.1.flatMap { Array($0.uid ?? []) + Array($0.notUid) } })).sorted()
        }
        while comms().count > maxComms {
            // drop the largest comm condition
            var best: (Int, Int, Int)?   // kind index in plan, clause index, size
            for (i, p) in plan.enumerated() {
                for (j, c) in p.1.enumerated() {
                    let n = (c.comm?.count ?? 0) + c.notComm.count
                    if n > (best?.2 ?? 0) { best = (i, j, n) }
                }
            }
            guard let (i, j, _) = best else { break }
            plan[i].1[j].comm = nil
            plan[i].1[j].notComm = []
            notes.append("\(plan[i].0.name): comm conditions checked in user space only (more than \(maxComms) names in all filters)")
        }
        while uids().count > maxUIDs {
            var best: (Int, Int, Int)?
            for (i, p) in plan.enumerated() {
                for (j, c) in p.1.enumerated() {
                    let n = (c.uid?.count ?? 0) + c.notUid.count
                    if n > (best?.2 ?? 0) { best = (i, j, n) }
                }
            }
            guard let (i, j, _) = best else { break }
            plan[i].1[j].uid = nil
            plan[i].1[j].notUid = []
            notes.append("\(plan[i].0.name): uid conditions checked in user space only (more than \(maxUIDs) uids in all filters)")
        }
        return (comms(), uids())
    }

    private mutating func write(_ plan: [(EventKind, [FilterClause])], comms: [String], uids: [UInt32]) {
        image.ncomms = UInt32(comms.count)
        image.nuids = UInt32(uids.count)
        withUnsafeMutableBytes(of: &image.comms) { t in
            for (i, c) in comms.enumerated() {
                for (j, b) in c.utf8.enumerated() { t[16 * i + j] = b }
            }
        }
        withUnsafeMutableBytes(of: &image.uids) { t in
            for (i, u) in uids.enumerated() { t.storeBytes(of: u, toByteOffset: 4 * i, as: UInt32.self) }
        }
        let commBit = Dictionary(uniqueKeysWithValues: comms.enumerated().map { ($1, UInt64(1) << UInt64($0)) })
        let uidBit = Dictionary(uniqueKeysWithValues: uids.enumerated().map { ($1, UInt64(1) << UInt64($0)) })
        var next = 0
        withUnsafeMutableBytes(of: &image.kinds) { kinds in
            withUnsafeMutableBytes(of: &image.clauses) { pool in
                for (kind, clauses) in plan {
                    let at = kind.index * MemoryLayout<mw_kind_cfg>.stride
                    var k = kinds.load(fromByteOffset: at, as: mw_kind_cfg.self)
                    k.first = UInt16(next)
                    k.nclauses = UInt8(clauses.count)
                    FilterTables.masks(clauses, kind: kind, into: &k)
                    for c in clauses {
                        let w = FilterTables.wire(c, kind: kind, commBit: commBit, uidBit: uidBit)
                        pool.storeBytes(of: w, toByteOffset: next * MemoryLayout<mw_clause>.stride, as: mw_clause.self)
                        next += 1
                    }
                    kinds.storeBytes(of: k, toByteOffset: at, as: mw_kind_cfg.self)
                }
            }
        }
    }

    /// The flag conditions of a kind's clauses as masks over them (bit i = clause i), which the
    /// probes combine without looking at the clauses (see struct mw_kind_cfg).
    static func masks(_ clauses: [FilterClause], kind: EventKind, into k: inout mw_kind_cfg) {
        let messageAtEntry = kind.spec.messageArgs.first.map { kind.spec.args[$0].read != .exit } ?? false
        var compatFail: (UInt8, UInt8) = (0, 0), bitsFail: (UInt8, UInt8, UInt8) = (0, 0, 0)
        for (i, c) in clauses.enumerated() {
            let bit = UInt8(1) << UInt8(i)
            k.all |= bit
            if c.comm != nil || !c.notComm.isEmpty || c.uid != nil || !c.notUid.isEmpty || !c.args.isEmpty { k.slow |= bit }
            switch c.compat {
            case true?: compatFail.0 |= bit
            case false?: compatFail.1 |= bit
            case nil: break
            }
            if let b = c.bits {
                bitsFail.0 |= bit  // an unknown word size equals neither
                if b == 32 { bitsFail.2 |= bit } else { bitsFail.1 |= bit }
            }
            if let types = c.control {
                if messageAtEntry { k.ctl_entry |= bit } else { k.ctl_exit |= bit }
                if types.contains(.rights) { k.ctl_rights |= bit }
                if types.contains(.credentials) { k.ctl_creds |= bit }
            }
            if let v = c.success { k.succ_need |= bit; if v { k.succ_ok |= bit } }
            if let v = c.changed { k.chg_need |= bit; if v { k.chg_yes |= bit } }
        }
        k.compat_fail = compatFail
        k.bits_fail = bitsFail
        k.exit_need = k.succ_need | k.chg_need | k.ctl_exit
    }

    static func wire(_ c: FilterClause, kind: EventKind, commBit: [String: UInt64], uidBit: [UInt32: UInt64]) -> mw_clause {
        var w = mw_clause()
        var need: Int32 = 0
        var want: Int32 = 0
        if let v = c.compat { need |= MW_C_COMPAT; if v { want |= MW_W_COMPAT } }
        if let v = c.bits { need |= MW_C_BITS; w.bits = v }
        if let v = c.success { need |= MW_C_SUCCESS; if v { want |= MW_W_SUCCESS } }
        if let v = c.changed { need |= MW_C_CHANGED; if v { want |= MW_W_CHANGED } }
        if let types = c.control {
            need |= MW_C_CONTROL
            var t: Int32 = 0
            if types.contains(.rights) { t |= MW_CTL_RIGHTS }
            if types.contains(.credentials) { t |= MW_CTL_CREDENTIALS }
            w.ctl = UInt8(t)
        }
        if let set = c.comm { need |= MW_C_COMM; w.comm_in = set.reduce(0) { $0 | (commBit[$1] ?? 0) } }
        if !c.notComm.isEmpty { need |= MW_C_NOT_COMM; w.comm_out = c.notComm.reduce(0) { $0 | (commBit[$1] ?? 0) } }
        if let set = c.uid { need |= MW_C_UID; w.uid_in = set.reduce(0) { $0 | (uidBit[$1] ?? 0) } }
        if !c.notUid.isEmpty { need |= MW_C_NOT_UID; w.uid_out = c.notUid.reduce(0) { $0 | (uidBit[$1] ?? 0) } }
        if !c.args.isEmpty {
            need |= MW_C_ARGS
            w.nargc = UInt8(c.args.count)
            withUnsafeMutableBytes(of: &w.argc) { conds in
                for (j, a) in c.args.enumerated() {
                    var ac = mw_argcond()
                    ac.arg = UInt8(a.index)
                    ac.type = ProbeConfig.wireType(kind.spec.args[a.index].type)
                    if let m = a.anyBits {
                        ac.mode = UInt8(MW_ARG_ANY_BITS)
                        ac.nvals = 1
                        withUnsafeMutableBytes(of: &ac.vals) { $0.storeBytes(of: m, toByteOffset: 0, as: Int64.self) }
                    } else {
                        ac.nvals = UInt8(a.ints.count)
                        withUnsafeMutableBytes(of: &ac.vals) { v in
                            for (n, x) in a.ints.sorted().enumerated() { v.storeBytes(of: x, toByteOffset: 8 * n, as: Int64.self) }
                        }
                    }
                    conds.storeBytes(of: ac, toByteOffset: j * MemoryLayout<mw_argcond>.stride, as: mw_argcond.self)
                }
            }
        }
        w.need = UInt32(need)
        w.want = UInt8(want)
        return w
    }
}
