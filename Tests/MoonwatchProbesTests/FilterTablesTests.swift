import CMoonwatchWire
import MoonwatchCore
@testable import MoonwatchProbes
import XCTest

/// The compilation of the signatures' interest into the kernel tables, without a kernel: what the
/// kernel is told must accept at least what the signatures accept (widening only), and the masks
/// must say what the clauses say.
final class FilterTablesTests: XCTestCase {
    /// A seeded generator, printed so that a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let comms = ["nc", "bash", "gdb", "runc", "a-very-long-name-here", "", "x\u{FFFD}y"]
    static let uids: [UInt32] = [0, 1000, 65534]
    static let kinds = ["sendmsg", "recvmsg", "socket", "ptrace", "openat", "process_exit"].map { Catalogue.kind(named: $0)! }

    static func randomClause(_ kind: EventKind, _ g: inout SplitMix) -> FilterClause {
        var c = FilterClause()
        func maybe() -> Bool { Int.random(in: 0..<3, using: &g) == 0 }
        if maybe() { c.compat = Bool.random(using: &g) }
        if maybe() { c.bits = Bool.random(using: &g) ? 64 : 32 }
        if maybe() { c.success = Bool.random(using: &g) }
        if maybe() { c.changed = Bool.random(using: &g) }
        if !kind.spec.messageArgs.isEmpty, maybe() {
            c.control = Set(FilterClause.ControlType.allCases.filter { _ in Bool.random(using: &g) })
            if c.control!.isEmpty { c.control = [.rights] }
        }
        if maybe() { c.comm = Set(comms.filter { _ in Bool.random(using: &g) }) }
        if maybe() { c.notComm = Set(comms.filter { _ in Bool.random(using: &g) }) }
        if maybe() { c.uid = Set(uids.filter { _ in Bool.random(using: &g) }) }
        if maybe() { c.notUid = Set(uids.filter { _ in Bool.random(using: &g) }) }
        for (i, a) in kind.spec.args.enumerated() where maybe() && i < 6 {
            let n = Int.random(in: 0...10, using: &g)
            var ints = Set<Int64>()
            for _ in 0..<n { ints.insert(Int64.random(in: -2...12, using: &g)) }
            let strs: Set<String> = a.type == .string && Bool.random(using: &g) ? ["/etc/shadow"] : []
            c.args.append(FilterClause.ArgCondition(index: i, ints: ints, strings: strs))
        }
        return c
    }

    static func randomEvent(_ kind: EventKind, _ g: inout SplitMix) -> Event {
        var p = ProcessContext()
        // what a decoded comm can be: at most 15 bytes (the last one a replacement for bytes that were not UTF-8)
        p.comm = comms.filter { $0.utf8.count <= 15 }.randomElement(using: &g)!
        p.uid = uids.randomElement(using: &g)!
        p.compat = Bool.random(using: &g)
        p.bits = [0, 32, 64].randomElement(using: &g)!
        var e = Event(kind: kind, ret: Int64.random(in: -3...3, using: &g), process: p)
        for (i, a) in kind.spec.args.enumerated() {
            switch a.type {
            case .int, .uint, .long, .ulong: e.args[i] = .int(Int64.random(in: -2...12, using: &g))
            case .pointer: e.args[i] = .unsigned(UInt64.random(in: 0...12, using: &g))
            case .string: e.args[i] = Bool.random(using: &g) ? .string("/etc/shadow") : .string("/tmp/x")
            case .msghdr:
                let types = ["SCM_RIGHTS", "SCM_CREDENTIALS"].filter { _ in Bool.random(using: &g) }
                e.args[i] = .object([("control", .array(types.map { .object([("type", .string($0))]) }))])
            default: break
            }
        }
        if !kind.spec.toctouArgs.isEmpty, Bool.random(using: &g) { e.changed = 1 << UInt64(kind.spec.toctouArgs[0]) }
        return e
    }

