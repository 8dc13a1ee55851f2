import Foundation
import MoonwatchCore
import XCTest

/// `run` as a daemon after it dropped its privileges: SIGHUP reads the configuration file again and
/// the enabled signatures change; SIGUSR1 reopens the findings file that logrotate moved (through
/// the opener helper: the run itself can no longer open a file for writing). Live: root and eBPF.
extension PrivilegeDropLiveTests {
    /// A packet socket: what MW-7001 reports for a program that is not a network tool (this one).
    func packetSocket() {
        let fd = socket(17 /* AF_PACKET */, Int32(SOCK_RAW.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0, "root can open a packet socket")
        close(fd)
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func waitFor(_ what: () -> Bool, seconds: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while !what() && Date() < end { usleep(50_000) }
        return what()
    }

    func testReloadAndReopenAfterThePrivilegeDrop() throws {
        try """
            return { id = "LIVE-CONN", version = "1.0.0", name = "conn", description = "live test", severity = "low",
              events = { "connect" },
              on_event = function(event, state) report{ message = "connect " .. event.time, dedup = tostring(event.time) } end }
            """.write(toFile: tmp + "/sigs/conn.lua", atomically: true, encoding: .utf8)
        let config = tmp + "/mw.yaml"
        let first = "signatures: [sigs]\nout: findings.json\ndisable: [MW-7001]\n"
        try first.write(toFile: config, atomically: true, encoding: .utf8)
        let p = try Spawned(["run", "--config", config, "--pid", String(getpid()), "--for", "90s"])
        defer { if p.process.isRunning { p.signal(SIGKILL) } }
        let dropped = waitFor({
            (try? String(contentsOfFile: "/proc/\(p.process.processIdentifier)/status", encoding: .utf8))?.contains("Seccomp:\t2") ?? false
        }, seconds: 30)
        guard dropped else {
            _ = p.wait(seconds: 5)
            if p.stderr.contains("not permitted") || p.stderr.contains("BTF") {
                if ProcessInfo.processInfo.environment["MOONWATCH_REQUIRE_LIVE"] == "1" { XCTFail(p.stderr) }
                throw XCTSkip("eBPF not permitted here: \(p.stderr)")
            }
            return XCTFail("run did not start and drop its privileges: \(p.stderr)")
        }
        let out = tmp + "/findings.json", rotated = tmp + "/findings.json.1"
        packetSocket()   // MW-7001 is disabled: no finding
        connectOnce()
        XCTAssertTrue(waitFor { self.text(out).contains("LIVE-CONN") }, "no finding before the rotation")

        // logrotate: move the file away, then SIGUSR1.
        XCTAssertEqual(rename(out, rotated), 0)
        p.signal(SIGUSR1)
        XCTAssertTrue(waitFor { FileManager.default.fileExists(atPath: out) }, "the findings file was not opened again")
        var st = stat()
        XCTAssertEqual(stat(out, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        // The configuration changes: MW-7001 is enabled again.
        try "signatures: [sigs]\nout: findings.json\n".write(toFile: config, atomically: true, encoding: .utf8)
        p.signal(SIGHUP)
        usleep(1_500_000)   // between batches; the reader wakes at least every poll
        packetSocket()
        connectOnce()
        XCTAssertTrue(waitFor { self.text(out).contains("MW-7001") && self.text(out).contains("LIVE-CONN") },
                      "no findings in the reopened file after the reload: \(text(out))")
        p.signal(SIGTERM)
        XCTAssertTrue(p.wait(seconds: 15))
        XCTAssertEqual(p.status, 0, p.stderr)
        let err = p.stderr
        XCTAssertTrue(err.contains("privileges dropped in"), err)
        XCTAssertTrue(err.contains("reopened \(tmp)/findings.json"), err)
        XCTAssertTrue(err.contains("reload: 0 reloaded, 0 added, 0 removed"), err)
        XCTAssertTrue(err.contains("(the enabled set changed)"), err)
        let before = text(rotated), after = text(out)
        XCTAssertFalse(before.contains("MW-7001"), "MW-7001 was disabled before the reload: \(before)")
        XCTAssertEqual(before.split(separator: "\n").count { $0.contains("LIVE-CONN") }, 1, before)
        XCTAssertTrue(after.split(separator: "\n").allSatisfy { !$0.isEmpty && (try? JSONParser.parse(String($0))) != nil }, after)
        // The opener helper ended with the run.
        XCTAssertTrue(waitFor({ !self.processes().contains("mw-opener") }, seconds: 5), "the opener helper is still running")
    }

    /// Names of running processes (comm).
    func processes() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { $0.allSatisfy(\.isNumber) }.compactMap {
            (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
