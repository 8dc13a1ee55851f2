import Foundation
import MoonwatchCore
import XCTest

/// `moonwatch run` after attach: no capabilities, no_new_privs, seccomp in every thread, and a run
/// that keeps working (events, kernel counters, SIGHUP reload) and stops on Ctrl-C even with a
/// signature stuck inside C (9.10, 9.1). Live: needs root and eBPF.
final class PrivilegeDropLiveTests: XCTestCase {
    var tmp = ""

    override func setUpWithError() throws {
        let required = ProcessInfo.processInfo.environment["MOONWATCH_REQUIRE_LIVE"] == "1"
        if geteuid() != 0 {
            if required { XCTFail("live test needs root (MOONWATCH_REQUIRE_LIVE=1)") }
            throw XCTSkip("live test: not root, eBPF is not permitted")
        }
        tmp = NSTemporaryDirectory() + "mw-priv-\(getpid())-\(name.filter { $0.isLetter })"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp + "/sigs", withIntermediateDirectories: true)
    }

    override func tearDown() { if !tmp.isEmpty { try? FileManager.default.removeItem(atPath: tmp) } }

    func signature(_ id: String, message: String, body: String = "", events: String = "\"connect\"") -> String {
        """
        return {
          id = "\(id)", version = "1.0.0", name = "\(id)", description = "live test", severity = "low",
          events = { \(events) },
          on_event = function(event, state)
            \(body)
            if event.process.pid == \(getpid()) then report{ message = "\(message) " .. event.name } end
          end,
        }
        """
    }

    /// A connect(2) from this process to a closed local port.
    func connectOnce() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(9).bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        close(fd)
    }

    /// Starts `run`; returns nil (and skips) when this machine cannot load the probes.
    func startRun(_ extra: [String] = []) throws -> Spawned {
        let p = try Spawned(["run", "--signatures", tmp + "/sigs", "--for", "60s", "--stats"] + extra)
        for _ in 0..<300 where p.process.isRunning {   // up to 30 s for the probes to attach and the drop
            if let text = try? String(contentsOfFile: "/proc/\(p.process.processIdentifier)/status", encoding: .utf8),
               text.contains("Seccomp:\t2") { return p }
            usleep(100_000)
        }
        _ = p.wait(seconds: 5)
        if p.stderr.contains("not permitted") || p.stderr.contains("BTF") {
            if ProcessInfo.processInfo.environment["MOONWATCH_REQUIRE_LIVE"] == "1" { XCTFail(p.stderr) }
            throw XCTSkip("eBPF not permitted here: \(p.stderr)")
        }
        XCTFail("run did not drop its privileges: \(p.stderr)")
        throw XCTSkip("run did not start")
    }

    func statusLines(_ pid: Int32) -> [[String: String]] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { tid in
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8) else { return nil }
            var d: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { d[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            return d
        }
    }

    func testRunDropsEverythingInEveryThreadAndKeepsWorkingAndReloading() throws {
        let sig = tmp + "/sigs/conn.lua"
        try signature("LIVE-CONN", message: "before reload").write(toFile: sig, atomically: false, encoding: .utf8)
        let p = try startRun()
        let threads = statusLines(p.process.processIdentifier)
        XCTAssertGreaterThanOrEqual(threads.count, 2, "the ring reader and the watchdog run beside the main thread")
        for t in threads {
            for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                XCTAssertEqual(t[key], "0000000000000000", "\(t["Pid"] ?? "?") \(key)")
            }
            XCTAssertEqual(t["NoNewPrivs"], "1")
            XCTAssertEqual(t["Seccomp"], "2")
        }
        connectOnce()
        usleep(500_000)
        // The reloaded version also selects socket(2): the kernel filter tables change after the drop.
        try signature("LIVE-CONN", message: "after reload", events: "\"connect\", \"socket\"")
            .write(toFile: sig, atomically: false, encoding: .utf8)
        p.signal(SIGHUP)
        usleep(1_500_000)   // the reload happens between batches; the reader wakes at least every poll
        connectOnce()
        usleep(1_500_000)
        p.signal(SIGINT)
        XCTAssertTrue(p.wait(seconds: 10))
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stderr.contains("privileges dropped in"), p.stderr)
        XCTAssertTrue(p.stderr.contains("reload: 1 reloaded"), p.stderr)
        XCTAssertTrue(p.stdout.contains("\"before reload connect\""), p.stdout)
        XCTAssertTrue(p.stdout.contains("\"after reload connect\""), "no finding after the reload: \(p.stdout.prefix(2000))")
        XCTAssertTrue(p.stdout.contains("\"after reload socket\""), "the kind added by the reload is not captured: \(p.stderr)")
        let stats = try JSONParser.parse(String(p.stderr.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        XCTAssertEqual(stats["source"]?["extra"]?["live"], 1)
        XCTAssertNotNil(stats["source"]?["kernel_drops"], "kernel counters are read after the drop")
    }

    func testCtrlCEndsARunWhileASignatureIsStuckInsideC() throws {
        try signature("LIVE-STUCK", message: "never", body: """
            if event.process.pid == \(getpid()) then
              local s = string.rep('a', 40)
              s:find(string.rep('a?', 40) .. string.rep('a', 40))
            end
            """).write(toFile: tmp + "/sigs/stuck.lua", atomically: false, encoding: .utf8)
        let p = try startRun(["--call-timeout", "3600000"])
        connectOnce()
        usleep(1_500_000)
        let sent = Date()
        p.signal(SIGINT)
        XCTAssertTrue(p.wait(seconds: 3), "run did not end within 3 s of SIGINT")
        print("run ended \(String(format: "%.2f", Date().timeIntervalSince(sent))) s after SIGINT with a stuck signature")
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stderr.contains("LIVE-STUCK") && p.stderr.contains("shutdown"), p.stderr)
    }
}
