import Foundation
import MoonwatchCore
import XCTest

/// The built binary, started in the background: signals, a standard input kept open, bounded waits.
final class Spawned: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe(), inp = Pipe()
    private let outDone = DispatchSemaphore(value: 0), errDone = DispatchSemaphore(value: 0)
    nonisolated(unsafe) private var outData = Data()
    nonisolated(unsafe) private var errData = Data()

    /// `closedStdout`: the read end of standard output is closed at once (a pager that quit).
    init(_ args: [String], closedStdout: Bool = false, environment: [String: String]? = nil, executable: String? = nil) throws {
        // MOONWATCH_TEST_BINARY runs these tests against another build (say, of the code before a fix).
        let binary = ProcessInfo.processInfo.environment["MOONWATCH_TEST_BINARY"] ?? CLITests.binary
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: CLITests.root)
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        if closedStdout {
            try out.fileHandleForReading.close()
            outDone.signal()
        } else {
            let h = out.fileHandleForReading
            Thread { [self] in outData = h.readDataToEndOfFile(); outDone.signal() }.start()
        }
        let e = err.fileHandleForReading
        Thread { [self] in errData = e.readDataToEndOfFile(); errDone.signal() }.start()
    }

    func write(_ text: String) { inp.fileHandleForWriting.write(Data(text.utf8)) }
    func closeInput() { try? inp.fileHandleForWriting.close() }
    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits at most `seconds` for the process to end; false (and the process killed) if it did not.
    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            closeInput()
            return false
        }
        closeInput()
        return true
    }

    var stdout: String { outDone.wait(); outDone.signal(); return String(decoding: outData, as: UTF8.self) }
    var stderr: String { errDone.wait(); errDone.signal(); return String(decoding: errData, as: UTF8.self) }
    var status: Int32 { process.terminationStatus }
    var killedBySignal: Bool { process.terminationReason == .uncaughtSignal }
}

