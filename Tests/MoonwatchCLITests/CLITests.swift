import Foundation
import MoonwatchCore
import XCTest

/// Runs the built binary on real files and checks what it prints.
final class CLITests: XCTestCase {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static let binary: String = {
        // The test bundle sits beside the products of the same build.
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidate = dir.appendingPathComponent("moonwatch").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return root + "/.build/debug/moonwatch"
    }()

    var tmp = ""

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "mw-cli-\(getpid())-\(name.filter { $0.isLetter })"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    /// `binary`: another binary (an installed copy); `via`: a wrapper the command line is handed to
    /// as one shell string, as script(1) takes it.
    @discardableResult
    func moonwatch(_ args: [String], stdin: String? = nil, binary: String? = nil, via: [String]? = nil) throws -> Result {
        let p = Process()
        if let via {
            let command = [binary ?? CLITests.binary] + args
            p.executableURL = URL(fileURLWithPath: via[0])
            p.arguments = Array(via.dropFirst()) + [command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " "), "/dev/null"]
        } else {
            p.executableURL = URL(fileURLWithPath: binary ?? CLITests.binary)
            p.arguments = args
        }
        p.currentDirectoryURL = URL(fileURLWithPath: CLITests.root)
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        // Drain both pipes concurrently so a chatty child never blocks.
        nonisolated(unsafe) var errData = Data()
        let t = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        t.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while t.isExecuting || !t.isFinished { usleep(1000) }
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    func file(_ name: String, _ text: String) throws -> String {
        let path = "\(tmp)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func jsonLines(_ s: String) throws -> [Value] {
        try s.split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    // MARK: replay

    func testReplayOfSCMRightsPrintsAFindingWithTheWholeEvent() throws {
        let r = try moonwatch(["replay", "examples/demo.jsonl"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let findings = try jsonLines(r.stdout)
        let f = try XCTUnwrap(findings.first { $0["signature"]?["id"] == "MW-1001" })
        XCTAssertEqual(f["data"]?["fds"], [7])
        XCTAssertEqual(f["data"]?["files"]?.array?.first?["path"], "/etc/hostname")
        XCTAssertTrue(f["message"]?.string?.contains("passed 1 file descriptor") ?? false)
        XCTAssertEqual(f["event"]?["name"], "sendmsg")
        XCTAssertEqual(f["event"]?["process"]?["pid"], 4242)
        XCTAssertEqual(f["event"]?["process"]?["comm"], "fdpass-demo")
        XCTAssertEqual(f["event"]?["args"]?["msg"]?["control"]?.array?.first?["type"], "SCM_RIGHTS")
        let toctou = try XCTUnwrap(findings.first { $0["signature"]?["id"] == "MW-2001" })
        XCTAssertEqual(toctou["data"]?["argument"], "dest_addr")
        XCTAssertEqual(toctou["data"]?["entry"]?["port"], 53)
        XCTAssertEqual(toctou["data"]?["exit"]?["port"], 4444)
        // The demo's int $0x80 recvmmsg_time32 from a 64-bit program is the third.
        XCTAssertEqual(findings.first { $0["signature"]?["id"] == "MW-3001" }?["data"]?["syscall"], "recvmmsg_time32")
        XCTAssertEqual(findings.count, 3)
        XCTAssertTrue(r.stderr.contains("events: 8 in"), r.stderr)
    }

    func testReplayFromStdinAndToAFile() throws {
        let demo = try String(contentsOfFile: CLITests.root + "/examples/demo.jsonl", encoding: .utf8)
        let out = "\(tmp)/findings.jsonl"
        let r = try moonwatch(["replay", "-", "--out", out], stdin: demo)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try jsonLines(try String(contentsOfFile: out, encoding: .utf8)).count, 3)
    }

    func testBadLinesAreSkippedAndCountedAndStrictFails() throws {
        let path = try file("bad.jsonl", """
            {"name":"close","args":{"fd":3}}
            {"name":"close",
            {"name":"sendmsgx"}
            {"name":"close","args":{"fd":4}}
            {"name":"close","args":{"fd":
            """)
        let r = try moonwatch(["replay", path, "--stats"])
        XCTAssertEqual(r.status, 0)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0 == "moonwatch: \(path):2: malformed JSON: unexpected end of input inside an object (truncated?) at byte 17" }, r.stderr)
        XCTAssertTrue(lines.contains { $0 == "moonwatch: \(path):3: unknown event \"sendmsgx\" (did you mean sendmsg, sendmmsg?)" }, r.stderr)
        XCTAssertTrue(lines.contains { $0.hasPrefix("moonwatch: \(path):5: truncated last line") }, r.stderr)
        let stats = try JSONParser.parse(String(try XCTUnwrap(lines.last)))
        XCTAssertEqual(stats["source"]?["skipped"], 3)
        XCTAssertEqual(stats["events_in"], 2)

        let strict = try moonwatch(["replay", path, "--strict"])
        XCTAssertNotEqual(strict.status, 0)
        XCTAssertTrue(strict.stderr.contains("Error: \(path):2: malformed JSON"), strict.stderr)
    }

