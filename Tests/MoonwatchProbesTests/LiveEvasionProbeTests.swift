import Foundation
import MoonwatchCore
import MoonwatchProbes
import XCTest

/// The probe layer's blind spots an attacker can steer into (issue 8, probe classes), each against
/// the real probes: memory not resident at entry, the ABI seen from the code segment, exec
/// arguments rewritten while the kernel copies them.
final class LiveEvasionProbeTests: XCTestCase {
    func session(_ kinds: [String]) throws -> LiveSession {
        try LiveGate.check()
        var o = LiveOptions(kinds: Set(kinds.compactMap { Catalogue.kind(named: $0) }))
        o.comms = ["mw-trigger", "sh", "echo"]
        do { return try LiveSession(o) } catch { try LiveGate.check(error); throw error }
    }

    /// The textbook C reverse shell's last step: a fresh child execs string literals it never
    /// touched. The entry read fails; the event carries what the new image received, and says so.
    func testAFreshChildsExecOfUntouchedLiteralsIsReadFromTheNewImage() throws {
        let s = try session(["execve", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("cold-exec")
        XCTAssertEqual(run["status"], "7", "the exec'd shell ran")
        let child = Int32(try XCTUnwrap(run.int("child")))
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let exec = try XCTUnwrap(ev.first("execve") { $0.process.pid == child }, "\(ev.map(\.name))")
        XCTAssertEqual(exec.ret, 0)
        XCTAssertEqual(exec[arg: "pathname"], "/bin/sh")
        XCTAssertEqual(exec[arg: "argv"], ["sh", "-c", "exit 7"])
        XCTAssertEqual(Set(exec.lateNames), ["pathname", "argv"], "the entry reads failed and the values are the exit reads")
        XCTAssertEqual(exec.exitArg("argv"), nil, "a late value is the value, not an exit re-read to compare")
        XCTAssertEqual(exec.changed, 0)
        let program = try XCTUnwrap(exec[arg: "program"])
        let real = URL(fileURLWithPath: "/bin/sh").resolvingSymlinksInPath().path
        XCTAssertEqual(program["path"]?.string, real)
        var st = stat()
        XCTAssertEqual(stat(real, &st), 0)
        XCTAssertEqual(program["ino"]?.uint64, UInt64(st.st_ino), "the program's identity is the file's")
        XCTAssertEqual(program["dev"]?.uint64, UInt64(st.st_dev))
        XCTAssertEqual(program["deleted"], false)
        // The textbook form (literals in a fresh child): whichever read has them, the event does.
        let literal = Int32(try XCTUnwrap(run.int("literal_child")))
        let e2 = try XCTUnwrap(ev.first("execve") { $0.process.pid == literal })
        XCTAssertEqual(e2[arg: "pathname"], "/bin/sh")
        XCTAssertEqual(e2[arg: "argv"], ["sh", "-c", "exit 8"])
    }

    /// A fresh child connects to an address in a page it never touched.
    func testAFreshChildsConnectToAnUntouchedAddressIsReadAtExit() throws {
        let s = try session(["connect", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("cold-connect")
        XCTAssertEqual(run["bound"], "0", "the listener could bind port 1337")
        XCTAssertEqual(run["status"], "0")
        let child = Int32(try XCTUnwrap(run.int("child")))
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let connect = try XCTUnwrap(ev.first("connect") { $0.process.pid == child })
        XCTAssertEqual(connect.ret, 0)
        XCTAssertEqual(connect[arg: "addr"]?["port"], 1337)
        XCTAssertEqual(connect[arg: "addr"]?["addr"], "127.0.0.1")
        XCTAssertEqual(connect.lateNames, ["addr"])
    }

    /// A 64-bit program in the 32-bit code segment: compat call, but a 64-bit program.
    func testAFarJumpInto32BitCodeDoesNotMakeTheProgram32Bit() throws {
        let s = try session(["close", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("far32")
        XCTAssertEqual(run["far32_close"], "-9", "close(-1) through int $0x80 from the 32-bit segment: EBADF")
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let close = try XCTUnwrap(ev.first("close") { $0.process.pid == run.pid && $0.process.compat })
        XCTAssertEqual(close[arg: "fd"], -1)
        XCTAssertEqual(close.ret, -9)
        XCTAssertEqual(close.process.bits, 64, "the program's word size, not the code segment's")
        let findings = try bundledFindings(ev).filter { $0.signature.id == "MW-3001" }
        XCTAssertEqual(findings.count, 1, "a 64-bit program made a compat call")
    }

    /// One thread flips argv[1] while another execs. What the exec event says the new image got
    /// is what the program printed it got; when that differs from the entry read, `changed` says so.
    func testExecArgumentsRewrittenDuringTheCopyAreSeen() throws {
        let s = try session(["execve", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("exec-race", ["60"])
        let ev = s.collect(timeout: 15) { $0.name == "process_exit" && $0.process.pid == run.pid }
        // The trigger printed one line per try: child=PID received=VALUE.
        var byChild: [Int32: String] = [:]
        for line in run.lines where line.hasPrefix("try=") {
            let f = Dictionary(uniqueKeysWithValues: line.split(separator: " ").compactMap { p -> (String, String)? in
                let kv = p.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            })
            if let c = f["child"].flatMap({ Int32($0) }), let r = f["received"] { byChild[c] = r }
        }
        XCTAssertEqual(byChild.count, 60)
        var changed = 0
        for (child, got) in byChild {
            guard let exec = ev.first("execve", where: { $0.process.pid == child }) else {
                XCTFail("no execve event of child \(child)")
                continue
            }
            XCTAssertEqual(exec.ret, 0)
            let entry = exec[arg: "argv"]?[1]?.string, exit = exec.exitArg("argv")?[1]?.string
            XCTAssertEqual(exit, got, "the exit read is what the new program received")
            if entry != exit {
                changed += 1
                XCTAssertTrue(exec.changedNames.contains("argv"), "entry \(entry ?? "-") vs exit \(exit ?? "-")")
            } else {
                XCTAssertFalse(exec.changedNames.contains("argv"))
            }
        }
        print("exec-race: \(changed) of \(byChild.count) execs had argv rewritten during the copy")
    }
}
