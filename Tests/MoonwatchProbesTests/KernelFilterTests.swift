import Foundation
import MoonwatchCore
import MoonwatchEngine
import CMoonwatchWire
@testable import MoonwatchProbes
import MoonwatchSignatures
import Synchronization
import XCTest

/// The kernel filter against the user-space filter, on the real programs: whatever a signature's
/// filter accepts must have left the kernel.
final class KernelFilterTests: XCTestCase {
    /// Filters that together use every condition of the vocabulary, each one differing from a
    /// matrix call by one fact; nine socket filters on top force the kernel to merge clauses.
    static let filters: [(events: String, filter: String)] = [
        ("\"sendmsg\", \"recvmsg\"", "success = false"),
        ("\"sendmsg\"", "control = \"SCM_CREDENTIALS\", changed = false"),
        ("\"recvmsg\", \"recvmmsg\"", "control = { \"SCM_RIGHTS\", \"SCM_CREDENTIALS\" }, success = true"),
        ("\"socket\"", "args = { domain = { 10, 17 }, type = { 2, 3, 524290 } }"),
        ("\"ptrace\"", "comm = \"gdb\", success = false"),
        ("\"ptrace\"", "args = { request = 0 }"),
        ("\"userfaultfd\", \"socket\"", "uid = 65534"),
        ("\"socket\"", "not_uid = 0, not_comm = { \"nothing\" }"),
        ("\"sendmsg\"", "changed = true, success = true"),
        ("\"sendmsg\"", "changed = false, success = true, compat = false"),
        ("\"process_fork\", \"process_exit\"", "comm = { \"runc\" }"),
        ("\"process_exit\"", "comm = { \"mw-nobody\" }, uid = 65534"),
        ("\"sendmsg\"", "compat = true, bits = 64, control = \"SCM_RIGHTS\""),
        ("\"sendmsg\"", "compat = false, control = \"SCM_RIGHTS\", success = false"),
        ("\"sendmsg\"", "compat = true, success = true"),
        ("\"socket\"", "args = { type = { any_bits = 524288 } }"),   // SOCK_CLOEXEC set
    ] + (1...9).map { ("\"socket\"", "args = { domain = \($0) }, success = true") }

    static func signatures() throws -> [Signature] {
        var sigs = try Signature.loadAll(SignatureLoader.bundledSources)
        for (i, f) in filters.enumerated() {
            let text = """
                return { id = "KF-\(i)", version = "1.0.0", name = "kernel filter case \(i)", description = "d",
                  severity = "info", events = { \(f.events) }, filter = { \(f.filter) },
                  on_event = function(event, state) end }
                """
            sigs.append(try Signature(source: SignatureSource(path: "kf\(i).lua", text: text)))
        }
        return sigs
    }

    /// One call, as both probe sets decode it (time and the exe cache aside).
    static func key(_ e: Event) -> String {
        let args = e.args.map { $0?.jsonText ?? "-" }.joined(separator: ",")
        let exit = e.exitArgs.map { $0?.jsonText ?? "-" }.joined(separator: ",")
        return "\(e.name) tid=\(e.process.tid) ret=\(e.ret) uid=\(e.process.uid) comm=\(e.process.comm) "
            + "compat=\(e.process.compat) bits=\(e.process.bits) changed=\(e.changed) [\(args)] [\(exit)]"
    }

    static func counts(_ events: [Event]) -> [String: Int] {
        var c: [String: Int] = [:]
        for e in events { c[key(e), default: 0] += 1 }
        return c
    }