    /// Whatever any signature's clause accepts, some clause the kernel evaluates accepts (or
    /// the kind is captured whole): compilation only widens. Clauses are then evaluated by the
    /// kernel with the same semantics (KernelFilterTests checks that live).
    func testCompilationOnlyWidens() {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("FilterTablesTests seed \(seed)")
        var g = SplitMix(state: seed)
        var accepted = 0
        for round in 0..<150 {
            var interest = KernelInterest()
            var clauses: [(EventKind, FilterClause)] = []
            for _ in 0..<Int.random(in: 1...30, using: &g) {
                let k = Self.kinds.randomElement(using: &g)!
                let c = Self.randomClause(k, &g)
                clauses.append((k, c))
                interest.add(k, clause: c)
            }
            let tables = FilterTables(interest)
            for _ in 0..<60 {
                let k = Self.kinds.randomElement(using: &g)!
                let e = Self.randomEvent(k, &g)
                for (ck, c) in clauses where ck == k {
                    var f = EventFacts()
                    guard c.matches(e, facts: &f) else { continue }
                    accepted += 1
                    let mode = Self.mode(tables, k)
                    if mode == UInt8(MW_K_ALL) { continue }
                    XCTAssertEqual(mode, UInt8(MW_K_FILTER), "seed \(seed) round \(round): \(k.name) selected but off")
                    let kernel = tables.clauses[k] ?? []
                    XCTAssertTrue(kernel.contains { var f2 = EventFacts(); return $0.matches(e, facts: &f2) },
                                  "seed \(seed) round \(round): \(c) accepts \(e) but no kernel clause of \(k.name) does: \(kernel)")
                }
            }
            // Bounds the kernel relies on.
            let total = tables.clauses.values.reduce(0) { $0 + $1.count }
            XCTAssertLessThanOrEqual(total, Int(MW_MAX_CLAUSES))
            for (k, cs) in tables.clauses {
                XCTAssertLessThanOrEqual(cs.count, Int(MW_KIND_CLAUSES), k.name)
                for c in cs {
                    XCTAssertLessThanOrEqual(c.args.count, Int(MW_CLAUSE_ARGS))
                    XCTAssertTrue(c.args.allSatisfy { $0.ints.count <= Int(MW_ARG_VALUES) && !$0.ints.isEmpty })
                    XCTAssertTrue((c.comm ?? []).allSatisfy(FilterTables.encodableComm))
                }
            }
        }
        XCTAssertGreaterThan(accepted, 500, "the generator produces accepted events")
    }

    static func mode(_ t: FilterTables, _ k: EventKind) -> UInt8 {
        var image = t.image
        return withUnsafeBytes(of: &image.kinds) { $0.load(fromByteOffset: k.index * MemoryLayout<mw_kind_cfg>.stride, as: mw_kind_cfg.self).mode }
    }

    static func kindConfig(_ t: FilterTables, _ k: EventKind) -> mw_kind_cfg {
        var image = t.image
        return withUnsafeBytes(of: &image.kinds) { $0.load(fromByteOffset: k.index * MemoryLayout<mw_kind_cfg>.stride, as: mw_kind_cfg.self) }
    }

    func testFlagConditionsBecomeMasksOverTheClauses() {
        let sendmsg = Catalogue.kind(named: "sendmsg")!, recvmsg = Catalogue.kind(named: "recvmsg")!
        var a = FilterClause(); a.compat = true; a.bits = 64
        var b = FilterClause(); b.success = true; b.control = [.rights]
        var c = FilterClause(); c.changed = true
        var d = FilterClause(); d.changed = false; d.success = false; d.comm = ["nc"]
        var interest = KernelInterest()
        for x in [a, b, c, d] { interest.add(sendmsg, clause: x) }
        interest.add(recvmsg, clause: b)
        let t = FilterTables(interest)
        let k = Self.kindConfig(t, sendmsg)
        XCTAssertEqual(k.mode, UInt8(MW_K_FILTER))
        XCTAssertEqual(k.nclauses, 4)
        XCTAssertEqual(k.all, 0b1111)
        XCTAssertEqual(k.compat_fail.0, 0b0001, "a needs compat: fails for native calls")
        XCTAssertEqual(k.compat_fail.1, 0)
        XCTAssertEqual(k.bits_fail.0, 0b0001)
        XCTAssertEqual(k.bits_fail.1, 0b0001, "a needs 64 bits: fails for 32")
        XCTAssertEqual(k.bits_fail.2, 0)
        XCTAssertEqual(k.ctl_entry, 0b0010, "a send's message is read at entry")
        XCTAssertEqual(k.ctl_exit, 0)
        XCTAssertEqual(k.ctl_rights, 0b0010)
        XCTAssertEqual(k.succ_need, 0b1010)
        XCTAssertEqual(k.succ_ok, 0b0010)
        XCTAssertEqual(k.chg_need, 0b1100)
        XCTAssertEqual(k.chg_yes, 0b0100)
        XCTAssertEqual(k.slow, 0b1000, "only d has a comm condition")
        XCTAssertEqual(k.exit_need, 0b1110)
        let r = Self.kindConfig(t, recvmsg)
        XCTAssertEqual(r.ctl_exit, 0b1, "a receive's control comes back at exit")
        XCTAssertEqual(r.ctl_entry, 0)
        XCTAssertEqual(r.exit_need, 0b1)
        XCTAssertEqual(t.image.ncomms, 1)
    }

