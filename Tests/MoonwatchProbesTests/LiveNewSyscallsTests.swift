import CMoonwatchWire
import Foundation
import MoonwatchCore
import MoonwatchProbes
import XCTest

/// The catalogue's "other doors" (open, creat, openat2, fcntl, pidfd_getfd, process_vm_readv,
/// process_vm_writev) made live by the trigger (Tests/Triggers/doors.c), natively and through
/// int $0x80, and decoded field by field: arguments, compat flag, the return values the trigger
/// printed, and the raw syscall number each record came from (fcntl64 is a second ia32 number of fcntl).
final class LiveNewSyscallsTests: XCTestCase {
    static let kindNames = ["open", "creat", "openat2", "fcntl", "pidfd_getfd", "process_vm_readv", "process_vm_writev",
                            "process_exit"]
    nonisolated(unsafe) static var session: LiveSession?
    nonisolated(unsafe) static var startError: Error?
    static let headers = HeaderLog()

    override class func setUp() {
        super.setUp()
        var o = LiveOptions(kinds: Set(kindNames.compactMap { Catalogue.kind(named: $0) }))
        o.comms = ["mw-trigger"]
        o.ringBytes = 4 << 20
        let log = headers
        o.recordObserver = { raw in log.add(raw) }
        do { session = try LiveSession(o) } catch { startError = error }
    }

    override class func tearDown() {
        session?.stop()
        session = nil
        super.tearDown()
    }

    func live() throws -> LiveSession {
        if let s = Self.session { return s }
        try LiveGate.check(Self.startError)
        throw Self.startError ?? LiveGate.LiveUnavailable(reason: "no session")
    }

    /// Record headers as the ring delivered them: the raw syscall number is not part of an Event.
    final class HeaderLog: @unchecked Sendable {
        struct Entry { var kind: String; var nr: Int32; var compat: Bool; var pid: Int32; var ret: Int64 }
        private let lock = NSLock()
        private var entries: [Entry] = []

        func add(_ raw: UnsafeRawBufferPointer) {
            guard raw.count >= MemoryLayout<mw_event_hdr>.size else { return }
            let h = raw.loadUnaligned(as: mw_event_hdr.self)
            guard Int(h.kind) < Catalogue.count else { return }
            let e = Entry(kind: EventKind(rawValue: h.kind).name, nr: h.nr, compat: h.flags & UInt16(MW_EV_COMPAT) != 0,
                          pid: Int32(bitPattern: h.pid), ret: h.ret)
            lock.withLock { entries.append(e) }
        }

        /// The syscall numbers of the records of `e`'s kind, process, ABI and result.
        func numbers(of e: Event) -> [Int32] {
            lock.withLock {
                entries.filter { $0.kind == e.name && $0.pid == e.process.pid && $0.compat == e.process.compat && $0.ret == e.ret }
                    .map(\.nr)
            }
        }
    }

    /// The one event of `name` that `match` selects, checked for the trigger's context, its ABI and
    /// the raw syscall number it came through.
    func event(_ ev: [Event], _ name: String, pid: Int32, compat: Bool, nr: Int32, file: StaticString = #filePath,
               line: UInt = #line, where match: (Event) -> Bool) throws -> Event {
        let found = ev.filter { $0.name == name && $0.process.pid == pid && $0.process.compat == compat && match($0) }
        XCTAssertEqual(found.count, 1, "\(name) compat=\(compat): \(found.count) matching events", file: file, line: line)
        let e = try XCTUnwrap(found.first, "no \(name) event (compat=\(compat))", file: file, line: line)
        XCTAssertEqual(e.process.comm, "mw-trigger", file: file, line: line)
        XCTAssertEqual(e.process.bits, 64, "a 64-bit program, also for its int $0x80 calls", file: file, line: line)
        XCTAssertEqual(Self.headers.numbers(of: e), [nr], "\(name) compat=\(compat): syscall number", file: file, line: line)
        XCTAssertEqual(e.changed, 0, "\(name): nothing changed during the call", file: file, line: line)
        return e
    }

    func run(_ scenario: String) throws -> (TriggerRun, [Event]) {
        let (run, ev) = try live().events(of: scenario)
        XCTAssertEqual(run.status, 0, "\(scenario) ran")
        return (run, ev)
    }

