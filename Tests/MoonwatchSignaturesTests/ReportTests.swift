import MoonwatchCore
import MoonwatchSignatures
import XCTest

final class ReportTests: XCTestCase {
    func testEventViewMatchesTheContract() throws {
        let sig = try makeSignature(signatureSource(body: """
            local p = event.process
            report{ message = "view", data = {
              name = event.name, time = event.time, ret = event.ret,
              pid = p.pid, tid = p.tid, ppid = p.ppid, uid = p.uid, gid = p.gid, comm = p.comm, exe = p.exe,
              compat = p.compat, bits = p.bits, sockfd = event.args.sockfd, fds = event.args.msg.control[1].fds,
              level = event.args.msg.control[1].level, changed = #event.changed } }
            """))
        let (findings, _) = try runEvents([sig], [sendmsgEvent(fds: [7, 8], ret: 1, time: 99)])
        let d = try XCTUnwrap(findings.first?.data)
        XCTAssertEqual(d["name"], "sendmsg")
        XCTAssertEqual(d["time"], 99)
        XCTAssertEqual(d["pid"], 100)
        XCTAssertEqual(d["tid"], 101)
        XCTAssertEqual(d["comm"], "tester")
        XCTAssertEqual(d["exe"], "/usr/bin/tester")
        XCTAssertEqual(d["compat"], false)
        XCTAssertEqual(d["bits"], 64)
        XCTAssertEqual(d["sockfd"], 5)
        XCTAssertEqual(d["fds"], [7, 8])
        XCTAssertEqual(d["level"], "SOL_SOCKET")
        XCTAssertEqual(d["changed"], 0)
    }

    func testExitArgsAndChangedReachLua() throws {
        let sig = try makeSignature(signatureSource(events: "\"connect\"", body: """
            report{ message = table.concat(event.changed, ","), data = { before = event.args.addr.port, after = event.exit_args.addr.port } }
            """))
        var e = event("connect", args: ["sockfd": 3, "addr": .object([("family", "AF_INET"), ("addr", "10.0.0.1"), ("port", 80)]), "addrlen": 16])
        e.exitArgs[e.spec.argIndex("addr")!] = .object([("family", "AF_INET"), ("addr", "10.0.0.1"), ("port", 8080)])
        e.computeChanged()
        let (findings, _) = try runEvents([sig], [e])
        XCTAssertEqual(findings.first?.message, "addr")
        XCTAssertEqual(findings.first?.data["before"], 80)
        XCTAssertEqual(findings.first?.data["after"], 8080)
    }

    func testReusedTablesDoNotLeakPreviousEvents() throws {
        // The second event has no msg argument: the reused args table must not still hold the first one's.
        let sig = try makeSignature(signatureSource(body: "report{ message = tostring(event.args.msg ~= nil) }"))
        var second = sendmsgEvent(time: 2)
        second[arg: "msg"] = nil
        let (findings, _) = try runEvents([sig], [sendmsgEvent(time: 1), second])
        XCTAssertEqual(findings.map(\.message), ["true", "false"])
    }

    func testDataSerialization() throws {
        let sig = try makeSignature(signatureSource(body: """
            local cyc = {} cyc.self = cyc
            report{ message = "m", severity = "critical", data = {
              list = {1, 2, 3}, map = { b = 2, a = 1 }, float = 1.5, bool = true, bytes = "\\xff\\x00ok",
              mixed = { [1] = "x", k = "y" }, cycle = cyc, fn = print } }
            """))
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        let f = try XCTUnwrap(findings.first)
        XCTAssertEqual(f.severity, .critical)
        XCTAssertEqual(f.data["list"], [1, 2, 3])
        XCTAssertEqual(f.data["map"]?.fields?.keys, ["a", "b"])
        XCTAssertEqual(f.data["float"], 1.5)
        XCTAssertEqual(f.data["bool"], true)
        XCTAssertEqual(f.data["bytes"], "\u{FFFD}\u{0}ok")
        XCTAssertEqual(f.data["mixed"]?["1"], "x")
        XCTAssertEqual(f.data["fn"], "<function>")
        XCTAssertNotNil(f.data["cycle"])
    }

    func testReportValidation() throws {
        for (body, expected) in [("report{}", "'message' must be a string"),
                                 ("report{ message = 'x', severity = 'urgent' }", "not one of"),
                                 ("report{ message = 'x', data = 5 }", "'data' must be a table"),
                                 ("report('x')", "table expected")] {
            let sig = try makeSignature(signatureSource(body: body))
            _ = try runEvents([sig], [sendmsgEvent()])
            XCTAssertTrue(sig.lastError?.contains(expected) ?? false, "\(body): \(sig.lastError ?? "no error")")
        }
    }

    func testFindingsPerCallAreCapped() throws {
        let sig = try makeSignature(signatureSource(body: "for i = 1, 1000 do report{ message = tostring(i) } end"))
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(findings.count, SandboxLimits.default.maxFindingsPerCall)
        XCTAssertEqual(sig.counters.findingsDropped, UInt64(1000 - SandboxLimits.default.maxFindingsPerCall))
    }

    func testFindingsBeforeAnErrorStand() throws {
        let sig = try makeSignature(signatureSource(body: "report{ message = 'first' } error('then broke')"))
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(findings.map(\.message), ["first"])
        XCTAssertEqual(sig.counters.runtimeErrors, 1)
    }
}
