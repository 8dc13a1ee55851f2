import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// Alert volume: identical findings folded per window of event time, a per-signature rate limit,
/// environment values out of findings.
final class DedupTests: SessionTestCase {
    /// The acceptance case: one process repeating one TOCTOU race 500 times in 25 s.
    func testFiveHundredRepeatsOfOneTOCTOUFindingGiveTwoLines() throws {
        let events = (0..<500).map { toctouSendto(time: 1_000 * second + UInt64($0) * 50_000_000) }
        let (findings, o) = try run(try session(try resolve()), stride(from: 0, to: 500, by: 64).map { Array(events[$0..<min($0 + 64, 500)]) })
        XCTAssertEqual(findings.count, 2, findings.map(\.message).joined(separator: "\n"))
        XCTAssertNil(findings[0].repeats)
        XCTAssertEqual(findings[0].time, 1_000 * second)
        XCTAssertEqual(findings[1].repeats, Repeats(count: 499, first: 1_000 * second, last: 1_000 * second + 499 * 50_000_000))
        XCTAssertEqual(findings[1].message, findings[0].message)
        XCTAssertEqual(o.gate.folded, 499)
        XCTAssertEqual(o.gate.summaries, 1)
        XCTAssertEqual(o.gate.written, 2)
        var w = JSONWriter()
        FindingFormatter.write(findings[1], format: .table, host: "h", to: &w)
        XCTAssertTrue(String(decoding: w.bytes, as: UTF8.self).contains("(499 more times from "), String(decoding: w.bytes, as: UTF8.self))
    }

    func testWithoutDeduplicationTheRateLimitHoldsTheRestBackAndSaysSo() throws {
        let events = (0..<500).map { toctouSendto(time: 1_000 * second + UInt64($0) * 50_000_000) }
        let (findings, o) = try run(try session(try resolve(sets: ["dedup_window=0"])), [events])
        XCTAssertEqual(findings.count, 101)
        XCTAssertEqual(o.gate.rateLimited, ["MW-2001": 400])
        let notice = try XCTUnwrap(findings.last)
        XCTAssertTrue(notice.message.hasPrefix("400 more findings of this signature in the minute from "), notice.message)
        XCTAssertEqual(notice.data["held_back"], 400)
        let all = try run(try session(try resolve(sets: ["dedup_window=0", "rate_limit=0"])), [events])
        XCTAssertEqual(all.findings.count, 500)
        XCTAssertEqual(all.outcome.gate.written, 500)
    }

    func testAWindowClosesOnEventTimeAndANewOneOpens() throws {
        // 0 s, 30 s (folded), 70 s (a new window: the first closed at 60 s), 80 s (folded).
        let times: [UInt64] = [0, 30, 70, 80].map { (1_000 + $0) * second }
        var afterSecond: [Finding] = []
        let sink = CollectingSink()
        let s = try session(try resolve())
        let source = BatchSource(times.map { [toctouSendto(time: $0)] }, after: { i in if i == 2 { afterSecond = sink.findings } })
        _ = try s.run(.events(source), sinks: [sink])
        XCTAssertEqual(afterSecond.count, 1, "the 70 s event is handed out, not yet processed")
        XCTAssertEqual(sink.findings.map { $0.repeats?.count ?? 0 }, [0, 1, 0, 1])
        XCTAssertEqual(sink.findings.map(\.time), [1_000, 1_030, 1_070, 1_080].map { $0 * second })
    }

    func testTheSignatureChoosesWhatCountsAsTheSame() throws {
        try write("sigs/k.lua", signatureText(id: "T-KEY", events: "\"connect\"", body: """
            report{ message = "by port " .. event.args.sockfd, dedup = "one key" }
            do return end
            """))
        let c = userSignaturesOnly()
        var other = testProcess
        other.pid = 200
        let events = [event("connect", args: ["sockfd": 3]), event("connect", time: 2, process: other, args: ["sockfd": 4])]
        let (findings, _) = try run(try session(c), [events])
        XCTAssertEqual(findings.map(\.message), ["by port 3", "by port 4"], "two processes, two messages, one key: folded")
        XCTAssertEqual(findings.last?.repeats?.count, 1)
        // The default key is the process and the message: these two differ in both.
        try write("sigs/k.lua", signatureText(id: "T-KEY", events: "\"connect\"", message: "\"by port \" .. event.args.sockfd"))
        XCTAssertEqual(try run(try session(c), [events]).findings.count, 2)
    }

    func testEnvironmentValuesLeaveFindingsUnlessKept() throws {
        try write("sigs/exec.lua", signatureText(id: "T-EXEC", events: "\"execve\"",
                                                 message: "\"env seen by the signature: \" .. table.concat(event.args.envp, \";\")"))
        var c = userSignaturesOnly()
        c.keepEnv = ["LANG"]
        let exec = event("execve", args: ["pathname": "/bin/sh", "argv": ["sh"],
                                          "envp": ["API_TOKEN=s3cr3t", "LANG=C.UTF-8", "NOVALUE"]])
        let (findings, o) = try run(try session(c), [[exec]])
        let f = try XCTUnwrap(findings.first)
        XCTAssertEqual(f.event?[arg: "envp"], ["API_TOKEN=<redacted>", "LANG=C.UTF-8", "NOVALUE"])
        XCTAssertTrue(f.message.contains("API_TOKEN=s3cr3t"), "the signature itself sees the environment")
        XCTAssertEqual(o.gate.envValuesRemoved, 1)
        var w = JSONWriter()
        for format in OutputFormat.allCases { FindingFormatter.write(f, format: format, host: "h", to: &w) }
        let text = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertFalse(text.replacingOccurrences(of: f.message, with: "").contains("s3cr3t"), "no format carries the value")
    }

    func testCapturesLeaveTheEnvironmentOutUnlessAsked() throws {
        let exec = event("execve", args: ["pathname": "/bin/sh", "argv": ["sh"], "envp": ["API_TOKEN=s3cr3t", "HOME=/root"]])
        for keep in [false, true] {
            var c = Configuration()
            c.capture = tmp + "/capture-\(keep).jsonl"
            c.captureEnv = keep
            _ = try run(try session(c), [[exec, event("sendmsg")]])
            let text = try String(contentsOfFile: c.capture!, encoding: .utf8)
            XCTAssertEqual(text.split(separator: "\n").count, 2)
            XCTAssertEqual(text.contains("s3cr3t"), keep, text)
            XCTAssertEqual(text.contains("API_TOKEN=<redacted>"), !keep, text)
        }
    }
}