/// Issue 9 behaviours of the built binary: signals, closed outputs, hostile input and files.
final class HardeningCLITests: XCTestCase {
    var tmp = ""

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "mw-hard-\(getpid())-\(name.filter { $0.isLetter })"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    func file(_ name: String, _ text: String) throws -> String {
        let path = "\(tmp)/\(name)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static let sendmsgLine = #"{"name":"sendmsg","time":1,"ret":1,"process":{"pid":7,"tid":7,"ppid":1,"uid":1000,"gid":1000,"comm":"t"},"args":{"sockfd":3,"flags":0}}"#

    func signature(_ id: String, _ body: String, events: String = "\"sendmsg\"") -> String {
        """
        return {
          id = "\(id)", version = "1.0.0", name = "\(id)", description = "test", severity = "low",
          events = { \(events) },
          on_event = function(event, state)
        \(body)
          end,
        }
        """
    }

    /// A folder with a signature that reports every event and one that hangs inside string.find.
    func goodAndStuckSignatures() throws -> String {
        let dir = "\(tmp)/sigs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try file("sigs/a_good.lua", signature("GOOD", "report{ message = 'seen ' .. event.time }"))
        _ = try file("sigs/b_stuck.lua", signature("STUCK", """
            local s = string.rep('a', 40)
            s:find(string.rep('a?', 40) .. string.rep('a', 40))
            """))
        return dir
    }

    // MARK: signals (9.1, 9.9)

    func testCtrlCEndsAReplayWhileASignatureIsStuckInsideC() throws {
        let sigs = try goodAndStuckSignatures()
        // An hour of time limit: only the stop request can end the stuck call.
        let p = try Spawned(["replay", "-", "--signatures", sigs, "--call-timeout", "3600000"])
        p.write(HardeningCLITests.sendmsgLine + "\n")
        usleep(1_000_000)   // the event is in, STUCK is spinning inside string.find
        XCTAssertTrue(p.process.isRunning)
        let sent = Date()
        p.signal(SIGINT)
        XCTAssertTrue(p.wait(seconds: 3), "replay did not end within 3 s of SIGINT")
        let took = Date().timeIntervalSince(sent)
        XCTAssertFalse(p.killedBySignal, "ended by the signal instead of handling it")
        XCTAssertEqual(p.status, 130, p.stderr)
        XCTAssertTrue(p.stdout.contains("\"seen 1\""), "the finding before the stuck call was not written: \(p.stdout)")
        XCTAssertTrue(p.stderr.contains("STUCK") && p.stderr.contains("shutdown"), p.stderr)
        XCTAssertTrue(p.stderr.contains("events: 1 in"), "no stats: \(p.stderr)")
        print("replay ended \(String(format: "%.2f", took)) s after SIGINT with a stuck signature")
    }

    func testSigtermEndsAReplayWaitingForInputWithStatsAndFindings() throws {
        let p = try Spawned(["replay", "-", "--signatures", try goodAndStuckSignatures() + "/a_good.lua"])
        p.write((1...3).map { HardeningCLITests.sendmsgLine.replacingOccurrences(of: "\"time\":1", with: "\"time\":\($0)") }
            .joined(separator: "\n") + "\n")
        usleep(500_000)
        p.signal(SIGTERM)
        XCTAssertTrue(p.wait(seconds: 3), "replay did not end after SIGTERM")
        XCTAssertFalse(p.killedBySignal)
        XCTAssertEqual(p.status, 143, p.stderr)
        XCTAssertEqual(p.stdout.split(separator: "\n").count, 3, p.stdout)
        XCTAssertTrue(p.stderr.contains("events: 3 in"), p.stderr)
        XCTAssertTrue(p.stderr.contains("interrupted"), p.stderr)
    }

    func testClosedStdoutEndsTheReplayWithAMessageAndTheStats() throws {
        let lines = (1...2000).map { HardeningCLITests.sendmsgLine.replacingOccurrences(of: "\"time\":1", with: "\"time\":\($0)") }
        let input = try file("many.jsonl", lines.joined(separator: "\n") + "\n")
        let p = try Spawned(["replay", input, "--signatures", try goodAndStuckSignatures() + "/a_good.lua"], closedStdout: true)
        XCTAssertTrue(p.wait(seconds: 30))
        XCTAssertFalse(p.killedBySignal, "died of SIGPIPE without a word")
        XCTAssertEqual(p.status, 1)
        XCTAssertTrue(p.stderr.contains("broken pipe"), p.stderr)
        XCTAssertTrue(p.stderr.contains("events:"), p.stderr)
    }

    func testAStuckSignatureIsDisabledAndTheReplayCompletes() throws {
        let lines = (1...5).map { HardeningCLITests.sendmsgLine.replacingOccurrences(of: "\"time\":1", with: "\"time\":\($0)") }
        let input = try file("five.jsonl", lines.joined(separator: "\n") + "\n")
        let p = try Spawned(["replay", input, "--signatures", try goodAndStuckSignatures(), "--call-timeout", "200", "--stats"])
        XCTAssertTrue(p.wait(seconds: 30), "replay hung on a stuck signature")
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(p.stdout.split(separator: "\n").count, 5)
        let stats = try JSONParser.parse(String(p.stderr.split(separator: "\n").last ?? ""))
        let stuck = stats["signatures"]?.array?.first { $0["id"] == "STUCK" }
        XCTAssertEqual(stuck?["timeouts"], 1)
        XCTAssertEqual(stuck?["calls"], 1)
        XCTAssertNotEqual(stuck?["disabled"], false)
    }

    // MARK: memory (9.2)

    func testFourMiBMessagesKeepTheReplaySmall() throws {
        let sig = try file("loud.lua", signature("LOUD", """
            local m = string.rep("m", 4 * 1024 * 1024)
            for i = 1, 16 do report{ message = m, data = { blob = m } } end
            """))
        let lines = (1...16).map { HardeningCLITests.sendmsgLine.replacingOccurrences(of: "\"time\":1", with: "\"time\":\($0)") }
        let input = try file("sixteen.jsonl", lines.joined(separator: "\n") + "\n")
        let out = "\(tmp)/findings.jsonl"
        let p = try Spawned(["replay", input, "--signatures", sig, "--out", out, "--stats"])
        XCTAssertTrue(p.wait(seconds: 120))
        XCTAssertEqual(p.status, 0, p.stderr)
        let stats = try JSONParser.parse(String(p.stderr.split(separator: "\n").last ?? ""))
        XCTAssertEqual(stats["findings"], 256)
        XCTAssertEqual(stats["findings_cut"], 256)
        let rss = try XCTUnwrap(stats["peak_rss_bytes"]?.uint64, "no peak_rss_bytes in \(stats.jsonText)")
        // 256 findings of 4 MiB message + 4 MiB data would be 2 GiB (the sandbox's own 16 MiB
        // and the binary come on top of what findings cost).
        XCTAssertLessThan(rss, 256 << 20, "peak RSS \(rss >> 20) MiB")
        print("replay of 256 findings of 2x4 MiB: peak RSS \(rss >> 20) MiB")
    }

    // MARK: input (9.5, 9.7)

    func testReplayOfDevZeroStaysSmallAndStopsOnCtrlC() throws {
        let p = try Spawned(["replay", "/dev/zero", "--stats"])
        usleep(1_500_000)
        p.signal(SIGINT)
        XCTAssertTrue(p.wait(seconds: 3), "replay /dev/zero did not stop")
        XCTAssertEqual(p.status, 130, p.stderr)
        let stats = try JSONParser.parse(String(p.stderr.split(separator: "\n").first { $0.hasPrefix("{") } ?? ""))
        XCTAssertEqual(stats["source"]?["skipped_by_reason"]?["line too long"], 1)
        XCTAssertLessThan(stats["peak_rss_bytes"]?.uint64 ?? .max, 128 << 20)
    }

    func testAnUnreadableLaterFileKeepsTheEarlierFindingsAndFails() throws {
        let sig = try file("good.lua", signature("GOOD", "report{ message = 'seen ' .. event.time }"))
        let first = try file("first.jsonl", HardeningCLITests.sendmsgLine + "\n")
        let p = try Spawned(["replay", first, tmp, "--signatures", sig])
        XCTAssertTrue(p.wait(seconds: 30))
        XCTAssertEqual(p.status, 1, p.stderr)
        XCTAssertTrue(p.stdout.contains("\"seen 1\""), p.stdout)
        XCTAssertTrue(p.stderr.contains("could not be read"), p.stderr)
        XCTAssertTrue(p.stderr.contains("events: 1 in"), p.stderr)
    }

    func testAReplayWithNoReadableLineFails() throws {
        let input = try file("garbage.jsonl", "not json\n{\"name\":\"no_such_event\"}\n")
        let p = try Spawned(["replay", input])
        XCTAssertTrue(p.wait(seconds: 30))
        XCTAssertEqual(p.status, 1, p.stderr)
        XCTAssertTrue(p.stderr.contains("no line of the input could be read"), p.stderr)
    }

    // MARK: typed input (9.6)

    func replayStats(_ lines: [String], _ extra: [String] = []) throws -> (findings: [Value], stats: Value, stderr: String) {
        let input = try file("in.jsonl", lines.joined(separator: "\n") + "\n")
        let p = try Spawned(["replay", input, "--stats"] + extra)
        XCTAssertTrue(p.wait(seconds: 60))
        let stats = try JSONParser.parse(String(p.stderr.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        let findings = try p.stdout.split(separator: "\n").map { try JSONParser.parse(String($0)) }
        return (findings, stats, p.stderr)
    }

    func errors(_ stats: Value, _ id: String) -> Value? {
        stats["signatures"]?.array?.first { $0["id"]?.string == id }.map { s in
            .int((s["runtime_errors"]?.int64 ?? 0) + (s["budget_kills"]?.int64 ?? 0) + (s["memory_errors"]?.int64 ?? 0))
        }
    }

    func testTenCraftedLinesCannotDisableABundledSignatureBeforeTheRealAttack() throws {
        // `"type": true` passed the old shape check (true reads as 1) and made MW-7001 fail on
        // `type & 0xf`; ten of them disabled it.
        let crafted = #"{"name":"socket","ret":3,"process":{"pid":66,"comm":"decoy","exe":"/tmp/decoy"},"args":{"domain":17,"type":true,"protocol":0}}"#
        let attack = #"{"name":"socket","ret":4,"process":{"pid":77,"comm":"implant","exe":"/tmp/implant"},"args":{"domain":17,"type":3,"protocol":768}}"#
        let r = try replayStats(Array(repeating: crafted, count: 10) + [attack])
        XCTAssertEqual(r.findings.filter { $0["signature"]?["id"] == "MW-7001" }.map { $0["event"]?["process"]?["comm"] }, ["implant"], r.stderr)
        XCTAssertEqual(errors(r.stats, "MW-7001"), 0)
        XCTAssertEqual(r.stats["source"]?["skipped_by_reason"]?["bad argument"], 10)
    }

    func testTraceePacketSocketByNameFiresMW7001() throws {
        let line = #"{"timestamp":1700000000000000000,"hostProcessId":4242,"hostThreadId":4242,"hostParentProcessId":1,"userId":0,"processName":"sniffer","executable":{"path":"/tmp/sniffer"},"eventName":"socket","returnValue":5,"args":[{"name":"domain","type":"int","value":"AF_PACKET"},{"name":"type","type":"int","value":"SOCK_RAW"},{"name":"protocol","type":"int","value":768}]}"#
        let r = try replayStats([line])
        let f = try XCTUnwrap(r.findings.first { $0["signature"]?["id"] == "MW-7001" }, r.stderr)
        XCTAssertEqual(f["data"]?["domain"], "AF_PACKET")
        XCTAssertEqual(errors(r.stats, "MW-7001"), 0)
    }

    func testTraceeExecveatFlagsByNameDoNotBreakMW4002() throws {
        let ctx = #""timestamp":1700000000000000000,"hostProcessId":4343,"hostThreadId":4343,"hostParentProcessId":1,"userId":1000,"processName":"loader""#
        let memfd = #"{\#(ctx),"eventName":"memfd_create","returnValue":3,"args":[{"name":"name","type":"const char*","value":"payload"},{"name":"flags","type":"unsigned int","value":"MFD_CLOEXEC"}]}"#
        let exec = #"{\#(ctx),"eventName":"execveat","returnValue":0,"args":[{"name":"dirfd","type":"int","value":3},{"name":"pathname","type":"const char*","value":""},{"name":"argv","type":"const char**","value":["payload"]},{"name":"flags","type":"int","value":"AT_EMPTY_PATH"}]}"#
        let r = try replayStats([memfd, exec])
        XCTAssertEqual(errors(r.stats, "MW-4002"), 0, r.stderr)
        XCTAssertEqual(r.stats["source"]?["skipped"], 0, r.stderr)
        let f = try XCTUnwrap(r.findings.first { $0["signature"]?["id"] == "MW-4002" }, r.stderr)
        XCTAssertEqual(f["data"]?["memfd"], "payload")
    }

    func testAnEventOverTheMemoryCapIsRefusedNotChargedToSignatures() throws {
        let argv = (0..<40000).map { "\"arg\($0)\"" }.joined(separator: ",")
        let big = #"{"name":"execve","ret":0,"process":{"pid":9},"args":{"pathname":"/bin/x","argv":[\#(argv)]}}"#
        let r = try replayStats([big], ["--memory", "1"])
        XCTAssertEqual(r.stats["source"]?["skipped_by_reason"]?["event too large"], 1, r.stderr)
        XCTAssertEqual(r.stats["signature_errors"], 0, r.stderr)
    }

    // MARK: output files (9.8)

    func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable>" }

    func replayInto(_ out: String) throws -> Spawned {
        let sig = try file("good.lua", signature("GOOD", "report{ message = 'seen' }"))
        let input = try file("one.jsonl", HardeningCLITests.sendmsgLine + "\n")
        let p = try Spawned(["replay", input, "--signatures", sig, "--out", out])
        XCTAssertTrue(p.wait(seconds: 30))
        return p
    }

    func testFindingsFilesAreCreatedPrivate() throws {
        let out = "\(tmp)/findings.jsonl"
        let p = try replayInto(out)
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(mode(out), 0o600)
        XCTAssertTrue(contents(out).contains("seen"))
    }

    /// A replay into `out` must fail saying `reason` and leave `kept` as it was.
    func assertOutputRefused(_ out: String, because reason: String, keeping kept: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let before = contents(kept)
        let p = try replayInto(out)
        XCTAssertNotEqual(p.status, 0, file: file, line: line)
        XCTAssertTrue(p.stderr.contains(reason), p.stderr, file: file, line: line)
        XCTAssertEqual(contents(kept), before, file: file, line: line)
    }

    func testASymlinkAtTheOutputPathIsNotFollowed() throws {
        let target = try file("precious", "keep me\n")
        let link = "\(tmp)/out.jsonl"
        XCTAssertEqual(symlink(target, link), 0)
        try assertOutputRefused(link, because: "symbolic link", keeping: target)
    }

    func testAFileOfAnotherUserOrWithSeveralLinksIsNotWrittenInto() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to give a file to another user")
        let theirs = try file("theirs.jsonl", "their data\n")
        XCTAssertEqual(chown(theirs, 65534, 65534), 0)
        try assertOutputRefused(theirs, because: "belongs to uid 65534", keeping: theirs)

        let original = try file("original", "linked data\n")
        let hard = "\(tmp)/hard.jsonl"
        XCTAssertEqual(link(original, hard), 0)
        try assertOutputRefused(hard, because: "hard links", keeping: original)
    }

    func testAFIFONobodyReadsIsAnErrorNotAHang() throws {
        let fifo = "\(tmp)/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let p = try replayInto(fifo)
        XCTAssertNotEqual(p.status, 0)
        XCTAssertTrue(p.stderr.contains("FIFO"), p.stderr)
    }

    func testAStartThatFailsTruncatesNothing() throws {
        let findings = try file("findings.jsonl", "old findings\n")
        let capture = try file("capture.jsonl", "old capture\n")
        var runs: [(String, [String], [String: String]?)] = [
            ("probes refused", ["run", "--out", findings, "--capture", capture, "--for", "1s"], ["MOONWATCH_BPF_OBJECT": "/nonexistent.bpf.o"]),
            ("capture, probes refused", ["capture", capture, "--for", "1s"], ["MOONWATCH_BPF_OBJECT": "/nonexistent.bpf.o"]),
            ("bad option", ["run", "--out", findings, "--capture", capture, "--events", "bogus"], nil),
            ("bad signatures", ["replay", "-", "--out", findings, "--signatures", "/nonexistent"], nil),
        ]
        if geteuid() == 0 {
            // Not root: the preflight refuses before anything is opened.
            runs.append(("not root", ["run", "--out", findings, "--capture", capture, "--for", "1s"], nil))
        }
        for (what, args, env) in runs {
            let p: Spawned
            if what == "not root" {
                p = try Spawned(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                                 ProcessInfo.processInfo.environment["MOONWATCH_TEST_BINARY"] ?? CLITests.binary] + args,
                                executable: "/usr/bin/setpriv")
            } else {
                p = try Spawned(args, environment: env)
            }
            p.closeInput()
            XCTAssertTrue(p.wait(seconds: 30), what)
            XCTAssertNotEqual(p.status, 0, "\(what): \(p.stderr)")
            XCTAssertEqual(contents(findings), "old findings\n", "\(what): \(p.stderr)")
            XCTAssertEqual(contents(capture), "old capture\n", "\(what): \(p.stderr)")
        }
    }

    // MARK: terminal text (9.3)

    /// Bytes a terminal acts on: C0 other than the line feed, DEL, and C1 (U+0080-U+009F).
    func controlBytes(_ s: String) -> [String] {
        var found: [String] = []
        let b = Array(s.utf8)
        for (i, c) in b.enumerated() {
            if (c < 0x20 && c != 0x0A) || c == 0x7F { found.append(String(format: "0x%02x@%d", c, i)) }
            if c == 0xC2, i + 1 < b.count, b[i + 1] >= 0x80, b[i + 1] <= 0x9F { found.append("C1@\(i)") }
        }
        return found
    }

    static let forged = "\r\n\u{1B}[2Kmoonwatch: FORGED all clear\u{7F}\u{9B}31m\u{202E}"

    func testHostileEventAndSignatureTextCannotDriveTheTerminal() throws {
        let evil = HardeningCLITests.forged
        let sig = try file("evil.lua", signature("EVIL\u{1B}[31m", """
            print("printed" .. \(luaString(evil)))
            report{ message = "msg" .. \(luaString(evil)) .. event.process.comm }
            error("boom" .. \(luaString(evil)))
            """))
        // The capture file's own name and one of its lines are hostile too.
        var line = HardeningCLITests.sendmsgLine
        line = line.replacingOccurrences(of: "\"comm\":\"t\"", with: "\"comm\":\"\\u001b]0;pwned\\u0007\\r\\nmoonwatch: FORGED\"")
        let input = try file("cap\u{1B}[2J\nmoonwatch: FORGED.jsonl", line + "\nnot json \u{1B}[31m\n")
        for format in ["table", "json"] {
            let p = try Spawned(["replay", input, "--signatures", sig, "--output", format])
            XCTAssertTrue(p.wait(seconds: 30))
            XCTAssertEqual(p.status, 0, p.stderr)
            XCTAssertTrue(p.stdout.contains("FORGED"), "the finding is missing: \(p.stdout)")
            XCTAssertEqual(controlBytes(p.stdout), [], "\(format) output: \(p.stdout.debugDescription)")
            XCTAssertEqual(controlBytes(p.stderr), [], p.stderr.debugDescription)
            for l in p.stderr.split(separator: "\n") {
                XCTAssertTrue(l.hasPrefix("moonwatch: ") && !l.hasPrefix("moonwatch: FORGED"), "forged line: \(l)")
            }
            XCTAssertTrue(p.stderr.contains("\\e[2J\\nmoonwatch: FORGED.jsonl:2:"), "file name not escaped: \(p.stderr)")
            XCTAssertTrue(p.stderr.contains("printed\\r\\n\\e[2K"), p.stderr)
        }
    }

    func testHostileTextInALoadErrorIsEscaped() throws {
        let sig = try file("bad\u{1B}[31m.lua", "return { id = 'X\\27[2J', events = { 'no\\27]0;x\\7' } }")
        let p = try Spawned(["replay", "-", "--signatures", sig])
        p.closeInput()
        XCTAssertTrue(p.wait(seconds: 30))
        XCTAssertNotEqual(p.status, 0)
        XCTAssertTrue(p.stderr.contains("bad\\e[31m.lua"), p.stderr)
        XCTAssertEqual(controlBytes(p.stderr), [], p.stderr.debugDescription)
    }

    // MARK: make test's closing line (9.11)

    /// tools/run-tests.sh with a stand-in for `swift test` that prints both runners' summaries.
    func runTests(printing summary: String, status: Int32) throws -> (lastLine: String, status: Int32) {
        let fake = try file("fake-swift", "#!/bin/sh\ncat <<'EOF'\n\(summary)\nEOF\nexit \(status)\n")
        chmod(fake, 0o755)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.root + "/tools/run-tests.sh")
        p.environment = ["SWIFT": fake, "PATH": "/usr/bin:/bin", "TMPDIR": tmp]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        return (String(lines.last ?? ""), p.terminationStatus)
    }