    func testWhatTheKernelCannotSeeIsWidenedAndSaid() {
        let openat = Catalogue.kind(named: "openat")!, socket = Catalogue.kind(named: "socket")!
        var paths = FilterClause()
        paths.args = [FilterClause.ArgCondition(index: openat.spec.argIndex("pathname")!, strings: ["/etc/shadow"])]
        var many = FilterClause()
        many.args = [FilterClause.ArgCondition(index: socket.spec.argIndex("domain")!, ints: Set((1...9).map(Int64.init)))]
        var interest = KernelInterest()
        interest.add(openat, clause: paths)
        interest.add(socket, clause: many)
        let t = FilterTables(interest)
        XCTAssertEqual(Self.mode(t, openat), UInt8(MW_K_ALL), "a string condition is checked in user space: the kind comes whole")
        XCTAssertEqual(Self.mode(t, socket), UInt8(MW_K_ALL), "more values than a condition holds")
        XCTAssertTrue(t.notes.contains { $0.contains("openat") && $0.contains("pathname") }, "\(t.notes)")
        XCTAssertTrue(t.notes.contains { $0.contains("socket") && $0.contains("domain") }, "\(t.notes)")
        // An integer condition on a register argument with no integer can never hold: nothing leaves.
        var never = FilterClause()
        never.args = [FilterClause.ArgCondition(index: socket.spec.argIndex("domain")!, strings: ["AF_INET"])]
        let n = FilterTables(KernelInterest(kinds: [socket: .matching([never])]))
        XCTAssertEqual(Self.mode(n, socket), UInt8(MW_K_FILTER))
        XCTAssertEqual(Self.kindConfig(n, socket).nclauses, 0)
    }

    func testTooManyFiltersForAKindAreMergedKeepingTheMostConditions() {
        let socket = Catalogue.kind(named: "socket")!
        var interest = KernelInterest()
        for d in 1...10 {
            var c = FilterClause()
            c.success = true
            c.args = [FilterClause.ArgCondition(index: 0, ints: [Int64(d)])]
            interest.add(socket, clause: c)
        }
        let t = FilterTables(interest)
        let cs = t.clauses[socket]!
        XCTAssertEqual(cs.count, Int(MW_KIND_CLAUSES))
        XCTAssertTrue(cs.allSatisfy { $0.success == true }, "success is common to all: merging keeps it")
        XCTAssertEqual(Set(cs.flatMap { $0.args.flatMap(\.ints) }), Set((1...10).map(Int64.init)), "no domain is lost")
        XCTAssertTrue(t.notes.contains { $0.contains("merged") })
    }

    func testTheCatalogueFitsTheKernelTables() {
        XCTAssertLessThanOrEqual(Catalogue.count, Int(MW_MAX_KINDS))
        for k in Catalogue.kinds { XCTAssertLessThanOrEqual(k.spec.messageArgs.count, 1, "\(k.name): one message argument at most (msg_arg)") }
    }
}

final class FilterClauseTests: XCTestCase {
    /// union(a, b) accepts everything a or b accepts.
    func testUnionAcceptsWhatEitherAccepts() {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("FilterClauseTests seed \(seed)")
        var g = FilterTablesTests.SplitMix(state: seed)
        var hits = 0
        for _ in 0..<3000 {
            let k = FilterTablesTests.kinds.randomElement(using: &g)!
            let a = FilterTablesTests.randomClause(k, &g), b = FilterTablesTests.randomClause(k, &g)
            let u = a.union(b)
            for _ in 0..<10 {
                let e = FilterTablesTests.randomEvent(k, &g)
                var f1 = EventFacts(), f2 = EventFacts(), f3 = EventFacts()
                if a.matches(e, facts: &f1) || b.matches(e, facts: &f2) {
                    hits += 1
                    XCTAssertTrue(u.matches(e, facts: &f3), "seed \(seed): \(a) ∪ \(b) = \(u) rejects \(e)")
                }
            }
        }
        XCTAssertGreaterThan(hits, 1000)
    }
}