    func testOpenCreatAndOpenat2NativeAndCompat() throws {
        let (run, ev) = try run("doors-open")
        let pid = run.pid
        let hostname: Value = "/etc/hostname"

        let open = try event(ev, "open", pid: pid, compat: false, nr: 2) { $0.ret == run.int("open") }
        XCTAssertEqual(open[arg: "pathname"], hostname)
        XCTAssertEqual(open.exitArg("pathname"), hostname, "TOCTOU re-read at exit")
        XCTAssertEqual(open[arg: "flags"]?.i, Int64(O_RDONLY | O_CLOEXEC))
        XCTAssertEqual(open[arg: "mode"], 0)
        XCTAssertGreaterThanOrEqual(open.ret, 0)

        let creatPath = try XCTUnwrap(run["creat_path"])
        let creat = try event(ev, "creat", pid: pid, compat: false, nr: 85) { $0.ret == run.int("creat") }
        XCTAssertEqual(creat[arg: "pathname"], .string(creatPath))
        XCTAssertEqual(creat.exitArg("pathname"), .string(creatPath))
        XCTAssertEqual(creat[arg: "mode"], 0o600)
        XCTAssertGreaterThanOrEqual(creat.ret, 0)

        let how = try XCTUnwrap(run.int("how"))
        let o2 = try event(ev, "openat2", pid: pid, compat: false, nr: 437) { $0.ret == run.int("openat2") }
        XCTAssertEqual(o2[arg: "dirfd"], -100)
        XCTAssertEqual(o2[arg: "pathname"], hostname)
        XCTAssertEqual(o2.exitArg("pathname"), hostname)
        XCTAssertEqual(o2[arg: "how"]?.i, how, "how is reported as its address")
        XCTAssertEqual(o2[arg: "size"]?.i, run.int("how_size"))
        XCTAssertGreaterThanOrEqual(o2.ret, 0)
        let small = try event(ev, "openat2", pid: pid, compat: false, nr: 437) { $0[arg: "size"] == 8 }
        XCTAssertEqual(small.ret, -Int64(EINVAL))
        XCTAssertEqual(run.int("openat2_small"), -Int64(EINVAL))

        // int $0x80: ia32 numbers 5, 8 and 437, 32-bit pointers, compat set.
        let copen = try event(ev, "open", pid: pid, compat: true, nr: 5) { $0.ret == run.int("compat_open") }
        XCTAssertEqual(copen[arg: "pathname"], hostname)
        XCTAssertEqual(copen.exitArg("pathname"), hostname)
        XCTAssertEqual(copen[arg: "flags"], 0)
        XCTAssertGreaterThanOrEqual(copen.ret, 0)
        let ccreat = try event(ev, "creat", pid: pid, compat: true, nr: 8) { $0.ret == run.int("compat_creat") }
        XCTAssertEqual(ccreat[arg: "pathname"], .string(try XCTUnwrap(run["compat_creat_path"])))
        XCTAssertEqual(ccreat[arg: "mode"], 0o640)
        XCTAssertGreaterThanOrEqual(ccreat.ret, 0)
        let co2 = try event(ev, "openat2", pid: pid, compat: true, nr: 437) { $0.ret == run.int("compat_openat2") }
        XCTAssertEqual(co2.ret, -Int64(EXDEV), "RESOLVE_BENEATH refuses an absolute path")
        XCTAssertEqual(co2[arg: "dirfd"], -100, "a 32-bit AT_FDCWD is still -100")
        XCTAssertEqual(co2[arg: "pathname"], hostname)
        XCTAssertEqual(co2[arg: "how"]?.i, run.int("compat_how"))
        XCTAssertEqual(co2[arg: "size"], 24)
    }

    func testFcntlDupfdThroughItsThreeNumbers() throws {
        let (run, ev) = try run("doors-fcntl")
        let pid = run.pid
        let fd = try XCTUnwrap(run.int("fd"))
        func dup(_ cmd: Int64, _ arg: Int64, compat: Bool, nr: Int32, ret key: String, line: UInt = #line) throws {
            let e = try event(ev, "fcntl", pid: pid, compat: compat, nr: nr, line: line) {
                $0[arg: "cmd"]?.i == cmd && $0[arg: "arg"]?.i == arg
            }
            XCTAssertEqual(e[arg: "fd"]?.i, fd, line: line)
            XCTAssertEqual(e.ret, run.int(key), key, line: line)
            XCTAssertGreaterThanOrEqual(e.ret, arg, "the lowest free number not below arg", line: line)
        }
        try dup(Int64(F_DUPFD), 10, compat: false, nr: 72, ret: "dupfd")
        try dup(Int64(F_DUPFD_CLOEXEC), 20, compat: false, nr: 72, ret: "dupfd_cloexec")
        try dup(Int64(F_DUPFD), 30, compat: true, nr: 55, ret: "compat_dupfd")
        try dup(Int64(F_DUPFD_CLOEXEC), 40, compat: true, nr: 221, ret: "compat64_dupfd_cloexec")
        let bad = try event(ev, "fcntl", pid: pid, compat: false, nr: 72) { $0[arg: "fd"] == 999 }
        XCTAssertEqual(bad.ret, -Int64(EBADF))
        XCTAssertEqual(bad.ret, run.int("dupfd_bad"))
    }

