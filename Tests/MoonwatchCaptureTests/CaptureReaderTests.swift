import MoonwatchCapture
import MoonwatchCore
import XCTest

final class CaptureReaderTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = "/tmp/mw-capture-tests-\(getpid())"
        try FileSystem.makeDirectory(dir)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = "\(dir)/\(name)"
        try FileSystem.write(path, Array(text.utf8))
        return path
    }

    private func readAll(_ paths: [String], strict: Bool = false) throws -> ([Event], SourceStats, [String]) {
        var log: [String] = []
        let r = CaptureReader(paths: paths, strict: strict, log: { log.append($0) })
        var all: [Event] = []
        var batch: [Event] = []
        while true {
            batch.removeAll()
            let more = try r.next(into: &batch)
            all += batch
            if !more { break }
        }
        return (all, r.stats, log)
    }

    func testBadLinesAreReportedWithFileAndLineAndSkipped() throws {
        let path = try write("bad.jsonl", """
            {"name":"close","args":{"fd":3}}
            {"name":"close","args":{"fd":

            {"name":"clsoe"}
            not json
            {"name":"dup","args":{"oldfd":1}}
            {"name":"close","args":{"fd":4
            """)
        let (events, stats, log) = try readAll([path])
        XCTAssertEqual(events.map(\.name), ["close", "dup"])
        XCTAssertEqual(stats.records, 6)
        XCTAssertEqual(stats.skipped, ["malformed JSON": 2, "unknown event": 1, "truncated line": 1])
        XCTAssertEqual(log, [
            "\(path):2: malformed JSON: unexpected end of input (truncated?) at byte 30",
            "\(path):4: unknown event \"clsoe\" (did you mean close?)",
            "\(path):5: malformed JSON: invalid literal at byte 1",
            "\(path):7: truncated last line (no newline, JSON incomplete: unexpected end of input inside an object (truncated?) at byte 31)",
        ])
    }

    func testStrictStopsAtTheFirstBadLine() throws {
        let path = try write("strict.jsonl", "{\"name\":\"close\"}\n{\"name\":\"nope\"}\n{\"name\":\"close\"}\n")
        XCTAssertThrowsError(try readAll([path], strict: true)) { error in
            XCTAssertEqual("\(error)", "\(path):2: unknown event \"nope\"")
        }
    }

    func testSeveralFilesInOrderAndLongLines() throws {
        let long = String(repeating: "a", count: 3 << 20)   // longer than the read chunk
        let a = try write("a.jsonl", "{\"name\":\"openat\",\"args\":{\"pathname\":\"\(long)\"}}\n")
        let b = try write("b.jsonl", "{\"name\":\"close\"}\r\n")
        let (events, stats, _) = try readAll([a, b])
        XCTAssertEqual(events.map(\.name), ["openat", "close"])
        XCTAssertEqual(events[0][arg: "pathname"]?.string?.count, 3 << 20)
        XCTAssertEqual(stats.skippedTotal, 0)
    }

    func testManyEventsComeInBatches() throws {
        let text = String(repeating: "{\"name\":\"close\",\"args\":{\"fd\":1}}\n", count: 5000)
        let path = try write("many.jsonl", text)
        let r = CaptureReader(paths: [path], log: { _ in })
        var batch: [Event] = []
        _ = try r.next(into: &batch)
        XCTAssertEqual(batch.count, CaptureReader.batchSize)
        let (events, _, _) = try readAll([path])
        XCTAssertEqual(events.count, 5000)
    }

    func testEveryTraceeInteropLineReplaysWithoutAnError() throws {
        let path = "\(#filePath)".components(separatedBy: "/Tests/")[0] + "/Tests/Fixtures/tracee-docs-events.jsonl"
        let (events, stats, log) = try readAll([path])
        XCTAssertEqual(stats.skippedTotal, 0, "\(log)")
        XCTAssertEqual(log, [])
        XCTAssertEqual(stats.records, 80)
        XCTAssertEqual(UInt64(events.count) + stats.foreignTotal, 80)
        XCTAssertEqual(Set(events.map(\.name)), ["openat", "close", "execve"])
        let open = try XCTUnwrap(events.first { $0.name == "openat" })
        XCTAssertEqual(open[arg: "pathname"], "/tmp/testing.txt")
        XCTAssertEqual(open[arg: "flags"], .int(0o1 | 0o100 | 0o1000))   // O_WRONLY|O_CREAT|O_TRUNC
        XCTAssertEqual(open.process.comm, "bash")
        XCTAssertEqual(open.process.pid, 2578238)
        XCTAssertEqual(stats.foreign["net_packet_dns"], 11)
    }

    func testTraceeSockaddrAndPointersAreConverted() throws {
        let path = try write("tracee.jsonl", """
            {"timestamp":5,"eventName":"connect","hostProcessId":9,"processName":"curl","returnValue":0,"contextFlags":{"isCompat":true},"args":[{"name":"sockfd","type":"int","value":3},{"name":"addr","type":"struct sockaddr*","value":{"sa_family":"AF_INET","sin_addr":"1.2.3.4","sin_port":"443"}},{"name":"addrlen","type":"int","value":16}]}
            {"timestamp":6,"eventName":"sendto","args":[{"name":"buf","type":"void*","value":"0x7ffd0000"},{"name":"dest_addr","type":"struct sockaddr*","value":{"sa_family":"AF_UNIX","sun_path":"@abstract"}}]}
            {"timestamp":7,"eventName":"sched_process_exit","args":[{"name":"exit_code","type":"long","value":0}]}
            """)
        let (events, _, _) = try readAll([path])
        XCTAssertEqual(events[0][arg: "addr"], .object([("family", "AF_INET"), ("addr", "1.2.3.4"), ("port", 443)]))
        XCTAssertTrue(events[0].process.compat)
        XCTAssertEqual(events[0].process.pid, 9)
        XCTAssertEqual(events[1][arg: "buf"], .int(0x7ffd0000))
        XCTAssertEqual(events[1][arg: "dest_addr"], .object([("family", "AF_UNIX"), ("path", "@abstract"), ("abstract", true)]))
        XCTAssertEqual(events[2].name, "process_exit")
    }

    func testWriterOutputReadsBack() throws {
        let path = "\(dir)/round.jsonl"
        var e = Event(kind: Catalogue.kind(named: "socketpair")!, time: 1, ret: 0)
        e[arg: "sv"] = [5, 6]
        do {
            let w = try CaptureWriter(path: path)
            try w.write([e, e])
            try w.flush()
        }
        let (events, _, _) = try readAll([path])
        XCTAssertEqual(events, [e, e])
    }

    func testMissingFileIsReportedUpFront() {
        let r = CaptureReader(paths: ["/nonexistent/capture.jsonl"], log: { _ in })
        XCTAssertThrowsError(try r.checkReadable()) { error in
            XCTAssertEqual("\(error)", "/nonexistent/capture.jsonl: No such file or directory")
        }
    }
}