    func testTheLastLineOfMakeTestCountsBothRunners() throws {
        let passing = """
            Test Suite 'All tests' passed at 2026-12-02 00:54:17.309
            \t Executed 153 tests, with 0 failures (0 unexpected) in 17.418 (17.418) seconds
            ✔ Test run with 0 tests in 0 suites passed after 0.001 seconds.
            """
        let ok = try runTests(printing: passing, status: 0)
        XCTAssertEqual(ok.lastLine, "make test: passed - 153 tests ran (153 XCTest, 0 Swift Testing), 0 failed")
        XCTAssertEqual(ok.status, 0)

        let failing = """
            \t Executed 12 tests, with 2 failures (0 unexpected) in 1.0 (1.0) seconds
            ✘ Test run with 4 tests in 2 suites failed after 0.2 seconds with 1 issue.
            """
        let bad = try runTests(printing: failing, status: 1)
        XCTAssertEqual(bad.lastLine, "make test: FAILED - 16 tests ran (12 XCTest, 4 Swift Testing), 3 failed")
        XCTAssertNotEqual(bad.status, 0)

        // Skipped tests change XCTest's wording; the outermost summary still counts.
        let skipped = """
            \t Executed 2 tests, with 0 failures (0 unexpected) in 0.03 (0.03) seconds
            \t Executed 300 tests, with 3 tests skipped and 2 failures (0 unexpected) in 213.2 (213.2) seconds
            ✔ Test run with 0 tests in 0 suites passed after 0.001 seconds.
            """
        let partly = try runTests(printing: skipped, status: 1)
        XCTAssertEqual(partly.lastLine, "make test: FAILED - 300 tests ran (300 XCTest, 0 Swift Testing), 2 failed")

        let crashed = try runTests(printing: "Test Case 'X' started", status: 139)
        XCTAssertTrue(crashed.lastLine.hasPrefix("make test: FAILED - the test process printed no summary"), crashed.lastLine)
        XCTAssertEqual(crashed.status, 139)
    }
}

/// A Lua string literal holding `s` exactly (decimal escapes for every byte outside printable ASCII).
func luaString(_ s: String) -> String {
    var out = "\""
    for b in s.utf8 {
        if b >= 0x20 && b < 0x7F && b != 0x22 && b != 0x5C { out.append(Character(UnicodeScalar(b))) } else { out += "\\\(b)" }
    }
    return out + "\""
}
