import MoonwatchOutput
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures
import XCTest

final class LoaderTests: XCTestCase {
    private func loadError(_ text: String, path: String = "sig.lua") -> String {
        do {
            _ = try Signature(source: SignatureSource(path: path, text: text))
            return "loaded"
        } catch {
            return error.description
        }
    }

    private let valid = """
        return {
          id = "X-1", version = "1.0.0", name = "n", description = "d", severity = "low",
          events = { "sendmsg" },
          on_event = function(event, state) end,
        }
        """

    func testValidSignatureLoads() {
        XCTAssertEqual(loadError(valid), "loaded")
    }

    func testSyntaxErrorHasFileAndLine() {
        XCTAssertEqual(loadError("return {\n  id = \"X\",\n  oops oops\n}"), "sig.lua:3: syntax error: '}' expected (to close '{' at line 1) near 'oops'")
    }

    func testMissingIdPointsAtTheReturn() {
        let text = "-- comment\nreturn {\n  version = \"1.0.0\", name = \"n\", description = \"d\", severity = \"low\",\n  events = { \"sendmsg\" },\n  on_event = function() end,\n}"
        XCTAssertEqual(loadError(text), "sig.lua:2: missing required field 'id'")
    }

    func testUnknownEventPointsAtItsLineWithASuggestion() {
        let text = valid.replacingOccurrences(of: "events = { \"sendmsg\" }", with: "events = {\n    \"sendmsgg\" }")
        XCTAssertEqual(loadError(text), "sig.lua:4: unknown event \"sendmsgg\" in 'events' (did you mean sendmsg, sendmmsg?); `moonwatch events list` shows the catalogue")
    }

    func testBadSeverityAndVersion() {
        let sev = loadError(valid.replacingOccurrences(of: "\"low\"", with: "\"urgent\""))
        XCTAssertTrue(sev.hasPrefix("sig.lua:2: severity \"urgent\""), sev)
        let ver = loadError(valid.replacingOccurrences(of: "\"1.0.0\"", with: "\"one\""))
        XCTAssertTrue(ver.hasPrefix("sig.lua:2: 'version' must look like"), ver)
    }

    func testMissingOnEventAndNonTable() {
        XCTAssertTrue(loadError(valid.replacingOccurrences(of: "on_event = function(event, state) end,", with: "")).contains("'on_event' must be a function"))
        XCTAssertEqual(loadError("return 42"), "sig.lua: the file must return a table describing the signature (it returned number)")
    }

    func testRuntimeErrorWhileLoadingHasItsLine() {
        XCTAssertEqual(loadError("local x = nil\nlocal y = x.boom\nreturn {}"), "sig.lua:2: attempt to index a nil value (local 'x')")
    }

    func testDuplicateIdsAreRejected() {
        let a = SignatureSource(path: "a.lua", text: valid)
        let b = SignatureSource(path: "b.lua", text: "-- copy\n" + valid)
        XCTAssertThrowsError(try Signature.loadAll([a, b])) { error in
            XCTAssertEqual("\(error)", "b.lua:3: duplicate signature id X-1 (also in a.lua)")
        }
    }

    func testFoldersSkipLibrariesAndTypeStubs() throws {
        let dir = "/tmp/mw-loader-\(getpid())"
        try FileSystem.makeDirectory(dir)
        try FileSystem.makeDirectory(dir + "/lib")
        try FileSystem.makeDirectory(dir + "/types")
        try FileSystem.write(dir + "/one.lua", Array(valid.utf8))
        try FileSystem.write(dir + "/lib/helper.lua", Array("return {}".utf8))
        try FileSystem.write(dir + "/types/moonwatch.d.lua", Array("---@meta".utf8))
        try FileSystem.write(dir + "/notes.txt", Array("x".utf8))
        let sources = try SignatureLoader.sources(at: [dir])
        XCTAssertEqual(sources.map(\.path), [dir + "/one.lua"])
    }

