import Foundation
import CMoonwatchWire
import MoonwatchCore
import MoonwatchProbes
import XCTest

/// The probes' size caps as hiding places (issue 8, class 2), against the real probes: control data
/// past the copy, descriptors past what is resolved, a descriptor in a vector's ninth entry, long
/// argument vectors and paths. Caps stay; the fact a detection needs does not get lost.
final class LiveCapsProbeTests: XCTestCase {
    func session(_ kinds: [String]) throws -> LiveSession {
        try LiveGate.check()
        var o = LiveOptions(kinds: Set(kinds.compactMap { Catalogue.kind(named: $0) }))
        o.comms = ["mw-trigger", "true", "x1", "x2", "x"]
        do { return try LiveSession(o) } catch { try LiveGate.check(error); throw error }
    }

    func secretFile() throws -> (path: String, st: stat) {
        let path = NSTemporaryDirectory() + "mw-caps-secret-\(getpid())"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("s".utf8)))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        return (path, st)
    }

    /// Every file value the event names, wherever in its messages.
    func passedFiles(_ e: Event) -> [Value] {
        var out: [Value] = []
        func walk(_ msg: Value?) {
            for c in msg?["control"]?.array ?? [] { out += c["files"]?.array ?? [] }
        }
        walk(e[arg: "msg"])
        for m in e[arg: "msgvec"]?.array ?? [] { walk(m["msg"]) }
        return out
    }

    /// SCM_RIGHTS after 640 and after 16 KiB of other control messages: found past the copy,
    /// counted, resolved, and the message says it was cut.
    func testRightsPastTheCopiedControlAreFoundAndResolved() throws {
        let (path, st) = try secretFile()
        let s = try session(["sendmsg", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("caps-control", [path])
        XCTAssertEqual(run["send40"], "1")
        XCTAssertEqual(run["send1000"], "1")
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let sends = ev.filter { $0.name == "sendmsg" && $0.process.pid == run.pid }
        XCTAssertEqual(sends.count, 2, "\(ev.map(\.name))")
        for send in sends {
            let msg = try XCTUnwrap(send[arg: "msg"])
            let controls = try XCTUnwrap(msg["control"]?.array)
            let beyond = try XCTUnwrap(controls.first { $0["beyond"] == true && $0["type"] == "SCM_RIGHTS" },
                                       "the SCM_RIGHTS message past the copy is named: \(controls.suffix(2))")
            let files = try XCTUnwrap(beyond["files"]?.array)
            XCTAssertEqual(files.count, 1)
            XCTAssertEqual(files.first?["path"]?.string, path)
            XCTAssertEqual(files.first?["ino"]?.uint64, UInt64(st.st_ino))
            XCTAssertEqual(msg["rights"], 1, "the descriptor is counted though none is listed in the copy")
            XCTAssertTrue(send.truncatedNames.contains("msg"))
            XCTAssertEqual(passedFiles(send).compactMap { $0["path"]?.string }, [path])
        }
        // The bundled detection sees the pass of a file whatever came before it.
        let f = try bundledFindings(ev).filter { $0.signature.id == "MW-1001" && $0.event?.process.pid == run.pid }
        XCTAssertEqual(f.count, 2)
    }

    /// 100 descriptors in one message: all counted, the first 64 resolved, the cut said.
    func testManyDescriptorsAreCountedAndTheCutIsSaid() throws {
        let (path, _) = try secretFile()
        let s = try session(["sendmsg", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("caps-fds", [path, "100"])
        XCTAssertEqual(run["sent"], "1")
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let send = try XCTUnwrap(ev.first("sendmsg") { $0.process.pid == run.pid })
        let msg = try XCTUnwrap(send[arg: "msg"])
        let rights = try XCTUnwrap(msg["control"]?[0])
        XCTAssertEqual(rights["fds"]?.array?.count, 100, "every descriptor of the copied message is listed")
        XCTAssertEqual(rights["fds"]?.array?.last, .int(try XCTUnwrap(run.int("last"))))
        let files = try XCTUnwrap(rights["files"]?.array)
        XCTAssertEqual(files.count, Int(MW_MAX_FILES), "resolved up to the cap")
        XCTAssertTrue(files.allSatisfy { $0["path"] == "/dev/null" })
        XCTAssertTrue(send.truncatedNames.contains("msg"), "the cut is said")
    }

    /// A descriptor in the 10th entry of a 12-message sendmmsg (8 are decoded in full).
    func testADescriptorInALaterVectorEntryIsCounted() throws {
        let (path, _) = try secretFile()
        let s = try session(["sendmmsg", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("caps-mmsg", [path])
        XCTAssertEqual(run["sent"], "12")
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let send = try XCTUnwrap(ev.first("sendmmsg") { $0.process.pid == run.pid })
        let vec = try XCTUnwrap(send[arg: "msgvec"]?.array)
        XCTAssertEqual(vec.count, Int(MW_MAX_MMSG) + 1, "8 decoded entries and one for the scanned rest")
        let rest = try XCTUnwrap(vec.last)
        XCTAssertEqual(rest["scanned"], 4)
        XCTAssertEqual(rest["msg"]?["rights"], 1)
        XCTAssertEqual(rest["msg"]?["control"]?[0]?["type"], "SCM_RIGHTS")
        XCTAssertTrue(send.truncatedNames.contains("msgvec"))
        // The kernel filter passed it on: MW-1001 (control = SCM_RIGHTS) fires.
        let f = try bundledFindings(ev).filter { $0.signature.id == "MW-1001" && $0.event?.process.pid == run.pid }
        XCTAssertEqual(f.count, 1)
    }

    /// 40 arguments of 60 bytes: past both argv caps at entry. The digest of the whole vector makes
    /// the entry and exit reads compare equal (no false TOCTOU), and matches the arguments.
    func testALongArgumentVectorIsDigestedNotMisreadAsChanged() throws {
        let s = try session(["execve", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("caps-argv", ["40"])
        XCTAssertEqual(run["status"], "0")
        let child = Int32(try XCTUnwrap(run.int("child")))
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let exec = try XCTUnwrap(ev.first("execve") { $0.process.pid == child })
        XCTAssertEqual(exec.changed, 0, "the same vector at entry and exit: \(exec.changedNames)")
        XCTAssertTrue(exec.truncatedNames.contains("argv"))
        let argv = ["true"] + (1...40).map { String(repeating: Character(UnicodeScalar(UInt8(97 + $0 % 26))), count: 60) }
        var bytes: [UInt8] = []
        for a in argv { bytes += Array(a.utf8) + [0] }
        let want = LongValue.Digest(length: UInt64(bytes.count), fnv: LongValue.fnv1a(bytes), partial: false)
        let entry = try XCTUnwrap(exec[arg: "argv"]?.array)
        XCTAssertEqual(entry.last?.string.flatMap { LongValue.split($0)?.digest }, want, "the entry digest is the whole vector's")
        XCTAssertEqual(entry.dropLast().first, "true")
    }

    /// A 700-byte path whose last byte flips while the kernel copies it: the prefix the record keeps
    /// is the same either way; the digests tell the two apart.
    func testAFlipPastTheKeptPrefixOfAPathIsSeen() throws {
        let s = try session(["execve", "process_exit"])
        defer { s.stop() }
        let run = try Trigger.run("long-race", ["40"])
        let ev = s.collect(timeout: 15) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let base = try XCTUnwrap(run["path"])
        var changed = 0, seen = 0
        for line in run.lines where line.hasPrefix("try=") {
            let f = Dictionary(uniqueKeysWithValues: line.split(separator: " ").compactMap { p -> (String, String)? in
                let kv = p.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            })
            guard let c = f["child"].flatMap({ Int32($0) }), let got = f["received"], !got.isEmpty else { continue }
            let exec = try XCTUnwrap(ev.first("execve") { $0.process.pid == c }, "no execve of child \(c)")
            seen += 1
            let ran = String(base.dropLast()) + got
            let exit = try XCTUnwrap(exec.exitArg("pathname")?.string)
            let d = try XCTUnwrap(LongValue.split(exit), "a 700-byte path carries a digest")
            XCTAssertEqual(d.digest, LongValue.Digest(length: UInt64(ran.utf8.count), fnv: LongValue.fnv1a(Array(ran.utf8)), partial: false),
                           "the exit read's digest is the path that ran")
            XCTAssertTrue(exec.truncatedNames.contains("pathname"))
            // A script: the interpreter received [sh, path] where the caller passed ["x"]; the exit
            // read keeps what compares (no false TOCTOU on every script run).
            XCTAssertEqual(exec.exitArg("argv"), ["x"])
            XCTAssertFalse(exec.changedNames.contains("argv"))
            XCTAssertNotEqual(exec[arg: "program"]?["path"]?.string, ran, "the program an interpreter runs is the interpreter")
            let entry = try XCTUnwrap(exec[arg: "pathname"]?.string)
            if LongValue.split(entry)?.digest != d.digest {
                changed += 1
                XCTAssertTrue(exec.changedNames.contains("pathname"))
            } else {
                XCTAssertFalse(exec.changedNames.contains("pathname"))
            }
        }
        XCTAssertEqual(seen, 40)
        print("long-race: \(changed) of \(seen) execs had the path's 700th byte flipped during the copy")
    }
}

/// io_uring requests that do what catalogue syscalls do (issue 8, class 4): no syscall is made,
/// the events come from io_uring's own tracepoints, marked `via = "io_uring"`.
final class LiveIoUringTests: XCTestCase {
    func testRequestsThatMakeNoSyscallAreSeen() throws {
        try LiveGate.check()
        let path = NSTemporaryDirectory() + "mw-uring-secret-\(getpid())"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("s".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var o = LiveOptions(kinds: Set(["socket", "connect", "sendmsg", "openat", "process_exit"].compactMap { Catalogue.kind(named: $0) }))
        o.comms = ["mw-trigger"]
        let s: LiveSession
        do { s = try LiveSession(o) } catch { try LiveGate.check(error); throw error }
        defer { s.stop() }
        let run = try Trigger.run("io-uring", [path])
        guard run["setup"] == "0" else { throw XCTSkip("io_uring is not permitted on this machine (io_uring_setup: \(run["setup"] ?? "?"))") }
        let ev = s.collect(timeout: 8) { $0.name == "process_exit" && $0.process.pid == run.pid }
        let mine = ev.filter { $0.process.pid == run.pid && $0.via == .ioUring }

        let socket = try XCTUnwrap(mine.first { $0.name == "socket" }, "\(ev.map { "\($0.name)/\($0.via?.rawValue ?? "-")" })")
        XCTAssertEqual(socket.ret, try XCTUnwrap(run.int("socket")))
        XCTAssertEqual(socket[arg: "domain"], 2)
        XCTAssertEqual(socket[arg: "type"], 1)

        let connect = try XCTUnwrap(mine.first { $0.name == "connect" })
        XCTAssertEqual(connect.ret, 0)
        XCTAssertEqual(connect[arg: "sockfd"], .int(Int64(try XCTUnwrap(run.int("socket")))), "the descriptor the request named")
        XCTAssertEqual(connect[arg: "addr"]?["addr"], "127.0.0.1")
        XCTAssertEqual(connect[arg: "addr"]?["port"], .int(try XCTUnwrap(run.int("port"))))

        let send = try XCTUnwrap(mine.first { $0.name == "sendmsg" })
        XCTAssertEqual(send.ret, 1)
        let files = send[arg: "msg"]?["control"]?[0]?["files"]
        XCTAssertEqual(files?[0]?["path"]?.string, path)
        XCTAssertEqual(files?[0]?["fd"], .int(try XCTUnwrap(run.int("passed"))))
        XCTAssertEqual(send[arg: "socket"]?["family"], "AF_UNIX", "the request's socket, described from its file")

        let open = try XCTUnwrap(mine.first { $0.name == "openat" })
        XCTAssertEqual(open.ret, try XCTUnwrap(run.int("openat")))
        XCTAssertEqual(open[arg: "pathname"]?.string, path, "the kernel's copy of the path")

        // No syscall of those numbers was made: every such event of the trigger came from the ring.
        XCTAssertFalse(ev.contains { $0.process.pid == run.pid && $0.name == "sendmsg" && $0.via == nil })
        // The bundled detection fires on the ring's send as on the syscall.
        let f = try bundledFindings(ev).filter { $0.signature.id == "MW-1001" && $0.event?.process.pid == run.pid }
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.event?.via, .ioUring)
    }
}
