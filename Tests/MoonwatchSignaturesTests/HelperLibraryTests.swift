import MoonwatchCore
import MoonwatchSignatures
import XCTest

/// The `mw` helper library every signature gets.
final class HelperLibraryTests: XCTestCase {
    private func eval(_ expr: String, events: [Event]? = nil) throws -> Value? {
        let sig = try makeSignature(signatureSource(events: "\"sendmsg\", \"execve\", \"process_fork\"",
                                                    body: "report{ message = 'v', data = { v = (\(expr)) } }"))
        let (findings, _) = try runEvents([sig], events ?? [sendmsgEvent()])
        return findings.last?.data["v"]
    }

    func testGlob() throws {
        let cases: [(String, String, Bool)] = [
            ("/etc/shadow", "/etc/shadow", true), ("/etc/*", "/etc/shadow", true), ("/etc/*", "/etc/ssh/sshd_config", false),
            ("/etc/**", "/etc/ssh/sshd_config", true), ("/proc/*/mem", "/proc/1234/mem", true), ("/proc/*/mem", "/proc/1/2/mem", false),
            ("/dev/sd[a-z]", "/dev/sda", true), ("/dev/sd[a-z]", "/dev/sd1", false), ("/dev/sd[!a]", "/dev/sda", false),
            ("*.pem", "server.pem", true), ("?ash", "bash", true), ("?ash", "/ash", false), ("/run/**/docker.sock", "/run/docker.sock", false),
            ("/run/**docker.sock", "/run/x/docker.sock", true), ("", "", true), ("a", "", false),
        ]
        for (pattern, subject, expected) in cases {
            XCTAssertEqual(try eval("mw.glob(\"\(pattern)\", \"\(subject)\")"), .bool(expected), "\(pattern) vs \(subject)")
        }
        XCTAssertEqual(try eval("mw.glob_any({\"/a/*\", \"/b/*\"}, \"/b/x\")"), true)
    }

    func testPathsAndSets() throws {
        XCTAssertEqual(try eval("mw.basename('/usr/bin/ls')"), "ls")
        XCTAssertEqual(try eval("mw.basename('/usr/bin/')"), "bin")
        XCTAssertEqual(try eval("mw.dirname('/usr/bin/ls')"), "/usr/bin")
        XCTAssertEqual(try eval("mw.dirname('ls')"), ".")
        XCTAssertEqual(try eval("mw.dirname('/ls')"), "/")
        XCTAssertEqual(try eval("mw.set{'a','b'}['b']"), true)
        XCTAssertEqual(try eval("mw.set{'a','b'}['c'] == nil"), true)
    }

    func testPassedFdsCoversMessagesAndVectors() throws {
        XCTAssertEqual(try eval("select(1, mw.passed_fds(event))", events: [sendmsgEvent(fds: [4, 9])]), [4, 9])
        XCTAssertEqual(try eval("#select(1, mw.passed_fds(event))", events: [sendmsgEvent()]), 0)
    }

    func testProcessLineageFromEvents() throws {
        let shell = ProcessContext(pid: 300, tid: 300, ppid: 1, uid: 0, gid: 0, comm: "sshd", exe: "/usr/sbin/sshd")
        var fork = Event(kind: Catalogue.kind(named: "process_fork")!, time: 1, process: shell)
        fork[arg: "child_pid"] = 301
        fork[arg: "child_tid"] = 301
        var exec = Event(kind: Catalogue.kind(named: "execve")!, time: 2,
                         process: ProcessContext(pid: 301, tid: 301, ppid: 300, uid: 1000, gid: 1000, comm: "bash", exe: "/usr/bin/bash"))
        exec[arg: "pathname"] = "/usr/bin/bash"
        let chain = try eval("(function() local out = {} for _, p in ipairs(mw.ancestors(event.process.pid)) do out[#out+1] = p.comm end return table.concat(out, '>') end)()",
                             events: [fork, exec])
        XCTAssertEqual(chain, "sshd")
        XCTAssertEqual(try eval("mw.process(301).exe", events: [fork, exec]), "/usr/bin/bash")
        XCTAssertEqual(try eval("mw.process(99999) == nil"), true)
    }

    func testPerProcessRecordsFollowForkAndExit() throws {
        let sig = try makeSignature(signatureSource(events: "\"socket\", \"process_fork\", \"process_exit\", \"close\"", body: """
            local procs = mw.per_process(state, "p", 3)
            if procs:track(event) then return end
            if event.name == "socket" then procs:get(event.process.pid, function() return { n = 0 } end).n = event.ret end
            if event.name == "close" then
              local r = procs:get(event.process.pid)
              report{ message = r and tostring(r.n) or "none" }
            end
            """))
        func ctx(_ pid: Int32, tid: Int32? = nil) -> ProcessContext {
            ProcessContext(pid: pid, tid: tid ?? pid, ppid: 1, uid: 0, gid: 0, comm: "p")
        }
        func ev(_ name: String, _ pid: Int32, ret: Int64 = 0, tid: Int32? = nil, args: [String: Value] = [:]) -> Event {
            var e = Event(kind: Catalogue.kind(named: name)!, ret: ret, process: ctx(pid, tid: tid))
            for (k, v) in args { e[arg: k] = v }
            return e
        }
        let (findings, _) = try runEvents([sig], [
            ev("socket", 10, ret: 7),
            ev("process_fork", 10, args: ["child_pid": 11, "child_tid": 11]),   // child copies 7
            ev("process_fork", 10, args: ["child_pid": 10, "child_tid": 12]),   // a thread: no new record
            ev("socket", 11, ret: 9),                                          // the copy is its own
            ev("close", 10), ev("close", 11),
            ev("process_exit", 11, tid: 11), ev("close", 11),                  // gone after exit
            ev("process_exit", 10, tid: 13), ev("close", 10),                  // a thread exiting keeps it
        ])
        XCTAssertEqual(findings.map(\.message), ["7", "9", "none", "7"])
    }
}