    func testWhatAnySignatureAcceptsAlwaysLeavesTheKernel() throws {
        try LiveGate.check()
        let sigs = try Self.signatures()
        let interest = KernelInterest(signatures: sigs)
        // Both probe sets see the same calls: one keeps all of them, one only what the signatures
        // could accept. Scope: the trigger, put in scope before it starts, and its children. (The
        // scope needs a pid to start with; this process is never traced, so it adds nothing.)
        var everything = LiveOptions(interest: .everything(Set(interest.kinds.keys)))
        everything.pids = [getpid()]
        var filtered = LiveOptions(interest: interest)
        filtered.pids = [getpid()]
        // Per record, the kind's clauses the kernel still held when it accepted it.
        let decisions = Mutex<[(kind: UInt16, tid: UInt32, clauses: UInt8)]>([])
        filtered.recordObserver = { raw in
            let h = raw.loadUnaligned(as: mw_event_hdr.self)
            decisions.withLock { $0.append((h.kind, h.tid, h.clauses)) }
        }
        let full: LiveSession, kernel: LiveSession
        do {
            full = try LiveSession(everything)
            kernel = try LiveSession(filtered)
        } catch { try LiveGate.check(error); throw error }
        defer { full.stop(); kernel.stop() }

        let run = try Trigger.run("filter-matrix") { pid in
            try full.source.addToScope(pid: pid)
            try kernel.source.addToScope(pid: pid)
        }
        XCTAssertEqual(run.status, 0)
        func done(_ e: Event) -> Bool { e.name == "process_exit" && e.process.pid == run.pid && e.process.tid == run.pid }
        let all = full.collect(timeout: 10, until: done).filter { $0.process.pid == run.pid || $0.process.ppid == run.pid }
        let kept = kernel.collect(timeout: 10, until: done).filter { $0.process.pid == run.pid || $0.process.ppid == run.pid }

        // The matrix did what it says (so that nothing below passes vacuously).
        XCTAssertEqual(run.int("changed_send_0"), 17)
        XCTAssertGreaterThanOrEqual(all.named("sendmsg").filter { $0.changed != 0 }.count, 2, "deterministic TOCTOU changes")
        XCTAssertTrue(all.contains { $0.name == "recvmsg" && $0.ret > 0 && Self.hasControl($0, "SCM_RIGHTS") })
        XCTAssertTrue(all.contains { $0.name == "recvmsg" && $0.ret > 0 && Self.hasControl($0, "SCM_CREDENTIALS") })
        XCTAssertTrue(all.contains { $0.name == "sendmsg" && $0.process.compat })
        XCTAssertTrue(all.contains { $0.name == "userfaultfd" && $0.process.uid == 65534 })
        XCTAssertTrue(all.contains { $0.name == "ptrace" && $0.process.comm == "gdb" })

        func accepts(_ s: Signature, _ e: Event) -> Bool {
            var f = EventFacts()
            return s.events.contains(e.kind) && s.filter.matches(e, facts: &f)
        }
        var accepted = 0
        for s in sigs {
            let want = all.filter { accepts(s, $0) }
            let got = kept.filter { accepts(s, $0) }
            accepted += want.count
            XCTAssertEqual(Self.counts(got), Self.counts(want), "\(s.info.id) (\(s.path)): what its filter accepts must all leave the kernel")
        }
        XCTAssertGreaterThan(accepted, 30, "the filters accept a good part of the matrix")

        // Clause by clause, so that one clause letting an event through cannot hide another's
        // wrong decision: every kernel clause that accepts an event in user space was still held
        // by the kernel when it accepted the record.
        let tables = FilterTables(interest)
        let d = decisions.withLock { $0 }
        let mine = zip(kernel.delivered, d).filter { $0.0.process.pid == run.pid || $0.0.process.ppid == run.pid }
        XCTAssertEqual(kernel.delivered.count, d.count, "one decision per delivered event")
        var checked = 0
        for (e, dec) in mine {
            XCTAssertEqual(UInt16(e.kind.rawValue), dec.kind)
            guard let clauses = tables.clauses[e.kind] else { continue }  // captured whole
            for (i, c) in clauses.enumerated() {
                var f = EventFacts()
                if c.matches(e, facts: &f) {
                    checked += 1
                    XCTAssertNotEqual(dec.clauses & (1 << UInt8(i)), 0, "\(Self.key(e)): kernel clause \(i) of \(e.name) (\(c)) matches in user space but the kernel refuted it")
                }
            }
        }
        XCTAssertGreaterThan(checked, 20)
        // Nothing the kernel kept is made up, and it kept less than everything.
        let allCounts = Self.counts(all)
        for (k, n) in Self.counts(kept) { XCTAssertLessThanOrEqual(n, allCounts[k] ?? 0, "kept but never happened: \(k)") }
        XCTAssertLessThan(kept.count, all.count)
        // Precision: with nothing racing, bytes that differ are values that differ, so the kernel
        // keeps nothing no signature accepts.
        for e in kept where !sigs.contains(where: { accepts($0, e) }) {
            XCTFail("the kernel kept a call no signature accepts: \(Self.key(e))")
        }
        XCTAssertTrue(all.contains { $0.name == "sendmsg" && $0.ret == 0 } && all.contains { $0.name == "recvmsg" && $0.ret == 0 },
                      "success with a result of 0")
        // And the kernel's counters agree with what arrived.
        let c = kernel.source.kernelCounters()
        XCTAssertEqual(c.drops, 0)
        for (kind, k) in c.kinds {
            XCTAssertEqual(k.seen, k.filtered + k.submitted + k.dropped, "\(kind.name): every call seen is filtered, submitted or dropped")
        }
    }