    func testMissingCaptureFileIsAOneLineError() throws {
        let r = try moonwatch(["replay", "/nonexistent.jsonl"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "Error: /nonexistent.jsonl: No such file or directory")
    }

    func testTraceeInteropReplaysWithoutErrors() throws {
        let r = try moonwatch(["replay", "Tests/Fixtures/tracee-docs-events.jsonl", "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let stats = try JSONParser.parse(String(try XCTUnwrap(r.stderr.split(separator: "\n").last)))
        XCTAssertEqual(stats["source"]?["records"], 80)
        XCTAssertEqual(stats["source"]?["skipped"], 0)
        XCTAssertEqual(stats["events_in"], 3)
    }

    // MARK: invalid signatures

    func testInvalidSignaturesGiveLocatedOneLineErrors() throws {
        let good = """
            return {
              id = "U-1", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "sendmsg" },
              on_event = function(event, state) end,
            }
            """
        let cases: [(String, String, String)] = [
            ("syntax.lua", "return {\n  id = \"U-1\" \"x\"\n}", "syntax.lua:2: syntax error: '}' expected (to close '{' at line 1) near '\"x\"'"),
            ("noid.lua", good.replacingOccurrences(of: "id = \"U-1\", ", with: ""), "noid.lua:1: missing required field 'id'"),
            ("badevent.lua", good.replacingOccurrences(of: "\"sendmsg\"", with: "\"recvmsgs\""),
             "badevent.lua:3: unknown event \"recvmsgs\" in 'events' (did you mean recvmsg, recvmmsg?); `moonwatch events list` shows the catalogue"),
        ]
        for (name, text, expected) in cases {
            let path = try file(name, text)
            let r = try moonwatch(["replay", "examples/demo.jsonl", "--signatures", path])
            XCTAssertNotEqual(r.status, 0, name)
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines), "Error: \(tmp)/\(expected)", name)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, name)
        }
        let a = try file("a.lua", good)
        let b = try file("b.lua", "-- again\n" + good)
        let dup = try moonwatch(["replay", "examples/demo.jsonl", "--signatures", a, "--signatures", b])
        XCTAssertNotEqual(dup.status, 0)
        XCTAssertEqual(dup.stderr.trimmingCharacters(in: .newlines), "Error: \(b):3: duplicate signature id U-1 (also in \(a))")
    }

    // MARK: misbehaving signatures