    func testFilterErrorsAreLocated() {
        func with(_ filter: String) -> String {
            loadError(valid.replacingOccurrences(of: "events = { \"sendmsg\" },", with: "events = { \"sendmsg\" },\n  filter = \(filter),"))
        }
        XCTAssertEqual(with("{ chnged = true }"), "sig.lua:4: unknown filter key 'chnged' (known: args, bits, changed, comm, compat, control, not_comm, not_uid, success, uid)")
        XCTAssertEqual(with("{ success = 1 }"), "sig.lua:4: filter.success must be true or false")
        XCTAssertEqual(with("{ args = { request = 4 } }"), "sig.lua:4: filter.args.request: none of the selected events has an argument named 'request'")
        XCTAssertEqual(with("{ uid = { \"root\" } }"), "sig.lua:4: filter.uid must list uids (integers from 0 to 4294967295)")
        XCTAssertEqual(with("{ control = \"SCM_RIGHT\" }"),
                       "sig.lua:4: filter.control \"SCM_RIGHT\" is not a control message type moonwatch decodes (SCM_RIGHTS or SCM_CREDENTIALS)")
        XCTAssertEqual(with("{ bits = 16 }"), "sig.lua:4: filter.bits must be 64 or 32 (the process's own word size, process.bits)")
        XCTAssertEqual(with("{ bits = 64, compat = true, control = { \"SCM_RIGHTS\", \"SCM_CREDENTIALS\" } }"), "loaded")
        XCTAssertEqual(with("{ args = { flags = 0 }, comm = { \"a\", \"b\" }, success = true }"), "loaded")
    }

    func testFilterDecidesNativelyWhatReachesLua() throws {
        let sig = try makeSignature(signatureSource(events: "\"sendmsg\", \"socket\"", body: "report{ message = event.name }",
            extra: "filter = { success = true, control = \"SCM_RIGHTS\", not_comm = { \"systemd\" } },"))
        var systemd = sendmsgEvent(fds: [3])
        systemd.process.comm = "systemd"
        let events = [sendmsgEvent(fds: [3]), sendmsgEvent(fds: []), sendmsgEvent(fds: [3], ret: -1), systemd, event("socket")]
        let (findings, _) = try runEvents([sig], events)
        XCTAssertEqual(findings.count, 1)
        XCTAssertEqual(sig.counters.calls, 1)
        XCTAssertEqual(sig.counters.filtered, 4)

        let byArg = try makeSignature(signatureSource(events: "\"socket\", \"close\"", body: "report{ message = event.name }",
            extra: "filter = { args = { domain = { 17, 10 } } },"))
        let (f2, _) = try runEvents([byArg], [event("socket", args: ["domain": 17]), event("socket", args: ["domain": 2]),
                                              event("socket"), event("close", args: ["fd": 17])])
        // close has no domain argument: the condition does not apply to it.
        XCTAssertEqual(f2.map(\.message), ["socket", "close"])
    }

    func testRoutingCallsOnlySelectingSignatures() throws {
        let onSend = try makeSignature(signatureSource(id: "S", events: "\"sendmsg\"", body: ""))
        let onRecv = try makeSignature(signatureSource(id: "R", events: "\"recvmsg\", \"sendto\"", body: ""))
        let engine = Engine(signatures: [onSend, onRecv], sinks: [])
        try engine.process([sendmsgEvent(), sendmsgEvent(), event("recvmsg"), event("close"), event("socket")])
        XCTAssertEqual(onSend.counters.calls, 2)
        XCTAssertEqual(onRecv.counters.calls, 1)
        XCTAssertEqual(engine.eventsIn, 5)
        XCTAssertEqual(engine.eventsRouted, 3)
        XCTAssertEqual(engine.perKind[Catalogue.kind(named: "close")!.index], 1)
        XCTAssertEqual(Set(engine.selectedKinds.map(\.name)), ["sendmsg", "recvmsg", "sendto"])
    }
}

