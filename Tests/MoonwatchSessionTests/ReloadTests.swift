import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// Reload through the session (what SIGHUP does): the configuration file is read again, the
/// signatures follow, the kernel interest follows the enabled set, a bad configuration changes
/// nothing.
final class ReloadTests: SessionTestCase {
    var configPath = ""

    func start(_ yaml: String) throws -> Session {
        try write("sigs/conn.lua", signatureText(id: "T-CONN", events: "\"connect\"", tags: "\"net\""))
        try write("sigs/send.lua", signatureText(id: "T-SEND", events: "\"sendmsg\""))
        configPath = try write("mw.yaml", yaml)
        let source = ConfigurationSource(configFile: configPath)
        return try session(try source.resolve(), source: source)
    }

    func testAConfigurationChangeDisablesASignatureAndTheKernelStopsSendingItsEvents() throws {
        let s = try start("no_bundled: true\nsignatures: [sigs]\n")
        var interests: [Set<String>] = []
        let batch = [event("connect"), event("sendmsg")]
        let (findings, _) = try run(s, [batch, batch.map { var e = $0; e.time = 2; return e }], between: { i in
            if i == 0 {
                try? "no_bundled: true\nsignatures: [sigs]\ndisable: [net]\n".write(toFile: self.configPath, atomically: false, encoding: .utf8)
                s.requestReload()
            }
        }, follow: { interests.append(Set($0.kinds.keys.map(\.name))) })
        XCTAssertEqual(findings.map { "\($0.signature.id) \($0.time)" }, ["T-CONN 1", "T-SEND 1", "T-SEND 2"], "T-CONN is off after the reload")
        XCTAssertEqual(interests, [["connect", "sendmsg"], ["sendmsg"]])
        XCTAssertEqual(s.reloads, 1)
        XCTAssertEqual(s.disabled.map(\.signature.info.id), ["T-CONN"])
        XCTAssertTrue(logged.contains { $0.hasPrefix("reload: 0 reloaded, 0 added, 0 removed, 2 unchanged, 0 failed; 1 enabled, 1 disabled") }, "\(logged)")
        XCTAssertTrue(logged.contains("reload: the probes now capture 1 event kind"), "\(logged)")
    }

    func testABadConfigurationKeepsThePreviousOne() throws {
        let s = try start("no_bundled: true\nsignatures: [sigs]\ndisable: [T-CONN]\n")
        let (findings, _) = try run(s, [[event("connect"), event("sendmsg")], [event("connect", time: 2)]], between: { i in
            if i == 0 {
                try? "no_bundled: true\nsignatures: [sigs]\ndisable: [T-CONN]\nrate_limt: 3\n".write(toFile: self.configPath, atomically: false, encoding: .utf8)
                s.requestReload()
            }
        })
        XCTAssertEqual(findings.map(\.signature.id), ["T-SEND"])
        XCTAssertTrue(logged.contains { $0.hasPrefix("reload: the configuration is not valid, keeping the previous one: \(self.configPath):4: unknown key 'rate_limt'") }, "\(logged)")
        XCTAssertEqual(s.reloads, 0)
        XCTAssertEqual(s.configuration.disable, ["T-CONN"])
    }

    func testChangedParamsMakeAFreshInstanceUnchangedSignaturesKeepTheirState() throws {
        try write("sigs/count.lua", signatureText(id: "T-COUNT", events: "\"sendmsg\"", extra: "params = { word = \"a\" },",
                                                  message: "params.word .. ' ' .. state.n", body: "state.n = (state.n or 0) + 1"))
        try write("sigs/keep.lua", signatureText(id: "T-KEEP", events: "\"sendmsg\"", message: "'keep ' .. state.n",
                                                 body: "state.n = (state.n or 0) + 1"))
        configPath = try write("mw.yaml", "no_bundled: true\nsignatures: [sigs]\ndedup_window: 0\n")
        let source = ConfigurationSource(configFile: configPath)
        let s = try session(try source.resolve(), source: source)
        let (findings, _) = try run(s, [[event("sendmsg")], [event("sendmsg", time: 2)]], between: { i in
            if i == 0 {
                try? "no_bundled: true\nsignatures: [sigs]\ndedup_window: 0\nparams: {T-COUNT: {word: b}}\n"
                    .write(toFile: self.configPath, atomically: false, encoding: .utf8)
                s.requestReload()
            }
        })
        XCTAssertEqual(findings.map(\.message).sorted(), ["a 1", "b 1", "keep 1", "keep 2"])
        XCTAssertTrue(logged.contains { $0.hasPrefix("reload: 1 reloaded, 0 added, 0 removed, 1 unchanged") }, "\(logged)")
    }

    func testABrokenSignatureKeepsItsPreviousVersionAndRestartOnlyKeysWait() throws {
        let s = try start("no_bundled: true\nsignatures: [sigs]\n")
        let (findings, _) = try run(s, [[event("sendmsg")], [event("sendmsg", time: 2)]], between: { i in
            if i == 0 {
                try? "return {".write(toFile: self.tmp + "/sigs/send.lua", atomically: false, encoding: .utf8)
                try? "no_bundled: true\nsignatures: [sigs]\nring_size: 64\ndedup_window: 0\n".write(toFile: self.configPath, atomically: false, encoding: .utf8)
                s.requestReload()
            }
        })
        XCTAssertEqual(findings.map(\.time), [1, 2], "the previous T-SEND still runs; the window change took effect")
        XCTAssertTrue(logged.contains { $0.contains("the previous version of \(self.tmp)/sigs/send.lua keeps running") }, "\(logged)")
        XCTAssertTrue(logged.contains("reload: ring_size changed; it takes effect at the next start"), "\(logged)")
        XCTAssertEqual(s.configuration.ringSize, 16)
        XCTAssertEqual(s.configuration.dedupWindow, 0)
    }

    /// A signature the engine disables (it kept failing) no longer needs its events in the kernel.
    func testARuntimeDisabledSignatureLeavesTheKernelInterest() throws {
        try write("sigs/bad.lua", signatureText(id: "T-BAD", events: "\"bind\"", body: "error('always')"))
        try write("sigs/ok.lua", signatureText(id: "T-OK", events: "\"sendmsg\""))
        let c = userSignaturesOnly()
        var interests: [Set<String>] = []
        let binds = (1...Signature.consecutiveFailureLimit).map { event("bind", time: UInt64($0)) }
        _ = try run(try session(c), [binds, [event("sendmsg")]], follow: { interests.append(Set($0.kinds.keys.map(\.name))) })
        XCTAssertEqual(interests, [["bind", "sendmsg"], ["sendmsg"]])
    }
}
