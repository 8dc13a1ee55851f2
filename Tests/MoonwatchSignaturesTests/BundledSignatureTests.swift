import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures
import XCTest

/// Every bundled signature loads, has a test file with positive and negative cases, and passes it.
final class BundledSignatureTests: XCTestCase {
    func testEveryBundledSignaturePassesItsCases() throws {
        let sources = SignatureLoader.bundledSources
        XCTAssertFalse(sources.isEmpty)
        for source in sources {
            let testPath = SignatureTestFile.testPath(forSignature: source.path)
            let text = try XCTUnwrap(Bundled.file(String(testPath.dropFirst("signatures/".count))), "\(source.path) has no test file")
            let tests = try SignatureTestFile.parse(path: testPath, text: text)
            XCTAssertTrue(tests.cases.contains { !$0.expect.isEmpty }, "\(source.path) needs a positive case")
            XCTAssertTrue(tests.cases.contains { $0.expect.isEmpty }, "\(source.path) needs a negative case")
            let result = SignatureTestRunner.run(source: source, tests: tests)
            XCTAssertNil(result.loadError, "\(source.path): \(result.loadError ?? "")")
            for c in result.cases { XCTAssertTrue(c.passed, "\(source.path) \"\(c.name)\": \(c.detail)") }
        }
    }

    func testBundledIdsAreUnique() throws {
        let sigs = try Signature.loadAll(SignatureLoader.bundledSources)
        XCTAssertEqual(Set(sigs.map(\.info.id)).count, sigs.count)
    }

    func testTOCTOUSignatureSelectsEveryEventWithATOCTOUArgument() throws {
        let sigs = try Signature.loadAll(SignatureLoader.bundledSources)
        let toctou = try XCTUnwrap(sigs.first { $0.info.id == "MW-2001" })
        let expected = Catalogue.events.filter { !$0.toctouArgs.isEmpty }.map(\.name)
        XCTAssertEqual(Set(toctou.events.map(\.name)), Set(expected))
    }

    func testCompatSignatureSelectsEverySyscall() throws {
        let sigs = try Signature.loadAll(SignatureLoader.bundledSources)
        let compat = try XCTUnwrap(sigs.first { $0.info.id == "MW-3001" })
        XCTAssertEqual(Set(compat.events.map(\.name)), Set(Catalogue.events.filter(\.isSyscall).map(\.name)))
    }

    func testEveryBundledSignatureHasMetadataForTuning() throws {
        for sig in try Signature.loadAll(SignatureLoader.bundledSources) {
            XCTAssertGreaterThan(sig.info.description.count, 200, "\(sig.info.id) description should explain tuning and false positives")
            let words = sig.info.description.lowercased().split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
            XCTAssertTrue(words.contains("false positive"), "\(sig.info.id) names its known false positives")
            XCTAssertFalse(sig.info.tags.isEmpty, sig.info.id)
        }
    }

    func testAFailingCaseIsReported() throws {
        let source = signatureSource(body: "report{ message = 'always' }")
        let tests = try SignatureTestFile.parse(path: "t.test.json", text: """
            {"cases": [{"name": "expects nothing", "events": [{"name": "sendmsg"}], "expect": []},
                       {"name": "expects other data", "events": [{"name": "sendmsg"}], "expect": [{"id": "T-1", "data": {"x": 1}}]},
                       {"name": "right", "events": [{"name": "sendmsg"}], "expect": [{"id": "T-1", "message_contains": "alw"}]}]}
            """)
        let result = SignatureTestRunner.run(source: source, tests: tests)
        XCTAssertEqual(result.cases.map(\.passed), [false, false, true])
        XCTAssertFalse(result.passed)
        XCTAssertTrue(result.cases[0].detail.contains("expected 0 finding(s), got 1"))
    }

    func testSubsetMatching() {
        XCTAssertTrue(SignatureTestRunner.isSubset(.object([("a", 1)]), of: .object([("a", 1), ("b", 2)])))
        XCTAssertFalse(SignatureTestRunner.isSubset(.object([("a", 1)]), of: .object([("b", 2)])))
        XCTAssertTrue(SignatureTestRunner.isSubset([.object([("fd", 3)])], of: [.object([("fd", 3), ("path", "/x")])]))
        XCTAssertFalse(SignatureTestRunner.isSubset([1], of: [1, 2]))
        XCTAssertTrue(SignatureTestRunner.isSubset(1, of: .double(1)))
        XCTAssertFalse(SignatureTestRunner.isSubset(true, of: 1))
    }
}
