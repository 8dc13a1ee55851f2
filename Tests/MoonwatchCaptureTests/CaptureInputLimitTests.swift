import MoonwatchCapture
import MoonwatchCore
import XCTest

/// A folder of its own for each test, removed afterwards.
class ScratchDirectoryTestCase: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = "/tmp/mw-capture-\(getpid())-\(name.filter { $0.isLetter })"
        try FileSystem.makeDirectory(dir)
    }

    override func tearDown() {
        for f in FileSystem.files(under: dir) { unlink(f) }
        rmdir(dir)
    }
}

/// Bounded lines (9.5) and input files that fail midway (9.7).
final class CaptureInputLimitTests: ScratchDirectoryTestCase {

    private func write(_ name: String, _ text: String) throws -> String {
        let path = "\(dir)/\(name)"
        try FileSystem.write(path, Array(text.utf8))
        return path
    }

    static let close3 = #"{"name":"close","args":{"fd":3}}"#

    /// Reads until the end or `maxCalls` calls of next(), whichever comes first.
    private func read(_ r: CaptureReader, maxCalls: Int = 100_000) throws -> [Event] {
        var all: [Event] = []
        var batch: [Event] = []
        for _ in 0..<maxCalls {
            batch.removeAll()
            let more = try r.next(into: &batch)
            all += batch
            if !more { break }
        }
        return all
    }

    func testALineOverTheCapIsSkippedAndCountedAndTheNextOneRead() throws {
        let long = "{\"name\":\"close\",\"args\":{\"fd\":" + String(repeating: "7", count: 3 << 20 as Int) + "}}"
        let garbage = String(repeating: "x", count: 2 << 20 as Int)
        let lines: [String] = [Self.close3, long, Self.close3, garbage]
        let path = try write("long.jsonl", lines.joined(separator: "\n"))
        var log: [String] = []
        let r = CaptureReader(paths: [path], maxLineBytes: 1 << 20, log: { log.append($0) })
        let events = try read(r)
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(r.stats.skipped["line too long"], 2)
        XCTAssertEqual(r.stats.records, 4)
        XCTAssertTrue(log.first?.hasSuffix("long.jsonl:2: line longer than 1048576 bytes (--max-line), skipped") ?? false, "\(log)")
        XCTAssertTrue(log.last?.contains("long.jsonl:4:") ?? false, "\(log)")
    }

    func testAnEndlessLineIsReadInConstantMemory() throws {
        // /dev/zero never ends a line: the reader must keep returning (so a stop request is
        // seen) and never buffer more than the cap.
        let r = CaptureReader(paths: ["/dev/zero"], maxLineBytes: 64 << 10, log: { _ in })
        let before = peakRSS()
        let events = try read(r, maxCalls: 3000)   // 3000 chunks of zeros, one line
        XCTAssertEqual(events.count, 0)
        XCTAssertEqual(r.stats.skipped["line too long"], 1)
        XCTAssertLessThan(peakRSS() - before, 64 << 20, "the reader's memory grew with the line")
    }

    func testStrictStopsAtALongLine() throws {
        let lines: [String] = [Self.close3, String(repeating: "y", count: 4096), Self.close3]
        let path = try write("strict.jsonl", lines.joined(separator: "\n") + "\n")
        let r = CaptureReader(paths: [path], strict: true, maxLineBytes: 1024, log: { _ in })
        var batch: [Event] = []
        XCTAssertThrowsError(try { while try r.next(into: &batch) {} }()) { error in
            XCTAssertTrue("\(error)".contains("strict.jsonl:2: line longer than 1024 bytes"), "\(error)")
        }
        XCTAssertEqual(batch.count, 1)
    }

    func testAnUnreadableLaterFileLosesNothingBeforeOrAfterIt() throws {
        let first = try write("first.jsonl", Array(repeating: Self.close3, count: 10).joined(separator: "\n") + "\n")
        let last = try write("last.jsonl", Self.close3 + "\n")
        var log: [String] = []
        // A directory opens, then fails on read (EISDIR).
        let r = CaptureReader(paths: [first, dir, last], log: { log.append($0) })
        let events = try read(r)
        XCTAssertEqual(events.count, 11)
        XCTAssertEqual(r.stats.skipped["unreadable file"], 1)
        XCTAssertTrue(log.contains { $0.contains(dir) && $0.contains("directory") }, "\(log)")
    }

    func testStrictEndsAtAnUnreadableFileAfterDeliveringWhatCameBefore() throws {
        let first = try write("first.jsonl", Array(repeating: Self.close3, count: 10).joined(separator: "\n") + "\n")
        let r = CaptureReader(paths: [first, dir], strict: true, log: { _ in })
        var batch: [Event] = []
        var delivered = 0
        XCTAssertThrowsError(try {
            while true {
                batch.removeAll()
                let more = try r.next(into: &batch)
                delivered += batch.count
                if !more { break }
            }
        }())
        XCTAssertEqual(delivered, 10)
    }

    func testThePrefetcherDeliversEventsReadBeforeAFailure() throws {
        let first = try write("first.jsonl", Array(repeating: Self.close3, count: 10).joined(separator: "\n") + "\n")
        let source = PrefetchSource(CaptureReader(paths: [first, dir], strict: true, log: { _ in }))
        var batch: [Event] = []
        var delivered = 0
        var failed = false
        for _ in 0..<1000 {
            batch.removeAll()
            do {
                let more = try source.next(into: &batch)
                delivered += batch.count
                if !more { break }
            } catch { failed = true; break }
        }
        XCTAssertEqual(delivered, 10)
        XCTAssertTrue(failed)
    }
}

func peakRSS() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss * 1024
}
