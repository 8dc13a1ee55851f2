import Foundation
import MoonwatchCore
import MoonwatchProbes
import XCTest

/// Live capture of the trigger program's system calls, decoded and checked field by field.
/// One probe session (every catalogue event, scoped in the kernel to comm "mw-trigger") serves
/// the whole class; each test runs a trigger and reads its events up to its process_exit.
final class LiveProbeTests: XCTestCase {
    nonisolated(unsafe) static var session: LiveSession?
    nonisolated(unsafe) static var startError: Error?

    override class func setUp() {
        super.setUp()
        var o = LiveOptions(kinds: Set(Catalogue.kinds))
        o.comms = ["mw-trigger"]
        o.ringBytes = 8 << 20
        do { session = try LiveSession(o) } catch { startError = error }
    }

    override class func tearDown() {
        session?.stop()
        session = nil
        super.tearDown()
    }

    func live() throws -> LiveSession {
        if let s = LiveProbeTests.session { return s }
        try LiveGate.check(LiveProbeTests.startError)
        throw LiveProbeTests.startError ?? LiveGate.LiveUnavailable(reason: "no session")
    }

    /// Fields every event of the trigger carries.
    func assertContext(_ e: Event, pid: Int32, compat: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(e.process.pid, pid, "pid", file: file, line: line)
        XCTAssertEqual(e.process.comm, "mw-trigger", file: file, line: line)
        XCTAssertTrue(e.process.exe.hasSuffix("/mw-trigger"), "exe \(e.process.exe)", file: file, line: line)
        XCTAssertEqual(e.process.compat, compat, "compat of \(e.name)", file: file, line: line)
        XCTAssertEqual(e.process.bits, 64, "a 64-bit program", file: file, line: line)
        XCTAssertNotEqual(e.process.mntns, 0, file: file, line: line)
        XCTAssertNotEqual(e.process.pidns, 0, file: file, line: line)
        XCTAssertNotEqual(e.process.cgroup, 0, file: file, line: line)
        XCTAssertGreaterThan(e.time, 1_600_000_000_000_000_000, "epoch ns", file: file, line: line)
    }

    static func inet(_ family: String, _ addr: String, _ port: Int64) -> Value {
        .object([("family", .string(family)), ("addr", .string(addr)), ("port", .int(port))])
    }

    // MARK: - every socket syscall

