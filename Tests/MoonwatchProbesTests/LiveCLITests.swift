import Foundation
import MoonwatchCore
import MoonwatchProbes
import Synchronization
import XCTest

/// `moonwatch run` / `capture` as a user runs them, and the in-kernel scope filters.
final class LiveCLITests: XCTestCase {
    var tmp = ""

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "mw-live-\(getpid())-\(name.filter { $0.isLetter })"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: tmp)
    }

    /// Starts the binary with stdout and stderr going to files.
    func start(_ args: [String], prefix: [String] = [], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        if !env.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 } }
        p.executableURL = URL(fileURLWithPath: prefix.first ?? Paths.moonwatch)
        p.arguments = prefix.isEmpty ? args : Array(prefix.dropFirst()) + [Paths.moonwatch] + args
        p.currentDirectoryURL = URL(fileURLWithPath: Paths.root)
        _ = FileManager.default.createFile(atPath: tmp + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: tmp + "/stderr", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: tmp + "/stdout")
        p.standardError = FileHandle(forWritingAtPath: tmp + "/stderr")
        try p.run()
        return p
    }

    func text(_ file: String) -> String { (try? String(contentsOfFile: tmp + "/" + file, encoding: .utf8)) ?? "" }

    func waitFor(_ file: String, _ needle: String, timeout: Double = 20, process: Process? = nil) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if text(file).contains(needle) { return true }
            if let process, !process.isRunning { return text(file).contains(needle) }
            usleep(50_000)
        }
        return false
    }

    /// (signature id, message, event time) of each finding line.
    func findings(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let v = try JSONParser.parse(String(line))
            return "\(v["signature"]?["id"]?.string ?? "?") | \(v["message"]?.string ?? "") | \(v["event"]?["time"]?.uint64 ?? 0)"
        }.sorted()
    }

    func testRunFindsFdPassingAndItsCaptureReplaysToTheSameFindings() throws {
        try LiveGate.check()
        let live = tmp + "/live.jsonl", capture = tmp + "/capture.jsonl", replayed = tmp + "/replay.jsonl"
        let p = try start(["run", "--comm", "mw-trigger", "--capture", capture, "--out", live])
        guard waitFor("stderr", "probes attached", process: p) else {
            p.terminate()
            return XCTFail("moonwatch run did not start: \(text("stderr"))")
        }
        let pass = try Trigger.run("fdpass", ["/etc/hostname"])
        // The race is won in some runs only (how often depends on the machine's load): run it
        // again, a bounded number of times, until a change was seen.
        for _ in 0..<6 {
            _ = try Trigger.run("toctou-sendto", ["20000"])
            if waitFor("live.jsonl", "\"MW-2001\"", timeout: 1.5) { break }
        }
        _ = try Trigger.run("recvmmsg-compat")
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text("stderr"))
        XCTAssertTrue(text("stderr").contains("kernel drops: 0"), text("stderr"))

        let liveFindings = try findings(live)
        XCTAssertTrue(liveFindings.contains { $0.hasPrefix("MW-1001 | mw-trigger (pid \(pass.pid)) passed 1 file descriptor") }, "\(liveFindings.prefix(5))")
        XCTAssertTrue(liveFindings.contains { $0.hasPrefix("MW-2001 ") })
        XCTAssertTrue(liveFindings.contains { $0.hasPrefix("MW-3001 ") })
        let line = try XCTUnwrap(try String(contentsOfFile: live, encoding: .utf8).split(separator: "\n").first { $0.contains("\"MW-1001\"") })
        let f = try JSONParser.parse(String(line))
        XCTAssertEqual(f["data"]?["files"]?[0]?["path"], "/etc/hostname")
        XCTAssertEqual(f["data"]?["pid"]?.i, Int64(pass.pid))
        XCTAssertEqual(f["data"]?["comm"], "mw-trigger")

        let r = try start(["replay", capture, "--out", replayed])
        r.waitUntilExit()
        XCTAssertEqual(r.terminationStatus, 0, text("stderr"))
        XCTAssertEqual(try findings(replayed), liveFindings, "capture then replay gives the live findings")
    }

    func testCaptureStopsAfterDurationAndWritesReplayableLines() throws {
        try LiveGate.check()
        let out = tmp + "/cap.jsonl"
        // Stopped by --for long after the trigger (a loaded machine is slow to start programs).
        let p = try start(["capture", out, "--events", "socketpair,sendmsg,recvmsg", "--comm", "mw-trigger", "--for", "4s"])
        XCTAssertTrue(waitFor("stderr", "probes attached", process: p), text("stderr"))
        _ = try Trigger.run("fdpass", ["/etc/hostname"])
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text("stderr"))
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let names = try lines.map { try EventJSON.decode(try JSONParser.parse(String($0))).name }
        XCTAssertEqual(Set(names), ["socketpair", "sendmsg", "recvmsg"])
        XCTAssertTrue(text("stderr").contains("captured \(lines.count) events"), text("stderr"))
    }

    func testUnknownEventNameIsRejectedWithASuggestion() throws {
        let p = try start(["run", "--events", "sendmsgg,recvmsg"])
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(text("stderr").contains("did you mean sendmsg"), text("stderr"))
        let q = try start(["capture", "-", "--for", "soon"])
        q.waitUntilExit()
        XCTAssertNotEqual(q.terminationStatus, 0)
        XCTAssertTrue(text("stderr").contains("30s, 5m or 1h"), text("stderr"))
    }

    func testWithoutPrivilegesTheErrorSaysWhyAndPointsAtReplay() throws {
        var prefix: [String] = []
        if geteuid() == 0 {
            // Drop to nobody with no capabilities to see what an ordinary user sees.
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { try LiveGate.unavailable("setpriv not installed") }
            prefix = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
        }
        let p = try start(["run", "--for", "1s"], prefix: prefix)
        p.waitUntilExit()
        guard !text("stderr").contains("Permission denied") || text("stderr").contains("live capture") else {
            try LiveGate.unavailable("the unprivileged user cannot execute the build products here: \(text("stderr"))")
        }
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(text("stderr").contains("live capture needs root, or CAP_BPF and CAP_PERFMON"), text("stderr"))
        XCTAssertTrue(text("stderr").contains("moonwatch replay"), text("stderr"))
    }

    func testVerifierRejectionSavesTheLogAndSaysWhere() throws {
        try LiveGate.check()
        // The real program with one deliberately out-of-bounds read (MW_TEST_VERIFIER_REJECT).
        let clang = ProcessInfo.processInfo.environment["MOONWATCH_BPF_CLANG"] ?? "/opt/swift/usr/bin/clang"
        guard FileManager.default.isExecutableFile(atPath: clang) else { try LiveGate.unavailable("no clang at \(clang) to build the test object") }
        let obj = tmp + "/bad.bpf.o"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: clang)
        cc.arguments = ["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-mcpu=v3", "-DMW_TEST_VERIFIER_REJECT",
                        "-I", Paths.root + "/bpf", "-I", Paths.root + "/Sources/CMoonwatchWire/include",
                        "-idirafter", "/usr/include", "-idirafter", "/usr/include/x86_64-linux-gnu",
                        "-c", Paths.root + "/bpf/moonwatch.bpf.c", "-o", obj]
        try cc.run()
        cc.waitUntilExit()
        XCTAssertEqual(cc.terminationStatus, 0)
        let p = try start(["run", "--for", "1s"], env: ["MOONWATCH_BPF_OBJECT": obj, "TMPDIR": tmp])
        p.waitUntilExit()
        let err = text("stderr")
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(err.contains("the kernel's BPF verifier rejected program mw_sys_enter"), err)
        XCTAssertTrue(err.contains("invalid access to map value"), err)
        XCTAssertTrue(err.contains("moonwatch replay"), err)
        let log = "\(tmp)/moonwatch-\(p.processIdentifier).verifier.log"
        XCTAssertTrue(err.contains(log), err)
        let saved = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(saved.contains("== tp_btf programs: verifier log ==") && saved.contains("== raw_tp programs: verifier log =="), saved)
        XCTAssertTrue(saved.contains("invalid access to map value"), saved)
    }

    // MARK: - scope filters in the kernel (in process)

    func testPidScopeFollowsForkedChildrenAndNothingElse() throws {
        try LiveGate.check()
        var o = LiveOptions(kinds: Set(Catalogue.kinds))
        o.pids = [0x3fff_fff0]  // no such process: the scope starts empty, the trigger is added below
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        defer { s.stop() }
        let run = try Trigger.run("fdpass", ["/etc/hostname"]) { pid in try s.source.addToScope(pid: pid) }
        let child = Int32(try XCTUnwrap(run.int("child")))
        let ev = s.collect { $0.name == "process_exit" && $0.process.pid == run.pid && $0.process.tid == run.pid }
        XCTAssertNotNil(ev.first("sendmsg") { $0.process.pid == run.pid })
        XCTAssertNotNil(ev.first("recvmsg") { $0.process.pid == child }, "the child joined the scope at fork")
        XCTAssertEqual(Set(ev.map(\.process.pid)).subtracting([run.pid, child]), [], "nothing outside the scope")

        let other = try Trigger.run("socket-calls")
        let later = s.collect(timeout: 0.5) { _ in false }
        XCTAssertFalse(later.contains { $0.process.pid == other.pid }, "a process outside the scope")
    }

    func testUidScope() throws {
        try LiveGate.check()
        var o = LiveOptions(kinds: Set(Catalogue.kinds))
        o.uids = [65534]
        o.comms = ["mw-trigger"]
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        defer { s.stop() }
        let run = try Trigger.run("uffd-unpriv")
        let ev = s.collect { $0.name == "process_exit" && $0.process.pid == run.pid }
        XCTAssertNotNil(ev.first("userfaultfd"))
        XCTAssertEqual(Set(ev.map(\.process.uid)), [65534])
    }

    func testDropsAreCountedAndWarnedAbout() throws {
        try LiveGate.check()
        let warnings = Mutex<[String]>([])
        var o = LiveOptions(kinds: [Catalogue.kind(named: "sendto")!])
        o.comms = ["mw-trigger"]
        o.ringBytes = 4096  // room for a handful of records: a burst must overflow it
        o.warn = { w in warnings.withLock { $0.append(w) } }
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        let run = try Trigger.run("toctou-sendto", ["20000"])
        let got = s.collect(timeout: 1.5) { _ in false }.filter { $0.process.pid == run.pid }.count
        s.stop()
        let stats = s.source.stats
        XCTAssertGreaterThan(stats.kernelDrops, 0)
        XCTAssertEqual(UInt64(got) + stats.kernelDrops, 20000, "every call is either delivered or counted as dropped")
        XCTAssertEqual(stats.extra["kernel_ring_full"], stats.kernelDrops)
        XCTAssertTrue(warnings.withLock { $0.contains { $0.contains("the kernel dropped") } })
    }

    /// --watch reloads a changed file while events flow; a broken edit keeps the previous version.
    func testRunReloadsChangedSignaturesAndKeepsTheLastGoodOne() throws {
        try LiveGate.check()
        let dir = tmp + "/sigs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/opens.lua"
        func write(_ version: String, broken: Bool = false) throws {
            try """
                return {\(broken ? " oops" : "") id = "RELOAD-1", version = "1.0.0", name = "n", description = "d", severity = "low",
                  events = { "openat" }, filter = { comm = { "cat" } },
                  on_event = function(event, state) report{ message = "\(version) " .. (event.args.pathname or "") } end }
                """.write(toFile: file, atomically: true, encoding: .utf8)
        }
        func cat() throws {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/bin/cat")
            c.arguments = ["/etc/hostname"]
            c.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try c.run()
            c.waitUntilExit()
        }
        try write("first")
        let p = try start(["run", "--signatures", dir, "--watch", "--comm", "cat"])
        defer { if p.isRunning { p.interrupt(); p.waitUntilExit() } }
        XCTAssertTrue(waitFor("stderr", "probes attached", process: p), text("stderr"))
        try cat()
        XCTAssertTrue(waitFor("stdout", "first /etc/hostname", process: p), text("stdout"))
        try write("second")
        XCTAssertTrue(waitFor("stderr", "1 reloaded", process: p), text("stderr"))
        try cat()
        XCTAssertTrue(waitFor("stdout", "second /etc/hostname", process: p), text("stdout"))
        try write("third", broken: true)
        XCTAssertTrue(waitFor("stderr", "keeps running", process: p), text("stderr"))
        try cat()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, text("stdout").components(separatedBy: "second /etc/hostname").count < 3 { usleep(50_000) }
        XCTAssertEqual(text("stdout").components(separatedBy: "second /etc/hostname").count, 3, "the previous version still reports")
        XCTAssertFalse(text("stdout").contains("third"))
        p.interrupt()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text("stderr"))
    }
}