final class AuthoringTests: XCTestCase {
    func testTemplateLoadsAndItsTestCasesPass() throws {
        let source = SignatureSource(path: "new.lua", text: Authoring.template(id: "LOCAL-X", name: "x", file: "new.lua", events: ["connect", "bind"]))
        // Only the reminder that the description is still the scaffold's.
        XCTAssertEqual(Authoring.lint(source).map(\.message), ["the description is still the scaffold's placeholder: say what it detects, its false positives and how to tune it"])
        let tests = try SignatureTestFile.parse(path: "new.test.json", text: Authoring.testTemplate(id: "LOCAL-X", events: ["connect"]))
        let result = SignatureTestRunner.run(source: source, tests: tests)
        XCTAssertTrue(result.passed, "\(result.cases.map(\.detail))")
    }

    func testLintFindsWrongNamesWithLines() {
        let text = """
            return { id = "L-1", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "connect", "close" },
              on_event = function(e, state)
                local a = e.args.adr            -- typo
                local f = e.args.fd             -- close has fd
                local x = e.exit_args.fd        -- fd is not TOCTOU
                local p = e.process.pidd
                local t = e.tme
                -- e.args.commented_out is ignored
              end }
            """
        let problems = Authoring.lint(SignatureSource(path: "l.lua", text: text)).map(\.description)
        XCTAssertEqual(problems, [
            "l.lua:4: error: e.args.adr: none of the selected events (connect, close) has an argument 'adr' (did you mean 'addr'?)",
            "l.lua:6: error: e.exit_args.fd: only TOCTOU-tagged arguments have exit re-reads (addr)",
            "l.lua:7: error: e.process.pidd does not exist (did you mean 'pid'?)",
            "l.lua:8: error: e.tme does not exist (fields: args, changed, exit_args, late, name, process, ret, time, truncated)",
            "l.lua:3: warning: the signature never calls report{}, so it can never produce a finding",
        ])
    }

    func testLintReportsLoadErrorsAndUnknownKeys() {
        let bad = Authoring.lint(SignatureSource(path: "b.lua", text: "return {"))
        XCTAssertEqual(bad.first?.level, .error)
        XCTAssertEqual(bad.first?.line, 1)
        let text = """
            return { id = "L-2", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "close" }, sevrity = "high",
              on_event = function(event, state) report{ message = "x" } end }
            """
        XCTAssertEqual(Authoring.lint(SignatureSource(path: "u.lua", text: text)).map(\.description),
                       ["u.lua:2: warning: unknown field 'sevrity' in the signature table (ignored)"])
    }

    func testTypeStubsAreUpToDate() throws {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let root = parts.joined(separator: "/")
        XCTAssertEqual(try FileSystem.readText(root + "/" + TypeStubs.path), TypeStubs.generate(),
                       "signatures/types/moonwatch.d.lua is stale: run `make docs`")
        XCTAssertEqual(try FileSystem.readText(root + "/signatures/.luarc.json"), TypeStubs.luarc)
        let stubs = TypeStubs.generate()
        for e in Catalogue.events { XCTAssertTrue(stubs.contains("---@class mw.Args.\(e.name)\n"), e.name) }
        XCTAssertTrue(stubs.contains("---@field msg mw.Msghdr? [U,TOCTOU, read at both]"))
    }
}

final class ReloadTests: XCTestCase {
    private func source(_ path: String, id: String, message: String, broken: Bool = false) -> SignatureSource {
        SignatureSource(path: path, text: """
            return { id = "\(id)", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "sendmsg" }\(broken ? " oops" : ",")
              on_event = function(event, state) state.n = (state.n or 0) + 1; report{ message = "\(message) " .. state.n } end }
            """)
    }

