import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSignatures
import XCTest

/// A reload refuses an id that is already taken, as start-up does, and keeps what was running (9.4).
final class ReloadDuplicateTests: XCTestCase {
    private func source(_ path: String, id: String, message: String) -> SignatureSource {
        SignatureSource(path: path, text: """
            return { id = "\(id)", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "sendmsg" },
              on_event = function(event, state) report{ message = "\(message)" } end }
            """)
    }

    private func engine(_ sources: [SignatureSource], _ sink: CollectingSink) throws -> Engine {
        Engine(signatures: try Signature.loadAll(sources), sinks: [sink], log: { _ in })
    }

    func testANewFileWithARunningIdIsRefusedWhereverItSorts() throws {
        let sink = CollectingSink()
        let e = try engine([source("a.lua", id: "A", message: "a")], sink)
        // "0.lua" sorts before "a.lua": the running signature must still win.
        let out = e.reload([source("0.lua", id: "A", message: "impostor"), source("a.lua", id: "A", message: "a")], limits: .default)
        XCTAssertEqual(e.signatures.map(\.path), ["a.lua"])
        XCTAssertEqual(out.unchanged, ["a.lua"])
        XCTAssertEqual(out.added, [])
        XCTAssertEqual(out.failed.map(\.path), ["0.lua"])
        XCTAssertTrue(out.failed.first?.reason.contains("0.lua:1: duplicate signature id A (also in a.lua)") ?? false, "\(out.failed)")
        try e.process([sendmsgEvent()])
        XCTAssertEqual(sink.findings.map(\.message), ["a"])
    }

    func testAChangedFileTakingAnotherRunningIdKeepsItsPreviousVersion() throws {
        let sink = CollectingSink()
        let e = try engine([source("a.lua", id: "A", message: "a"), source("b.lua", id: "B", message: "b1")], sink)
        let out = e.reload([source("a.lua", id: "A", message: "a"), source("b.lua", id: "A", message: "b2")], limits: .default)
        XCTAssertEqual(e.signatures.map(\.info.id), ["A", "B"])
        XCTAssertEqual(out.failed.map(\.path), ["b.lua"])
        try e.process([sendmsgEvent()])
        XCTAssertEqual(sink.findings.map(\.message), ["a", "b1"])
    }

    func testAChangedFileCannotTakeTheIdOfAnUnchangedFileAfterIt() throws {
        let sink = CollectingSink()
        let e = try engine([source("a.lua", id: "A", message: "a1"), source("b.lua", id: "B", message: "b")], sink)
        let out = e.reload([source("a.lua", id: "B", message: "a2"), source("b.lua", id: "B", message: "b")], limits: .default)
        XCTAssertEqual(e.signatures.map(\.info.id), ["A", "B"], "a.lua keeps its previous version")
        XCTAssertEqual(out.failed.map(\.path), ["a.lua"])
        try e.process([sendmsgEvent()])
        XCTAssertEqual(sink.findings.map(\.message), ["a1", "b"])
    }

    func testTwoNewFilesWithOneIdAddOnlyTheFirst() throws {
        let sink = CollectingSink()
        let e = try engine([source("a.lua", id: "A", message: "a")], sink)
        let out = e.reload([source("a.lua", id: "A", message: "a"), source("c.lua", id: "C", message: "c"),
                            source("d.lua", id: "C", message: "d")], limits: .default)
        XCTAssertEqual(out.added, ["c.lua"])
        XCTAssertEqual(out.failed.map(\.path), ["d.lua"])
        XCTAssertEqual(Set(e.signatures.map(\.info.id)).count, e.signatures.count)
    }

    func testIdsSwappedBetweenTwoChangedFilesAreAccepted() throws {
        let sink = CollectingSink()
        let e = try engine([source("a.lua", id: "A", message: "a"), source("b.lua", id: "B", message: "b")], sink)
        let out = e.reload([source("a.lua", id: "B", message: "a2"), source("b.lua", id: "A", message: "b2")], limits: .default)
        XCTAssertEqual(out.failed.count, 0, "\(out.failed)")
        XCTAssertEqual(e.signatures.map(\.info.id), ["B", "A"])
    }
}