    static func hasControl(_ e: Event, _ type: String) -> Bool {
        guard case .array(let cs)? = e[arg: "msg"]?["control"] else { return false }
        return cs.contains { $0["type"] == .string(type) }
    }

    /// The scenario: a flood of ordinary socket calls cannot hide a descriptor pass.
    func testAFloodOfOrdinaryCallsDoesNotHideAPassOfEtcShadow() throws {
        try LiveGate.check()
        let out = NSTemporaryDirectory() + "mw-flood-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let run = Process()
        run.executableURL = URL(fileURLWithPath: Paths.moonwatch)
        run.arguments = ["run", "--stats", "--out", out, "--output", "json"]
        let err = Pipe()
        run.standardError = err
        let stderrText = Mutex("")
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            stderrText.withLock { $0 += String(decoding: d, as: UTF8.self) }
        }
        try run.run()
        let start = Date()
        while !stderrText.withLock({ $0.contains("probes attached") }), Date().timeIntervalSince(start) < 30 { usleep(50_000) }
        XCTAssertTrue(stderrText.withLock { $0.contains("probes attached") }, stderrText.withLock { $0 })

        // Two flooders at full speed, and a pass of /etc/shadow while they run.
        let floods = (0..<2).map { _ -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Paths.trigger)
            p.arguments = ["flood", "400000"]
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            return p
        }
        for f in floods { try f.run() }
        usleep(300_000)
        let pass = try Trigger.run("pass-shadow")
        XCTAssertEqual(pass["child_status"], "0")
        for f in floods { f.waitUntilExit() }
        run.interrupt()
        run.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        let text = stderrText.withLock { $0 } + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(run.terminationStatus, 0, text)

        let findings = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        let shadow = findings.filter {
            $0["signature"]?["id"] == "MW-1002" && ($0["event"]?["process"]?["pid"]?.i == Int64(pass.pid))
        }
        XCTAssertEqual(shadow.count, 1, "the pass of /etc/shadow is reported: \(findings.prefix(3))")
        XCTAssertTrue(shadow.first?["message"]?.string?.contains("/etc/shadow") ?? false)

        let statsLine = try XCTUnwrap(text.split(separator: "\n").last { $0.hasPrefix("{") }, text)
        let stats = try JSONParser.parse(String(statsLine))
        XCTAssertEqual(stats["source"]?["kernel_drops"]?.i, 0, "nothing dropped")
        let sm = try XCTUnwrap(stats["source"]?["kernel"]?["sendmsg"]), rm = try XCTUnwrap(stats["source"]?["kernel"]?["recvmsg"])
        let seen = (sm["seen"]?.i ?? 0) + (rm["seen"]?.i ?? 0)
        let submitted = (sm["submitted"]?.i ?? 0) + (rm["submitted"]?.i ?? 0)
        XCTAssertGreaterThanOrEqual(seen, 1_600_000, "both floods were seen")
        XCTAssertLessThanOrEqual(submitted * 100, seen, "at most 1% of the flood reaches user space (\(submitted) of \(seen))")
    }

    /// A reload that selects a kind nothing selected before makes the kernel capture it.
    func testAReloadAddsAKindToTheKernel() throws {
        try LiveGate.check()
        let dir = NSTemporaryDirectory() + "mw-reload-kind-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/findings.jsonl"
        func sig(_ id: String, _ events: String) -> String {
            """
            return { id = "\(id)", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { \(events) }, filter = { comm = { "mw-trigger" } },
              on_event = function(event, state) report{ message = event.name } end }
            """
        }
        try sig("RK-1", "\"socket\"").write(toFile: dir + "/a.lua", atomically: true, encoding: .utf8)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: Paths.moonwatch)
        run.arguments = ["run", "--signatures", dir + "/a.lua", "--signatures", dir + "/more", "--out", out, "--output", "json"]
        try FileManager.default.createDirectory(atPath: dir + "/more", withIntermediateDirectories: true)
        let err = Pipe()
        run.standardError = err
        let stderrText = Mutex("")
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            stderrText.withLock { $0 += String(decoding: d, as: UTF8.self) }
        }
        try run.run()
        defer { if run.isRunning { run.terminate() } }
        func wait(for s: String) -> Bool {
            let start = Date()
            while !stderrText.withLock({ $0.contains(s) }), Date().timeIntervalSince(start) < 30 { usleep(50_000) }
            return stderrText.withLock { $0.contains(s) }
        }
        XCTAssertTrue(wait(for: "probes attached"), stderrText.withLock { $0 })
        XCTAssertFalse(stderrText.withLock { $0.contains("ptrace") }, "ptrace is not captured yet")
        _ = try Trigger.run("ptrace")
        try sig("RK-2", "\"ptrace\"").write(toFile: dir + "/more/b.lua", atomically: true, encoding: .utf8)
        kill(run.processIdentifier, SIGHUP)
        XCTAssertTrue(wait(for: "the probes now capture"), stderrText.withLock { $0 })
        let t = try Trigger.run("ptrace")
        usleep(500_000)
        run.interrupt()
        run.waitUntilExit()
        let findings = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        let ptraces = findings.filter { $0["signature"]?["id"] == "RK-2" }
        XCTAssertFalse(ptraces.isEmpty, "the reloaded signature's kind is captured: \(stderrText.withLock { $0 })")
        XCTAssertTrue(ptraces.allSatisfy { [Int64(t.pid), t.int("child")].contains($0["event"]?["process"]?["pid"]?.i) },
                      "only calls after the reload")
    }

    /// Drops are reported while they happen, not after the flood: the first warning within 2 s,
    /// and again while they go on; per kind in the counters.
    func testDropWarningsComeWhileTheFloodGoesOn() throws {
        try LiveGate.check()
        let warnings = Mutex<[(Date, String)]>([])
        var o = LiveOptions(kinds: [Catalogue.kind(named: "sendmsg")!, Catalogue.kind(named: "recvmsg")!])
        o.comms = ["mw-trigger"]
        o.ringBytes = 4096  // room for a handful of records
        o.warn = { w in warnings.withLock { $0.append((Date(), w)) } }
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        // Nobody reads the events: the reader's queue fills, then the ring, then the kernel drops.
        let flood = Process()
        flood.executableURL = URL(fileURLWithPath: Paths.trigger)
        flood.arguments = ["flood", "100000000"]
        flood.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let start = Date()
        try flood.run()
        var lastCheck = Date()
        while Date().timeIntervalSince(start) < 4.5, warnings.withLock({ $0.count }) < 3 {
            usleep(100_000)
            lastCheck = Date()
        }
        _ = lastCheck
        flood.terminate()
        flood.waitUntilExit()
        let w = warnings.withLock { $0 }
        XCTAssertGreaterThanOrEqual(w.count, 2, "warnings repeat while drops go on: \(w.map(\.1))")
        if let first = w.first {
            XCTAssertLessThan(first.0.timeIntervalSince(start), 2.5, "the first warning comes within 2 s of the flood")
            XCTAssertTrue(first.1.contains("sendmsg") || first.1.contains("recvmsg"), first.1)
        }
        let c = s.source.kernelCounters()
        s.stop()
        XCTAssertGreaterThan(c.drops, 0)
        let k = try XCTUnwrap(c.kinds[Catalogue.kind(named: "sendmsg")!])
        XCTAssertGreaterThan(k.dropped, 0)
        XCTAssertEqual(c.kinds.values.reduce(0) { $0 + $1.dropped }, c.dropRing + c.dropStorage + c.lostExit)
    }
}
