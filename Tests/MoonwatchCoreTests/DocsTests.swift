import MoonwatchCore
import XCTest

/// docs/events/ is generated from the catalogue (`make docs`); this fails when it is stale.
final class DocsTests: XCTestCase {
    private var docsDir: String {
        // Tests/MoonwatchCoreTests/DocsTests.swift -> repository root
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/docs/events"
    }

    func testGeneratedEventDocsAreUpToDate() throws {
        var stale: [String] = []
        for spec in Catalogue.events {
            let path = "\(docsDir)/\(spec.name).md"
            let onDisk = try? FileSystem.readText(path)
            if onDisk != EventDocs.markdown(spec) { stale.append(path) }
        }
        if (try? FileSystem.readText("\(docsDir)/README.md")) != EventDocs.indexMarkdown() { stale.append("README.md") }
        let expected = Set(Catalogue.events.map { "\($0.name).md" } + ["README.md"])
        let present = Set(FileSystem.files(under: docsDir).map { String($0.split(separator: "/").last!) })
        for extra in present.subtracting(expected) { stale.append("\(extra) (not in the catalogue)") }
        XCTAssertEqual(stale, [], "docs/events is out of date: run `make docs`")
    }
}