    func testBombsDoNotStopTheReplayAndAreReported() throws {
        let dir = "\(tmp)/sigs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func sig(_ id: String, _ body: String) -> String {
            """
            return {
              id = "\(id)", version = "1.0.0", name = "\(id)", description = "d", severity = "high",
              events = { "sendmsg" },
              on_event = function(event, state)
                \(body)
              end,
            }
            """
        }
        _ = try file("sigs/loop.lua", sig("LOOP", "while true do end"))
        _ = try file("sigs/rep.lua", sig("REP", "local s = string.rep('x', 1e9)"))
        _ = try file("sigs/recurse.lua", sig("RECURSE", "local function f() return f() + 1 end f()"))
        _ = try file("sigs/error.lua", sig("ERR", "error('broken signature')"))
        _ = try file("sigs/good.lua", sig("GOOD", "report{ message = 'seen ' .. event.time }"))
        var capture = ""
        for i in 0..<30 { capture += "{\"name\":\"sendmsg\",\"time\":\(i),\"ret\":1,\"args\":{\"sockfd\":3}}\n" }
        let path = try file("capture.jsonl", capture)
        let r = try moonwatch(["replay", path, "--signatures", dir, "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try jsonLines(r.stdout).filter { $0["signature"]?["id"] == "GOOD" }.count, 30)
        let stats = try JSONParser.parse(String(try XCTUnwrap(r.stderr.split(separator: "\n").last)))
        let sigs = try XCTUnwrap(stats["signatures"]?.array)
        func entry(_ id: String) -> Value? { sigs.first { $0["id"]?.string == id } }
        XCTAssertEqual(entry("LOOP")?["budget_kills"], 10)
        XCTAssertEqual(entry("REP")?["memory_errors"], 10)
        XCTAssertEqual(entry("ERR")?["runtime_errors"], 10)
        XCTAssertEqual(entry("RECURSE")?["calls"], 10)
        for id in ["LOOP", "REP", "ERR", "RECURSE"] {
            XCTAssertTrue(entry(id)?["disabled"]?.string?.hasPrefix("disabled after 10 consecutive failed calls") ?? false, id)
        }
        XCTAssertEqual(entry("GOOD")?["disabled"], false)
        XCTAssertEqual(stats["signatures_disabled"], 4)
        XCTAssertTrue(r.stderr.contains("signature LOOP (\(dir)/loop.lua) disabled after 10 consecutive failed calls"), r.stderr)
    }

    // MARK: other commands and formats

    func testDescribeDocumentsTheDesignCardEvents() throws {
        let rows: [String: [String]] = [
            "recvmsg": ["sockfd  int", "msg     struct msghdr *  msghdr   U,AFTER  exit", "flags   int"],
            "recvfrom": ["src_addr  struct sockaddr *  sockaddr  U,OPT  exit", "addrlen   socklen_t *"],
            "sendmsg": ["msg     struct msghdr *  msghdr   U,TOCTOU  both"],
            "recvmmsg_time32": ["timeout  struct old_timespec32 *", "ia32 337", "fd ", "mmsg ", "vlen ", "flags "],
        ]
        for (name, expected) in rows {
            let r = try moonwatch(["events", "describe", name])
            XCTAssertEqual(r.status, 0)
            // columns: compare with runs of spaces squeezed
            func squeeze(_ s: String) -> String { s.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
            let out = r.stdout.split(separator: "\n").map { squeeze(String($0)) }.joined(separator: "\n")
            for e in expected { XCTAssertTrue(out.contains(squeeze(e)), "\(name) lacks \(e):\n\(r.stdout)") }
            XCTAssertFalse(r.stdout.lowercased().contains("kprobe"))
        }
        let md = try moonwatch(["events", "describe", "sendmsg", "--format", "markdown"])
        XCTAssertEqual(md.stdout, try String(contentsOfFile: CLITests.root + "/docs/events/sendmsg.md", encoding: .utf8))
        let unknown = try moonwatch(["events", "describe", "recv"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown event \"recv\""), unknown.stderr)
    }

    func testSignaturesTestPassesBundledAndFailsABrokenCase() throws {
        let ok = try moonwatch(["signatures", "test"])
        XCTAssertEqual(ok.status, 0, ok.stdout)
        XCTAssertTrue(ok.stdout.contains("PASS    MW-1001"), ok.stdout)
        _ = try file("s.lua", """
            return { id = "S-1", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "close" }, on_event = function(e) report{ message = "closed" } end }
            """)
        _ = try file("s.test.json", #"{"cases":[{"name":"wrongly negative","events":[{"name":"close"}],"expect":[]}]}"#)
        let bad = try moonwatch(["signatures", "test", tmp])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("FAIL    S-1"), bad.stdout)
        XCTAssertTrue(bad.stdout.contains("expected 0 finding(s), got 1"), bad.stdout)
    }

    func testFalcoAndTraceeOutputs() throws {
        let falco = try moonwatch(["replay", "examples/demo.jsonl", "-o", "falco"])
        XCTAssertEqual(falco.status, 0)
        for f in try jsonLines(falco.stdout) {
            for key in ["time", "rule", "priority", "output", "source", "tags", "hostname"] { XCTAssertNotNil(f[key], key) }
            XCTAssertFalse(f["output_fields"]?.fields?.isEmpty ?? true)
            XCTAssertTrue(f["time"]?.string?.hasSuffix("Z") ?? false)
            XCTAssertTrue(["Notice", "Warning", "Error"].contains(f["priority"]?.string ?? ""), "\(f)")
        }
        let tracee = try moonwatch(["replay", "examples/demo.jsonl", "-o", "tracee"])
        let t = try XCTUnwrap(try jsonLines(tracee.stdout).first)
        XCTAssertEqual(t["metadata"]?["Properties"]?["signatureID"], "MW-1001")
        XCTAssertEqual(t["processName"], "fdpass-demo")
        // Tracee's own reader takes it back as a (foreign) event.
        let back = try file("tracee-findings.jsonl", tracee.stdout)
        XCTAssertEqual(try moonwatch(["replay", back]).status, 0)
        let table = try moonwatch(["replay", "examples/demo.jsonl", "-o", "table"])
        XCTAssertTrue(table.stdout.hasPrefix("TIME"), table.stdout)
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 4)
    }
}