    func testReloadSwapsChangedKeepsUnchangedAndSurvivesBrokenFiles() throws {
        let a = source("a.lua", id: "A", message: "a1"), b = source("b.lua", id: "B", message: "b1")
        let sink = CollectingSink()
        let engine = Engine(signatures: try Signature.loadAll([a, b]), sinks: [sink], log: { _ in })
        try engine.process([sendmsgEvent()])
        // a changes, b is broken now, c is new.
        let out = engine.reload([source("a.lua", id: "A", message: "a2"), source("b.lua", id: "B", message: "b2", broken: true),
                                 source("c.lua", id: "C", message: "c1")], limits: .default)
        XCTAssertEqual(out.reloaded, ["a.lua"])
        XCTAssertEqual(out.added, ["c.lua"])
        XCTAssertEqual(out.failed.map(\.path), ["b.lua"])
        XCTAssertTrue(out.failed[0].reason.contains("b.lua:2:"), out.failed[0].reason)
        try engine.process([sendmsgEvent()])
        let messages = sink.findings.map(\.message)
        // a restarted with fresh state, b kept its old version and state, c is new.
        XCTAssertEqual(messages, ["a1 1", "b1 1", "a2 1", "b1 2", "c1 1"])
        XCTAssertEqual(engine.signatures.first { $0.info.id == "A" }?.counters.calls, 2, "counters carry over")

        let removed = engine.reload([source("c.lua", id: "C", message: "c1")], limits: .default)
        XCTAssertEqual(removed.removed, ["a.lua", "b.lua"])
        XCTAssertEqual(removed.unchanged, ["c.lua"])
        XCTAssertEqual(engine.signatures.map(\.info.id), ["C"])
    }
}

/// The walkthrough in docs/writing-signatures.md must keep working as written.
final class WritingSignaturesDocTests: XCTestCase {
    func testTheDocumentedSignaturePassesTheDocumentedCases() throws {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let doc = try FileSystem.readText(parts.joined(separator: "/") + "/docs/writing-signatures.md")
        func block(_ lang: String, containing needle: String) throws -> String {
            let chunks = doc.components(separatedBy: "```\(lang)\n").dropFirst()
            let body = try XCTUnwrap(chunks.map { $0.components(separatedBy: "```")[0] }.first { $0.contains(needle) })
            return body
        }
        let lua = try block("lua", containing: "return {")
        let json = try block("json", containing: "\"cases\"")
        let source = SignatureSource(path: "doc.lua", text: lua)
        XCTAssertEqual(Authoring.lint(source).filter { $0.level == .error }, [])
        let result = SignatureTestRunner.run(source: source, tests: try SignatureTestFile.parse(path: "doc.test.json", text: json))
        XCTAssertTrue(result.passed, "\(result.loadError ?? "") \(result.cases.map(\.detail))")
        XCTAssertEqual(result.cases.count, 2)

        // The survivors the mutation-testing section shows are what --mutate reports for this example.
        let mutation = MutationRunner.run(source: SignatureSource(path: "my-signatures/curl_to_raw_ip.lua", text: lua),
                                          tests: try SignatureTestFile.parse(path: "doc.test.json", text: json))
        let reported = mutation.survivors.map { "my-signatures/curl_to_raw_ip.lua:\($0.line): \($0.op.rawValue): \($0.change)" }
        let shown = doc.split(separator: "\n").filter { $0.hasPrefix("  my-signatures/curl_to_raw_ip.lua:") }
            .map { $0.trimmingPrefix("  ") }.map(String.init)
        XCTAssertEqual(shown.count, 3)
        for line in shown { XCTAssertTrue(reported.contains(line), "the doc shows a survivor --mutate does not report: \(line)\n\(reported)") }
        XCTAssertTrue(doc.contains("ACME-0001  \(mutation.mutants)       \(mutation.killed)      \(mutation.survivors.count)  "),
                      "the doc's summary row is stale: \(mutation.mutants) mutants, \(mutation.killed) killed")
    }
}
