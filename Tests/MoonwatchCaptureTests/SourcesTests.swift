import Foundation
import MoonwatchCapture
import MoonwatchCore
import XCTest

/// A scripted source: batches of numbered socket events, an optional failure, and counters.
final class ScriptedSource: EventSource, @unchecked Sendable {
    private let batches: [[Event]]
    private let failAfter: Int?
    private var next = 0
    let produced = NSLock()
    private(set) var handedOut = 0
    var stats = SourceStats()

    init(batchSizes: [Int], failAfter: Int? = nil) {
        var t: UInt64 = 0
        batches = batchSizes.map { size in
            (0..<size).map { _ in
                t += 1
                return Event(kind: Catalogue.kind(named: "socket")!, time: t, ret: Int64(t))
            }
        }
        self.failAfter = failAfter
    }

    struct Failure: Error, CustomStringConvertible { var description: String { "disk on fire" } }

    func next(into batch: inout [Event]) throws -> Bool {
        if let f = failAfter, next == f { throw Failure() }
        guard next < batches.count else { return false }
        batch.append(contentsOf: batches[next])
        next += 1
        produced.withLock { handedOut = next }
        stats.records += UInt64(batches[next - 1].count)
        stats.skipped["bad line", default: 0] += 1
        return next < batches.count
    }
}

final class SourcesTests: XCTestCase {
    func drain(_ s: EventSource, limit: Int = 10_000) throws -> [Event] {
        var out: [Event] = []
        for _ in 0..<limit {
            var b: [Event] = []
            let more = try s.next(into: &b)
            out += b
            if !more { return out }
        }
        XCTFail("the source never ended")
        return out
    }

    func testPrefetchDeliversEveryEventOnceInOrderWithTheInnerStats() throws {
        // Empty batches in the middle and at the end must neither end the stream nor be lost.
        let sizes = [3, 0, 1024, 7, 0, 500, 1, 0]
        let inner = ScriptedSource(batchSizes: sizes)
        let p = PrefetchSource(inner, depth: 2)
        let events = try drain(p)
        XCTAssertEqual(events.map(\.time), (1...UInt64(sizes.reduce(0, +))).map { $0 })
        XCTAssertEqual(p.stats.records, UInt64(sizes.reduce(0, +)))
        XCTAssertEqual(p.stats.skipped["bad line"], UInt64(sizes.count))
        var after: [Event] = []
        XCTAssertFalse(try p.next(into: &after), "an ended source stays ended")
        XCTAssertTrue(after.isEmpty)
    }

    func testPrefetchStaysAtMostItsDepthAhead() throws {
        let inner = ScriptedSource(batchSizes: Array(repeating: 10, count: 40))
        let depth = 3
        let p = PrefetchSource(inner, depth: depth)
        var consumed = 0
        var b: [Event] = []
        _ = try p.next(into: &b)
        consumed += 1
        // Give the producer every chance to run ahead (bounded): wait until it has filled the
        // buffer, then a while longer, and check it went no further.
        func ahead() -> Int { inner.produced.withLock { inner.handedOut } - consumed }
        for _ in 0..<1000 where ahead() <= depth { usleep(1000) }
        for _ in 0..<20 { usleep(1000) }
        let ahead = ahead()
        XCTAssertLessThanOrEqual(ahead, depth + 1, "the producer ran \(ahead) batches ahead of the consumer")
        XCTAssertGreaterThan(ahead, 0, "the producer works ahead at all")
        _ = try drain(p)
    }

    func testPrefetchRethrowsTheInnerFailureAfterTheBatchesBeforeIt() throws {
        let p = PrefetchSource(ScriptedSource(batchSizes: [5, 5, 5], failAfter: 2), depth: 8)
        var got: [Event] = []
        var thrown: Error?
        for _ in 0..<10 {
            var b: [Event] = []
            do { if !(try p.next(into: &b)) { break } } catch { thrown = error; break }
            got += b
        }
        XCTAssertEqual(got.count, 10, "both batches before the failure arrive")
        XCTAssertEqual("\(try XCTUnwrap(thrown))", "disk on fire")
        var b: [Event] = []
        XCTAssertFalse(try p.next(into: &b), "after the failure the source is over")
    }

    func testTeeWritesEveryBatchToACaptureThatReplaysTheSameEvents() throws {
        let path = NSTemporaryDirectory() + "mw-tee-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let inner = ScriptedSource(batchSizes: [2, 0, 3])
        let writer = try CaptureWriter(path: path)
        let tee = TeeSource(inner, writer)
        let passed = try drain(tee)
        try writer.flush()
        XCTAssertEqual(passed.count, 5)
        XCTAssertEqual(tee.stats.records, 5, "the tee reports the inner source's counters")
        let reader = CaptureReader(paths: [path], log: { _ in })
        let back = try drain(reader)
        XCTAssertEqual(back, passed)
        XCTAssertEqual(reader.stats.skippedTotal, 0)
    }
}
