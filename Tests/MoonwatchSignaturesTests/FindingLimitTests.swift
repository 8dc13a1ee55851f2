import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSignatures
import XCTest

/// Records how many bytes of findings each write hands over.
final class SizeRecordingSink: FindingSink {
    var writes: [Int] = []
    var count = 0
    func write(_ findings: [Finding]) throws {
        writes.append(findings.reduce(0) { $0 + $1.message.utf8.count + $1.data.jsonText.utf8.count })
        count += findings.count
    }
    func flush() throws {}
}

/// Whatever a signature reports, host memory stays bounded and what was cut is counted (9.2).
final class FindingLimitTests: XCTestCase {
    func testHugeMessagesAreCutAndCounted() throws {
        let sig = try makeSignature(signatureSource(body: """
            local m = string.rep("é", 2 * 1024 * 1024)   -- 4 MiB of two-byte characters
            for i = 1, 64 do report{ message = m } end
            """))
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(findings.count, 64)
        let limit = SandboxLimits.default.maxMessageBytes
        for f in findings {
            XCTAssertLessThanOrEqual(f.message.utf8.count, limit + 40)
            XCTAssertTrue(f.message.hasSuffix("bytes cut]"), String(f.message.suffix(40)))
            XCTAssertFalse(f.message.contains("\u{FFFD}"), "a character was split")
        }
        XCTAssertEqual(sig.counters.findingsCut, 64)
    }

    func testDataThatContainsItselfIsCutQuickly() throws {
        let sig = try makeSignature(signatureSource(body: """
            local t = {}
            for i = 1, 4000 do t[i] = t end
            report{ message = "loop", data = { t = t } }
            """))
        nonisolated(unsafe) var findings: [Finding] = []
        finishes(within: 30, "serializing a table that contains itself") {
            findings = (try? runEvents([sig], [sendmsgEvent()]))?.findings ?? []
        }
        XCTAssertEqual(findings.first?.data["truncated"], true)
        XCTAssertEqual(sig.counters.findingsCut, 1)
        XCTAssertEqual(sig.counters.failures, 0)
    }

    func testPendingFindingsAreWrittenBeforeTheyPassTheByteBound() throws {
        // 64 findings of ~60 KiB data per event, 20 events in one batch: 75 MiB if the batch
        // waited for its end.
        let sig = try makeSignature(signatureSource(body: """
            local blob = string.rep("x", 60000)
            for i = 1, 64 do report{ message = "big", data = { blob = blob } } end
            """))
        let sink = SizeRecordingSink()
        let engine = Engine(signatures: [sig], sinks: [sink], log: { _ in })
        try engine.process((0..<20).map { sendmsgEvent(time: UInt64($0)) })
        XCTAssertEqual(sink.count, 20 * 64)
        let bound = engine.pendingByteLimit + 64 * SandboxLimits.default.maxFindingBytes
        XCTAssertLessThanOrEqual(sink.writes.max() ?? 0, bound, "\(sink.writes)")
        XCTAssertGreaterThan(engine.earlyFlushes, 0)
    }

    func testErrorsAndPrintLinesAreOneLineLong() throws {
        let loud = try makeSignature(signatureSource(id: "LOUD", body: "print(string.rep('p', 1e6)) error(string.rep('e', 4e6))"))
        let (_, log) = try runEvents([loud], [sendmsgEvent()])
        XCTAssertLessThanOrEqual(loud.lastError?.utf8.count ?? 0, 2100)
        XCTAssertTrue(loud.lastError?.contains("bytes cut]") ?? false)
        XCTAssertTrue(log.allSatisfy { $0.utf8.count < 4200 }, "\(log.map(\.utf8.count))")
    }
}
