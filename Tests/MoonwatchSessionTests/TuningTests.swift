import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// The bundled set with the user's signatures added, replacing by id; disable by id or tag;
/// the severity floor; and the kernel interest that follows the enabled set.
final class TuningTests: SessionTestCase {
    func bundledIDs() throws -> Set<String> {
        Set(try Signature.loadAll(SignatureLoader.bundledSources).map(\.info.id))
    }

    func testUserSignaturesAddToTheBundledSetAndReplaceByID() throws {
        let extra = try write("sigs/extra.lua", signatureText(id: "EXTRA-1"))
        let mine = try write("sigs/mine_7001.lua", signatureText(id: "MW-7001", events: "\"socket\"", message: "\"mine\""))
        var c = Configuration()
        c.signatures = [tmp + "/sigs"]
        let s = try session(c)
        let ids = s.loaded.map(\.info.id)
        XCTAssertEqual(Set(ids), try bundledIDs().union(["EXTRA-1"]))
        XCTAssertEqual(ids.filter { $0 == "MW-7001" }.count, 1)
        XCTAssertEqual(s.loaded.first { $0.info.id == "MW-7001" }?.path, mine)
        XCTAssertTrue(s.loaded.first { $0.info.id == "EXTRA-1" }?.path == extra)
        XCTAssertTrue(logged.contains("\(mine) replaces the bundled signature MW-7001 (signatures/network/raw_socket_opened.lua)"), "\(logged)")

        c.noBundled = true
        let only = try session(c)
        XCTAssertEqual(Set(only.loaded.map(\.info.id)), ["EXTRA-1", "MW-7001"])
    }

    func testTwoUserFilesWithOneIDFailAtStart() throws {
        try write("sigs/a.lua", signatureText(id: "DUP"))
        try write("sigs/b.lua", signatureText(id: "DUP"))
        var c = Configuration()
        c.signatures = [tmp + "/sigs"]
        XCTAssertThrowsError(try session(c)) { e in XCTAssertTrue("\(e)".contains("duplicate signature id DUP"), "\(e)") }
    }

    func testDisableByIDAndTagAndSeverityKeepsTheirEventsInTheKernel() throws {
        try write("sigs/net.lua", signatureText(id: "T-NET", events: "\"connect\"", tags: "\"net\""))
        try write("sigs/low.lua", signatureText(id: "T-LOW", events: "\"bind\"", severity: "low"))
        try write("sigs/one.lua", signatureText(id: "T-ONE", events: "\"listen\""))
        try write("sigs/keep.lua", signatureText(id: "T-KEEP", events: "\"sendmsg\"", severity: "high"))
        var c = try resolve(options: [.init(key: "signatures", value: .list([tmp + "/sigs"]), append: true),
                                      .init(key: "no_bundled", value: .scalar("true")),
                                      .init(key: "disable", value: .list(["T-ONE", "net", "T-TYPO"]), append: true),
                                      .init(key: "min_severity", value: .scalar("medium"))])
        let s = try session(c)
        XCTAssertEqual(s.engine.signatures.map(\.info.id), ["T-KEEP"])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: s.disabled.map { ($0.signature.info.id, $0.reason) }),
                       ["T-NET": "disabled by tag net", "T-LOW": "severity low is below medium", "T-ONE": "disabled by id"])
        XCTAssertTrue(logged.contains { $0.hasPrefix("disable: \"T-TYPO\" is neither the id nor a tag") }, "\(logged)")
        var interest: [KernelInterest] = []
        let events = [event("connect"), event("bind"), event("listen"), event("sendmsg")]
        let (findings, _) = try run(s, [events], follow: { interest.append($0) })
        XCTAssertEqual(findings.map(\.signature.id), ["T-KEEP"])
        XCTAssertEqual(interest.last.map { Set($0.kinds.keys.map(\.name)) }, ["sendmsg"],
                       "the kernel sends only what an enabled signature selects")

        // --events keeps its meaning: named kinds are captured, a leading + adds to the signatures'.
        c.events = "+connect"
        let plus = try session(c)
        _ = try run(plus, [[]], follow: { interest.append($0) })
        XCTAssertEqual(interest.last.map { Set($0.kinds.keys.map(\.name)) }, ["sendmsg", "connect"])
    }

    func testFindingsBelowTheFloorAreDroppedAndCounted() throws {
        try write("sigs/mixed.lua", signatureText(id: "T-MIX", severity: "high", body: "report{ message = 'quiet', severity = 'low' }"))
        var c = userSignaturesOnly()
        c.minSeverity = .medium
        let (findings, o) = try run(try session(c), [[event("sendmsg")]])
        XCTAssertEqual(findings.map(\.message), ["seen sendmsg"])
        XCTAssertEqual(o.gate.belowSeverity, 1)
    }

    /// Replaying the bundled set with the configuration's tuning, the way `replay X --disable` does.
    func testABundledSignatureDisabledByTheConfigurationFileStaysSilent() throws {
        let file = try write("mw.yaml", "disable: [MW-2001]\n")
        let s = try session(try resolve(file: file))
        let (findings, _) = try run(s, [[toctouSendto(time: 1)]])
        XCTAssertEqual(findings.count, 0)
        let all = try session(try resolve())
        XCTAssertEqual(try run(all, [[toctouSendto(time: 1)]]).findings.map(\.signature.id), ["MW-2001"])
    }

    /// Two sessions in one process keep their own process tables (mw.process sees only its own).
    func testEachSessionHasItsOwnProcessTable() throws {
        try write("sigs/lineage.lua", signatureText(id: "T-LIN", events: "\"execve\", \"sendmsg\"",
                                                    message: "mw.process(777) and mw.process(777).comm or 'unknown'"))
        let c = userSignaturesOnly()
        let other = ProcessContext(pid: 777, tid: 777, ppid: 1, uid: 0, gid: 0, comm: "sshd", exe: "/usr/sbin/sshd")
        let a = try session(c), b = try session(c)
        XCTAssertEqual(try run(a, [[event("execve", process: other), event("sendmsg")]]).findings.map(\.message), ["sshd", "sshd"])
        XCTAssertEqual(try run(b, [[event("sendmsg")]]).findings.map(\.message), ["unknown"], "b never saw pid 777")
        XCTAssertGreaterThan(a.engine.processTable.count, 0)
        XCTAssertEqual(b.engine.processTable.count, 1)
    }
}