    func testEverySocketSyscallIsDecoded() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "socket-calls")
        XCTAssertEqual(run.status, 0)
        let pid = run.pid
        for e in ev where e.process.pid == pid { assertContext(e, pid: pid) }
        XCTAssertEqual(ev.first(where: { $0.name == "socket" })?.process.ppid, getpid(), "ppid is the test process")
        XCTAssertEqual(ev.first(where: { $0.name == "socket" })?.process.uid, getuid())

        let sv = run["socketpair"]!.split(separator: ",").map { Int64($0)! }
        let pair = try XCTUnwrap(ev.first("socketpair") { $0[arg: "sv"] == .array(sv.map { .int($0) }) })
        XCTAssertEqual(pair[arg: "domain"], 1)
        XCTAssertEqual(pair[arg: "type"], 2)

        // sendmsg: two buffers, SCM_RIGHTS and SCM_CREDENTIALS in one control buffer
        let send = try XCTUnwrap(ev.first("sendmsg") { $0[arg: "sockfd"]?.i == sv[0] })
        XCTAssertEqual(send.ret, 8)
        let msg = try XCTUnwrap(send[arg: "msg"])
        XCTAssertEqual(msg["name"], .null)
        XCTAssertEqual(msg["iov"], [3, 5])
        XCTAssertEqual(msg["iovlen"], 2)
        XCTAssertEqual(msg["bytes"], 8)
        XCTAssertEqual(msg["controllen"]?.i, run.int("controllen"))
        XCTAssertEqual(msg["flags"], 0)
        let nullfd = try XCTUnwrap(run.int("nullfd"))
        var null = stat()
        XCTAssertEqual(stat("/dev/null", &null), 0)
        XCTAssertEqual(msg["control"]?[0], .object([
            ("level", "SOL_SOCKET"), ("type", "SCM_RIGHTS"), ("fds", [.int(nullfd)]),
            ("files", [.object([("fd", .int(nullfd)), ("type", "file"), ("path", "/dev/null"), ("ino", .int(Int64(null.st_ino))),
                               ("dev", .int(Int64(null.st_dev)))])]),
        ]))
        XCTAssertEqual(msg["control"]?[1], .object([
            ("level", "SOL_SOCKET"), ("type", "SCM_CREDENTIALS"),
            ("cred", .object([("pid", .int(Int64(pid))), ("uid", .int(Int64(getuid()))), ("gid", .int(Int64(getgid())))])),
        ]))
        XCTAssertEqual(send.exitArg("msg"), msg, "TOCTOU re-read at exit")
        XCTAssertEqual(send.changed, 0)

        // recvmsg: the control buffer the kernel filled, read at exit
        let recv = try XCTUnwrap(ev.first("recvmsg") { $0[arg: "sockfd"]?.i == sv[1] })
        XCTAssertEqual(recv.ret, 8)
        let rmsg = try XCTUnwrap(recv[arg: "msg"])
        XCTAssertEqual(rmsg["iov"], [32])
        XCTAssertEqual(rmsg["controllen"]?.i, run.int("rcontrollen"))
        let controls = rmsg["control"]?.array ?? []
        let got = try XCTUnwrap(run.int("received_fd"))
        XCTAssertTrue(controls.contains { $0["type"] == "SCM_RIGHTS" && $0["fds"] == [.int(got)] && $0["files"]?[0]?["path"] == "/dev/null" },
                      "\(controls)")
        XCTAssertTrue(controls.contains { $0["type"] == "SCM_CREDENTIALS" && $0["cred"]?["pid"]?.i == Int64(pid) }, "\(controls)")
        XCTAssertNil(recv.exitArg("msg"), "recvmsg is read once, at exit")

        // sendto / recvfrom, IPv4 and IPv6
        let port4 = try XCTUnwrap(run.int("udp4_port"))
        let sendto = try XCTUnwrap(ev.first("sendto") { $0[arg: "sockfd"]?.i == run.int("sendto_fd") })
        XCTAssertEqual(sendto[arg: "dest_addr"], Self.inet("AF_INET", "127.0.0.1", port4))
        XCTAssertEqual(sendto.exitArg("dest_addr"), Self.inet("AF_INET", "127.0.0.1", port4))
        XCTAssertEqual(sendto[arg: "len"], 5)
        XCTAssertEqual(sendto[arg: "addrlen"], 16)
        XCTAssertEqual(sendto.ret, 5)
        let recvfrom = try XCTUnwrap(ev.first("recvfrom") { $0[arg: "sockfd"]?.i == run.int("recvfrom_fd") })
        XCTAssertEqual(recvfrom[arg: "src_addr"], Self.inet("AF_INET", "127.0.0.1", run.int("from_port")!))
        XCTAssertEqual(recvfrom[arg: "addrlen"], 16)
        XCTAssertEqual(recvfrom[arg: "len"], 32)
        XCTAssertEqual(recvfrom.ret, 5)
        let port6 = try XCTUnwrap(run.int("udp6_port"))
        XCTAssertNotNil(ev.first("sendto") { $0[arg: "dest_addr"] == Self.inet("AF_INET6", "::1", port6) && $0[arg: "addrlen"] == 28 })

        // bind: a path and an abstract name
        let path = try XCTUnwrap(run["unix_path"])
        XCTAssertNotNil(ev.first("bind") { $0[arg: "addr"] == .object([("family", "AF_UNIX"), ("path", .string(path))]) })
        let abstract = try XCTUnwrap(run["abstract"])
        XCTAssertNotNil(ev.first("bind") {
            $0[arg: "addr"] == .object([("family", "AF_UNIX"), ("path", .string(abstract)), ("abstract", true)])
        })

        // listen, connect, accept4
        let listenFD = try XCTUnwrap(run.int("listen_fd")), tcpPort = try XCTUnwrap(run.int("tcp_port"))
        XCTAssertEqual(ev.first("listen") { $0[arg: "sockfd"]?.i == listenFD }?[arg: "backlog"], 7)
        let connect = try XCTUnwrap(ev.first("connect") { $0[arg: "sockfd"]?.i == run.int("connect_fd") })
        XCTAssertEqual(connect[arg: "addr"], Self.inet("AF_INET", "127.0.0.1", tcpPort))
        XCTAssertEqual(connect.ret, 0)
        let accept = try XCTUnwrap(ev.first("accept4") { $0[arg: "sockfd"]?.i == listenFD })
        XCTAssertEqual(accept.ret, run.int("accept4"))
        XCTAssertEqual(accept[arg: "addr"], Self.inet("AF_INET", "127.0.0.1", run.int("peer_port")!))
        XCTAssertEqual(accept[arg: "addrlen"], 16)
        XCTAssertEqual(accept[arg: "flags"], 0x80000)

        // sendmmsg: per-message names and buffers at entry, per-message len at exit
        let smm = try XCTUnwrap(ev.first("sendmmsg"))
        XCTAssertEqual(smm.ret, 2)
        XCTAssertEqual(smm[arg: "vlen"], 2)
        let entry = smm[arg: "msgvec"]?.array ?? []
        XCTAssertEqual(entry.count, 2)
        XCTAssertEqual(entry.first?["msg"]?["name"], Self.inet("AF_INET", "127.0.0.1", port4))
        XCTAssertEqual(entry.map { $0["msg"]?["iov"] }, [[3], [5]])
        XCTAssertEqual(smm.exitArg("msgvec")?.array?.map { $0["len"] }, [3, 5])
        XCTAssertEqual(smm.changed, 0, "msg_len is a kernel output, not a change")

        // recvmmsg (64-bit): vector read at exit, timeout at entry
        let rmm = try XCTUnwrap(ev.first("recvmmsg"))
        XCTAssertEqual(rmm.ret, 2)
        XCTAssertEqual(rmm[arg: "vlen"], 2)
        XCTAssertEqual(rmm[arg: "timeout"], .object([("sec", 1), ("nsec", 0)]))
        XCTAssertEqual(rmm[arg: "msgvec"]?.array?.map { $0["len"] }, [3, 5])
        XCTAssertFalse(rmm.process.compat)
    }

    // MARK: - descriptor passing

    func testFdPassBetweenProcessesNamesWhatWasPassed() throws {
        let s = try live()
        let path = NSTemporaryDirectory() + "mw-probe-secret-\(getpid())"
        _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (run, ev) = try s.events(of: "fdpass", [path])
        let sender = try XCTUnwrap(run.int("sender")), child = try XCTUnwrap(run.int("child"))
        let passed = try XCTUnwrap(run.int("passed_fd"))
        let send = try XCTUnwrap(ev.first("sendmsg") { $0.process.pid == Int32(sender) })
        let rights = send[arg: "msg"]?["control"]?[0]
        XCTAssertEqual(rights?["fds"], [.int(passed)])
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(rights?["files"], [.object([("fd", .int(passed)), ("type", "file"), ("path", .string(path)), ("ino", .int(Int64(st.st_ino))),
                                                 ("dev", .int(Int64(st.st_dev)))])])
        let recv = try XCTUnwrap(ev.first("recvmsg") { $0.process.pid == Int32(child) })
        XCTAssertEqual(recv.process.ppid, Int32(sender))
        XCTAssertEqual(recv[arg: "msg"]?["control"]?[0]?["fds"], [.int(run.int("received_fd")!)])
        XCTAssertEqual(recv[arg: "msg"]?["control"]?[0]?["files"]?[0]?["path"], .string(path))
        // Resolved in the receiver's own table at exit: the same object, so the same inode.
        XCTAssertEqual(recv[arg: "msg"]?["control"]?[0]?["files"]?[0]?["ino"], .int(Int64(st.st_ino)))

        let findings = try bundledFindings(ev)
        let f = try XCTUnwrap(findings.first { $0.signature.id == "MW-1001" }, "\(findings.map(\.signature.id))")
        XCTAssertEqual(f.data["pid"]?.i, sender)
        XCTAssertEqual(f.data["comm"], "mw-trigger")
        XCTAssertEqual(f.data["files"]?[0]?["path"], .string(path))
        XCTAssertTrue(f.message.contains("mw-trigger (pid \(sender))"), f.message)
    }

    func testFdPassOfSensitiveFileAndOfSocket() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "fdpass", ["/etc/shadow"])
        let send = try XCTUnwrap(ev.first("sendmsg") { $0.process.pid == run.pid })
        XCTAssertEqual(send[arg: "msg"]?["control"]?[0]?["files"]?[0]?["path"], "/etc/shadow")
        XCTAssertTrue(try bundledFindings(ev).contains { $0.signature.id == "MW-1002" }, "sensitive object passed")

        let (run2, ev2) = try s.events(of: "fdpass-socket")
        let file = try XCTUnwrap(ev2.first("sendmsg") { $0.process.pid == run2.pid }?[arg: "msg"]?["control"]?[0]?["files"]?[0])
        XCTAssertEqual(file["type"], "socket")
        XCTAssertTrue(file["path"]?.string?.hasPrefix("socket:[") == true, "\(file)")
    }

    func testFdPassToLessPrivilegedReceiver() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "fdpass-uid", ["/etc/hostname"])
        let child = Int32(try XCTUnwrap(run.int("child")))
        let send = try XCTUnwrap(ev.first("sendmsg") { $0.process.pid == run.pid })
        XCTAssertEqual(send.process.uid, 0)
        let recv = try XCTUnwrap(ev.first("recvmsg") { $0.process.pid == child })
        XCTAssertEqual(recv.process.uid, 65534)
        XCTAssertEqual(recv[arg: "msg"]?["control"]?[0]?["files"]?[0]?["path"], "/etc/hostname")
        let f = try XCTUnwrap(try bundledFindings(ev).first { $0.signature.id == "MW-1003" }, "privilege boundary")
        XCTAssertEqual(f.data["boundary"], ["uid"])
        XCTAssertEqual(f.data["sender"]?["uid"], 0)
        XCTAssertEqual(f.data["receiver"]?["uid"], 65534)
        XCTAssertNotNil(f.data["receiver"]?["inos"]?[0], "paired by inode")
    }

    // MARK: - 32-bit compat

    func testCompatRecvmmsgTime32AndTheSameCallNatively() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "recvmmsg-both")
        let fd = try XCTUnwrap(run.int("fd"))
        let c = try XCTUnwrap(ev.first("recvmmsg_time32"))
        assertContext(c, pid: run.pid, compat: true)
        XCTAssertEqual(c.ret, 1)
        XCTAssertEqual(c[arg: "fd"]?.i, fd)
        XCTAssertEqual(c[arg: "vlen"], 1)
        XCTAssertEqual(c[arg: "flags"], 0)
        XCTAssertEqual(c[arg: "timeout"], .object([("sec", 1), ("nsec", 0)]))
        let entry = try XCTUnwrap(c[arg: "mmsg"]?[0])
        XCTAssertEqual(entry["len"], 5)
        XCTAssertEqual(entry["msg"]?["iov"], [64])
        XCTAssertEqual(entry["msg"]?["name"], .null)

        let n = try XCTUnwrap(ev.first("recvmmsg") { $0[arg: "sockfd"]?.i == fd })
        assertContext(n, pid: run.pid, compat: false)
        XCTAssertEqual(n[arg: "msgvec"], c[arg: "mmsg"], "same decoded shape both ways")
        XCTAssertEqual(n[arg: "timeout"], c[arg: "timeout"])
        XCTAssertEqual(n.ret, 1)

        let findings = try bundledFindings(ev)
        XCTAssertTrue(findings.contains { $0.signature.id == "MW-3001" && $0.event?.name == "recvmmsg_time32" }, "\(findings.map(\.message))")
        XCTAssertFalse(findings.contains { $0.signature.id == "MW-3001" && $0.event?.name == "recvmmsg" })
    }

    func testCompatSendmsgWithRightsAndSocketcall() throws {
        let s = try live()
        let before = s.source.kernelCounters().socketcall
        let (run, ev) = try s.events(of: "compat-socket")
        let send = try XCTUnwrap(ev.first("sendmsg") { $0.process.compat })
        assertContext(send, pid: run.pid, compat: true)
        XCTAssertEqual(send.ret, 4)
        let msg = try XCTUnwrap(send[arg: "msg"])
        XCTAssertEqual(msg["iov"], [4])
        XCTAssertEqual(msg["controllen"], 16)
        XCTAssertEqual(msg["control"]?[0]?["fds"], [.int(run.int("passed_fd")!)])
        XCTAssertEqual(msg["control"]?[0]?["files"]?[0]?["path"], "/etc/hostname")

        let viaSocketcall = try XCTUnwrap(ev.first("sendto") { $0[arg: "sockfd"]?.i == run.int("socketcall_fd") })
        assertContext(viaSocketcall, pid: run.pid, compat: true)
        XCTAssertEqual(viaSocketcall[arg: "dest_addr"], Self.inet("AF_INET", "127.0.0.1", run.int("port")!))
        XCTAssertEqual(viaSocketcall[arg: "len"], 2)
        XCTAssertEqual(viaSocketcall.ret, 2)
        XCTAssertGreaterThan(s.source.kernelCounters().socketcall, before)
    }

    // MARK: - TOCTOU

    func testRacingThreadChangesSendtoDestination() throws {
        let s = try live()
        // A race: on a busy machine the flipping thread may not run beside the sender at all, so
        // up to five runs until it did (each run checks that every call was captured).
        var attempt: (TriggerRun, [Event], [Event])?
        for _ in 0..<5 {
            let (run, ev) = try s.events(of: "toctou-sendto", ["20000"])
            let sends = ev.named("sendto").filter { $0[arg: "sockfd"]?.i == run.int("fd") }
            XCTAssertEqual(sends.count, 20000, "every call captured")
            attempt = (run, ev, sends)
            if sends.contains(where: { $0.changed != 0 }) { break }
        }
        let (run, ev, sends) = try XCTUnwrap(attempt)
        let a = try XCTUnwrap(run.int("port_a")), b = try XCTUnwrap(run.int("port_b"))
        let changed = sends.filter { $0.changed != 0 }
        XCTAssertGreaterThan(changed.count, 0, "a thread flipping the port is seen")
        for e in changed.prefix(20) {
            XCTAssertEqual(e.changedNames, ["dest_addr"])
            let p1 = e[arg: "dest_addr"]?["port"]?.i, p2 = e.exitArg("dest_addr")?["port"]?.i
            XCTAssertNotEqual(p1, p2)
            XCTAssertTrue([a, b].contains(p1 ?? -1) && [a, b].contains(p2 ?? -1))
        }
        let findings = try bundledFindings(ev).filter { $0.signature.id == "MW-2001" }
        XCTAssertEqual(findings.count, changed.count)
        XCTAssertEqual(findings.first?.data["argument"], "dest_addr")
        XCTAssertEqual(s.source.kernelCounters().drops, 0)
    }

    // MARK: - the next issue's scenarios

    func testUnprivilegedUserfaultfd() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "uffd-unpriv")
        let u = try XCTUnwrap(ev.first("userfaultfd") { $0[arg: "flags"]?.i == Int64(O_CLOEXEC | O_NONBLOCK) })
        XCTAssertEqual(u.process.uid, 65534)
        XCTAssertEqual(u.ret, run.int("userfaultfd") == -1 ? -Int64(run.int("errno")!) : run.int("userfaultfd"))
        let userMode = try XCTUnwrap(ev.first("userfaultfd") { $0[arg: "flags"]?.i == Int64(O_CLOEXEC | 1) })
        XCTAssertEqual(userMode.ret, run.int("usermode_userfaultfd"))
        let findings = try bundledFindings(ev).filter { $0.signature.id == "MW-2002" }
        // The user-mode-only userfaultfd works without privileges (the trigger says so, not the
        // events); the signature reports every creation that worked, and only those.
        let created = [run.int("userfaultfd"), run.int("usermode_userfaultfd")].filter { ($0 ?? -1) >= 0 }.count
        XCTAssertGreaterThanOrEqual(run.int("usermode_userfaultfd") ?? -1, 0, "UFFD_USER_MODE_ONLY works unprivileged")
        XCTAssertEqual(findings.count, created)
        XCTAssertTrue(findings.allSatisfy { $0.data["uid"]?.i == 65534 })
    }

    func testReverseShellShape() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "revshell")
        let child = Int32(try XCTUnwrap(run.int("child")))
        let mine = ev.filter { $0.process.pid == child }
        let connect = try XCTUnwrap(mine.first("connect"))
        XCTAssertEqual(connect[arg: "addr"]?["port"]?.i, run.int("port"))
        let dups = mine.named("dup2")
        XCTAssertEqual(dups.map { $0[arg: "newfd"] }, [0, 1, 2])
        XCTAssertEqual(Set(dups.compactMap { $0[arg: "oldfd"]?.i }).count, 1)
        let exec = try XCTUnwrap(mine.first("execve"))
        XCTAssertEqual(exec[arg: "pathname"], "/bin/sh")
        XCTAssertEqual(exec[arg: "argv"], ["sh", "-c", "true"])
        XCTAssertEqual(exec[arg: "envp"], ["PATH=/usr/bin:/bin"])
        XCTAssertEqual(exec.ret, 0)
        XCTAssertEqual(exec.process.comm, "mw-trigger", "the caller, before the exec")
        XCTAssertTrue(try bundledFindings(ev).contains { $0.signature.id == "MW-4001" })
    }

    func testMemfdExecution() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "memfd-exec")
        let child = Int32(try XCTUnwrap(run.int("child")))
        let memfd = try XCTUnwrap(ev.first("memfd_create") { $0.process.pid == child })
        XCTAssertEqual(memfd[arg: "name"], "mw-payload")
        let exec = try XCTUnwrap(ev.first("execveat") { $0.process.pid == child })
        XCTAssertEqual(exec[arg: "dirfd"]?.i, memfd.ret)
        XCTAssertEqual(exec[arg: "pathname"], "")
        XCTAssertEqual(exec[arg: "argv"], ["mw-payload"])
        XCTAssertEqual(exec[arg: "flags"], 0x1000, "AT_EMPTY_PATH")
        XCTAssertEqual(exec.ret, 0)
        XCTAssertTrue(try bundledFindings(ev).contains { $0.signature.id == "MW-4002" })
    }

    func testPtraceTracemeAndPoketext() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "ptrace")
        let child = try XCTUnwrap(run.int("child"))
        let traceme = try XCTUnwrap(ev.first("ptrace") { $0[arg: "request"] == 0 })
        XCTAssertEqual(traceme.process.pid, Int32(child))
        let poke = try XCTUnwrap(ev.first("ptrace") { $0[arg: "request"] == 4 })
        XCTAssertEqual(poke.process.pid, run.pid)
        XCTAssertEqual(poke[arg: "pid"]?.i, child)
        XCTAssertEqual(poke[arg: "addr"]?.uint64, UInt64(run["addr"]!))
        XCTAssertEqual(poke[arg: "data"], 0x4141_4141)
        XCTAssertEqual(poke.ret, 0)
        let ids = Set(try bundledFindings(ev).map(\.signature.id))
        XCTAssertTrue(ids.contains("MW-5001") && ids.contains("MW-5002"), "\(ids)")
    }

    func testModuleLoadingCallsThatFail() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "modules")
        let i = try XCTUnwrap(ev.first("init_module"))
        XCTAssertEqual(i[arg: "len"], 64)
        XCTAssertEqual(i[arg: "param_values"], "mw_param=1")
        XCTAssertEqual(i.ret, -Int64(run.int("errno")!))
        let f = try XCTUnwrap(ev.first("finit_module"))
        XCTAssertEqual(f[arg: "fd"]?.i, run.int("finit_fd"))
        XCTAssertEqual(f[arg: "param_values"], "mw_param=2")
        XCTAssertLessThan(f.ret, 0)
        XCTAssertTrue(try bundledFindings(ev).contains { $0.signature.id == "MW-6001" })
    }

    func testPacketSocket() throws {
        let s = try live()
        let (_, ev) = try s.events(of: "packet-socket")
        let sock = try XCTUnwrap(ev.first("socket") { $0[arg: "domain"] == 17 })
        XCTAssertEqual(sock[arg: "type"], 3)
        XCTAssertEqual(sock[arg: "protocol"], 0x300, "htons(ETH_P_ALL)")
        XCTAssertTrue(try bundledFindings(ev).contains { $0.signature.id == "MW-7001" })
    }

    func testProcessLifecycleEvents() throws {
        let s = try live()
        let (run, ev) = try s.events(of: "fdpass", ["/etc/hostname"])
        let child = try XCTUnwrap(run.int("child"))
        let fork = try XCTUnwrap(ev.first("process_fork") { $0.process.pid == run.pid })
        XCTAssertEqual(fork[arg: "child_pid"]?.i, child)
        XCTAssertEqual(fork[arg: "child_tid"]?.i, child)
        let exit = try XCTUnwrap(ev.first("process_exit") { $0.process.pid == Int32(child) })
        XCTAssertEqual(exit[arg: "exit_code"], 0)
        XCTAssertEqual(exit[arg: "signal"], 0)
        XCTAssertEqual(exit.process.exe, fork.process.exe)
    }
}
