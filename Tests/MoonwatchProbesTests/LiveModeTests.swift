import Foundation
import MoonwatchCore
@testable import MoonwatchProbes
import XCTest

/// The raw_tp fallback, and process context that needs a real cgroup.
final class LiveModeTests: XCTestCase {
    func session(_ configure: (inout LiveOptions) -> Void) throws -> LiveSession {
        try LiveGate.check()
        var o = LiveOptions(kinds: Set(Catalogue.kinds))
        o.comms = ["mw-trigger"]
        configure(&o)
        do { return try LiveSession(o) } catch { try LiveGate.check(error); throw error }
    }

    /// raw_tp reads registers and task fields through probe reads instead of BTF pointers: the
    /// decoded events must be the same.
    func testRawTracepointModeDecodesTheSame() throws {
        let s = try session { $0.forceMode = "raw_tp" }
        defer { s.stop() }
        XCTAssertEqual(s.source.mode, "raw_tp")
        let (run, ev) = try s.events(of: "recvmmsg-both")
        let c = try XCTUnwrap(ev.first("recvmmsg_time32"))
        XCTAssertTrue(c.process.compat)
        XCTAssertEqual(c.process.bits, 64)
        XCTAssertEqual(c[arg: "fd"]?.i, run.int("fd"))
        XCTAssertEqual(c[arg: "timeout"], .object([("sec", 1), ("nsec", 0)]))
        XCTAssertEqual(c[arg: "mmsg"]?[0]?["len"], 5)
        let n = try XCTUnwrap(ev.first("recvmmsg"))
        XCTAssertFalse(n.process.compat)
        XCTAssertEqual(n[arg: "msgvec"], c[arg: "mmsg"])

        let (run2, ev2) = try s.events(of: "fdpass", ["/etc/hostname"])
        let send = try XCTUnwrap(ev2.first("sendmsg") { $0.process.pid == run2.pid })
        XCTAssertEqual(send[arg: "msg"]?["control"]?[0]?["files"]?[0]?["path"], "/etc/hostname")
        XCTAssertEqual(send.process.comm, "mw-trigger")
        XCTAssertTrue(send.process.exe.hasSuffix("/mw-trigger"))
    }

    /// A process in a cgroup named like a container runtime's gets that container id.
    func testContainerIDFromTheCgroupPath() throws {
        guard let root = ContainerResolver.findCgroup2Root() else { try LiveGate.unavailable("no cgroup2 hierarchy mounted") }
        let id = String(repeating: "0123456789abcdef", count: 4)
        let parent = "\(root)/mw-probes-test-\(getpid())"
        let dir = "\(parent)/docker-\(id).scope"
        let s = try session { _ in }
        defer { s.stop() }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            try LiveGate.unavailable("cannot create a cgroup under \(root): \(error)")
        }
        defer { rmdir(dir); rmdir(parent) }
        var st = stat()
        XCTAssertEqual(stat(dir, &st), 0)
        let run = try Trigger.run("socket-calls") { pid in
            try "\(pid)\n".write(toFile: dir + "/cgroup.procs", atomically: false, encoding: .utf8)
        }
        let ev = s.collect { $0.name == "process_exit" && $0.process.pid == run.pid && $0.process.tid == run.pid }
        let socket = try XCTUnwrap(ev.first("socket") { $0.process.pid == run.pid })
        XCTAssertEqual(socket.process.cgroup, UInt64(st.st_ino), "cgroup id is the cgroup directory's inode")
        XCTAssertEqual(socket.process.container, id)
    }
}