    func testPidfdGetfdNativeAndCompat() throws {
        let (run, ev) = try run("doors-pidfd")
        let pid = run.pid
        let pidfd = try XCTUnwrap(run.int("pidfd")), target = try XCTUnwrap(run.int("targetfd"))
        let got = try event(ev, "pidfd_getfd", pid: pid, compat: false, nr: 438) { $0.ret == run.int("pidfd_getfd") }
        XCTAssertEqual(got[arg: "pidfd"]?.i, pidfd)
        XCTAssertEqual(got[arg: "targetfd"]?.i, target)
        XCTAssertEqual(got[arg: "flags"], 0)
        XCTAssertGreaterThanOrEqual(got.ret, 0)
        let bad = try event(ev, "pidfd_getfd", pid: pid, compat: false, nr: 438) { $0[arg: "targetfd"] == 999 }
        XCTAssertEqual(bad.ret, -Int64(EBADF))
        XCTAssertEqual(bad.ret, run.int("pidfd_getfd_bad"))
        let compat = try event(ev, "pidfd_getfd", pid: pid, compat: true, nr: 438) { $0.ret == run.int("compat_pidfd_getfd") }
        XCTAssertEqual(compat[arg: "pidfd"]?.i, pidfd)
        XCTAssertEqual(compat[arg: "targetfd"]?.i, target)
        XCTAssertGreaterThanOrEqual(compat.ret, 0)
    }

    func testProcessVmReadvAndWritevNativeAndCompat() throws {
        let (run, ev) = try run("doors-vm")
        let pid = run.pid
        let child = try XCTUnwrap(run.int("child"))
        // The writes really landed: the child saw them.
        XCTAssertEqual(run["child_native"], "NATIVEal-native")
        XCTAssertEqual(run["child_compat"], "COMPATal-compat")
        XCTAssertEqual(run["child_ro"], "read-only")

        let w = try event(ev, "process_vm_writev", pid: pid, compat: false, nr: 311) { $0.ret == 6 }
        XCTAssertEqual(w[arg: "pid"]?.i, child)
        XCTAssertEqual(w[arg: "local_iov"]?.i, run.int("writev_local"), "iovec arrays are reported as addresses")
        XCTAssertEqual(w[arg: "remote_iov"]?.i, run.int("writev_remote"))
        XCTAssertEqual(w[arg: "liovcnt"], 1)
        XCTAssertEqual(w[arg: "riovcnt"], 1)
        XCTAssertEqual(w[arg: "flags"], 0)
        XCTAssertEqual(w.ret, run.int("writev"))
        let ro = try event(ev, "process_vm_writev", pid: pid, compat: false, nr: 311) { $0.ret == run.int("writev_ro") }
        XCTAssertEqual(ro.ret, -Int64(EFAULT), "no write through a read-only page, unlike ptrace")
        let r = try event(ev, "process_vm_readv", pid: pid, compat: false, nr: 310) { $0.ret == run.int("readv") }
        XCTAssertEqual(r[arg: "pid"]?.i, child)
        XCTAssertEqual(r.ret, 15)

        let cw = try event(ev, "process_vm_writev", pid: pid, compat: true, nr: 348) { $0.ret == run.int("compat_writev") }
        XCTAssertEqual(cw[arg: "pid"]?.i, child)
        XCTAssertEqual(cw[arg: "local_iov"]?.i, run.int("compat_local"))
        XCTAssertEqual(cw[arg: "remote_iov"]?.i, run.int("compat_remote"))
        XCTAssertEqual(cw[arg: "liovcnt"], 1)
        XCTAssertEqual(cw[arg: "flags"], 0, "the sixth ia32 argument (%ebp)")
        XCTAssertEqual(cw.ret, 6)
        let cr = try event(ev, "process_vm_readv", pid: pid, compat: true, nr: 347) { $0.ret == run.int("compat_readv") }
        XCTAssertEqual(cr[arg: "pid"]?.i, child)
        XCTAssertEqual(cr[arg: "riovcnt"], 1)
        XCTAssertEqual(cr.ret, 15)
    }
}
