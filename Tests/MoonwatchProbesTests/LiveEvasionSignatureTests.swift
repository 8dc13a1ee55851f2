import Foundation
import MoonwatchCore
import MoonwatchProbes
import XCTest

/// The signature classes of issue 8 against the real probes and the bundled signatures: each
/// variant an attacker would try (descriptor tricks, renamed shells, relays, fileless doors) ends
/// in a finding.
final class LiveEvasionSignatureTests: XCTestCase {
    func testReverseShellAndFilelessVariantsAreDetected() throws {
        try LiveGate.check()
        let kinds = ["socket", "connect", "accept", "accept4", "dup", "dup2", "dup3", "execve", "execveat",
                     "memfd_create", "process_fork", "process_exit"]
        var o = LiveOptions(kinds: Set(kinds.compactMap { Catalogue.kind(named: $0) }))
        o.comms = ["mw-trigger", "sh", "bash"]
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        defer { s.stop() }
        let run = try Trigger.run("shells")
        let ev = s.collect(timeout: 15) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let findings = try bundledFindings(ev)
        func hit(_ variant: String, _ id: String, severity: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
            guard let pid = run.int(variant).flatMap({ Int32(exactly: $0) }) else {
                XCTFail("the trigger did not run \(variant)", file: file, line: line)
                return
            }
            let f = findings.filter { $0.signature.id == id && $0.event?.process.pid == pid }
            XCTAssertFalse(f.isEmpty, "\(variant): no \(id) finding for pid \(pid); findings: \(findings.map { "\($0.signature.id) \($0.event?.process.pid ?? 0): \($0.message)" })",
                           file: file, line: line)
            if let severity, let first = f.first { XCTAssertEqual(first.severity.rawValue, severity, variant, file: file, line: line) }
        }
        hit("dup2", "MW-4001", severity: "high")
        hit("fcntl", "MW-4001", severity: "high")
        hit("passed", "MW-4001", severity: "high")
        hit("accept", "MW-4001", severity: "high")
        hit("devtcp", "MW-4001", severity: "high")
        hit("renamed", "MW-4001", severity: "high")
        hit("pty", "MW-4001", severity: "medium")
        hit("memfd-dup", "MW-4002", severity: "high")
        hit("shm", "MW-4002", severity: "high")
        hit("emptypath", "MW-4002", severity: "high")
    }
}

extension LiveEvasionSignatureTests {
    /// Injection and descriptor theft without ptrace (issue 8, classes 4 and 8): process_vm_writev
    /// natively and through int $0x80, /proc/PID/mem opened for writing, pidfd_getfd.
    func testInjectionWithoutPtraceIsDetected() throws {
        try LiveGate.check()
        let kinds = ["process_vm_writev", "open", "openat", "openat2", "pidfd_getfd", "process_exit"]
        var o = LiveOptions(kinds: Set(kinds.compactMap { Catalogue.kind(named: $0) }))
        o.comms = ["mw-trigger"]
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        defer { s.stop() }
        let vm = try Trigger.run("doors-vm")
        let mem = try Trigger.run("proc-mem")
        let pidfd = try Trigger.run("doors-pidfd")
        XCTAssertEqual(mem["child_saw_42"], "1", "the write through /proc/PID/mem reached the child")
        let ev = s.collect(timeout: 10) { $0.name == "process_exit" && $0.process.pid == pidfd.pid }
        let findings = try bundledFindings(ev)
        func of(_ id: String, _ pid: Int32) -> [Finding] { findings.filter { $0.signature.id == id && $0.event?.process.pid == pid } }
        let writes = of("MW-5003", vm.pid)
        XCTAssertEqual(Set(writes.compactMap { $0.event?.process.compat }), [false, true],
                       "process_vm_writev natively and through int $0x80: \(writes.map(\.message))")
        XCTAssertTrue(writes.allSatisfy { $0.data["target"]?.int64 == vm.int("child") }, "\(writes.map(\.message))")
        let opens = of("MW-5004", mem.pid)
        XCTAssertEqual(opens.count, 1, "\(findings.map(\.message))")
        XCTAssertEqual(opens.first?.data["target"]?.int64, mem.int("child"))
        XCTAssertFalse(of("MW-5005", pidfd.pid).isEmpty, "pidfd_getfd: \(findings.map(\.message))")
    }
}

/// The other side of issue 8: the benign workload (builds, compileall, tar, find, git, loopback
/// HTTP, process pools, strace, gdb) under `moonwatch run` with the bundled signatures gives no
/// finding at medium or above (tools/benign-workload.sh says which, if any).
final class LiveBenignWorkloadTests: XCTestCase {
    func testTheBenignWorkloadGivesNothingAtMediumOrAbove() throws {
        try LiveGate.check()
        for tool in ["gcc", "make", "git", "tar", "curl", "strace", "gdb", "python3"] {
            let which = Process()
            which.executableURL = URL(fileURLWithPath: "/bin/sh")
            which.arguments = ["-c", "command -v \(tool)"]
            which.standardOutput = FileHandle.nullDevice
            try which.run()
            which.waitUntilExit()
            if which.terminationStatus != 0 { throw XCTSkip("the benign workload needs \(tool), which this machine lacks") }
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [Paths.root + "/tools/benign-workload.sh", Paths.moonwatch]
        p.currentDirectoryURL = URL(fileURLWithPath: Paths.root)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        print(text)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("benign: findings by signature"), text)
    }
}
