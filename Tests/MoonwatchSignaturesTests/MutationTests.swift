import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures
import XCTest

/// `signatures test --mutate`: which mutants are made, that a weak case set lets a known
/// survivor through and a near-miss case kills it, and the bundled set's kill ratio.
final class MutationTests: XCTestCase {
    static let source = """
        -- a comment with == and "a string" that is not code
        local TOOLS = mw.set{ "ping", "tcpdump" }
        local LIMIT = 0x10
        return {
          id = "T-1", version = "1.0.0", name = "mutation sample", description = [[metadata, "never" mutated]],
          severity = "low", tags = { "x" }, events = { "socket" },
          filter = { success = true, args = { domain = { 2, 17 } } },
          on_event = function(event, state)
            if TOOLS[event.process.comm] then return end
            if event.args.domain == 17 and not (event.ret > LIMIT) then
              report{ message = "packet socket", data = { fd = event.ret } }
            end
          end,
        }
        """

    func changes(_ text: String) -> [String] {
        Mutator.mutants(of: text).map { "\($0.line) \($0.op.rawValue): \($0.change)" }
    }

    func testMutantsCoverEveryOperatorOnCodeAndNoneOnMetadata() {
        XCTAssertEqual(changes(Self.source), [
            "2 remove table item: removed '\"ping\",'",
            "2 remove table item: removed '\"tcpdump\"'",
            "3 bump constant: '0x10' -> '0x11'",
            "3 bump constant: '0x10' -> '0xf'",
            "9 negate condition: 'TOOLS[event.process.comm]' -> 'not (TOOLS[event.process.comm])'",
            "9 drop statement: removed 'return'",
            "10 drop condition: 'event.args.domain == 17 and not (event.ret > LIMIT)' -> 'event.args.domain == 17'",
            "10 drop condition: 'event.args.domain == 17 and not (event.ret > LIMIT)' -> 'not (event.ret > LIMIT)'",
            "10 negate condition: 'event.args.domain == 17 and not (event.ret > LIMIT)' -> 'not (event.args.domain == 17 and not (event.ret > LIMIT))'",
            "10 flip comparison: '==' -> '~='",
            "10 bump constant: '17' -> '18'",
            "10 bump constant: '17' -> '16'",
            "10 swap and/or: 'and' -> 'or'",
            "10 drop not: 'not (event.ret > LIMIT)' -> '(event.ret > LIMIT)'",
            "10 flip comparison: '>' -> '>='",
            "11 drop statement: removed 'report{ message = \"packet socket\", data = { fd = event.ret } }'",
            "11 remove table item: removed 'message = \"packet socket\",'",
            "11 change string: '\"packet socket\"' -> '\"\"'",
            "11 remove table item: removed 'data = { fd = event.ret }'",
            "11 remove table item: removed 'fd = event.ret'",
        ])
    }

    func testNoMutantTouchesTheMetadata() {
        func metadata(_ text: String) -> Substring {
            let start = text.range(of: "id = ")!.lowerBound, end = text.range(of: "on_event")!.lowerBound
            return text[start..<end]
        }
        let mutants = Mutator.mutants(of: Self.source)
        XCTAssertFalse(mutants.isEmpty)
        for m in mutants { XCTAssertEqual(metadata(m.text), metadata(Self.source), m.change) }
    }

    func testLongStringsCommentsAndHexAreLexedWithoutInventingSites() {
        let text = """
            local A = [==[ not ]] code == ]==] --[[ if x == 1 then ]] local B = 'it\\'s -- no comment'
            return { id = "T-1", on_event = function(e, s) local x = #A > 0x0 or B ~= "" end }
            """
        XCTAssertEqual(changes(text), [
            "1 change string: '[==[ not ]] code == ]==]' -> '\"\"'",
            "1 change string: ''it\\'s -- no comment'' -> '\"\"'",
            "2 flip comparison: '>' -> '>='",
            "2 bump constant: '0x0' -> '0x1'",
            "2 swap and/or: 'or' -> 'and'",
            "2 flip comparison: '~=' -> '=='",
            "2 change string: '\"\"' -> '\"mutant\"'",
        ])
    }

    // MARK: running

    func tests(_ json: String) throws -> SignatureTestFile {
        try SignatureTestFile.parse(path: "t.test.json", text: json)
    }

    static let packet = #"{"name": "socket", "ret": 3, "process": {"comm": "sniff"}, "args": {"domain": 17, "type": 3}}"#

    func testAWeakCaseSetReportsTheKnownSurvivorAndANearMissCaseKillsIt() throws {
        let source = SignatureSource(path: "sample.lua", text: Self.source)
        let weak = try tests("""
            {"cases": [{"name": "packet socket", "events": [\(Self.packet)], "expect": [{"id": "T-1"}]},
                       {"name": "ping", "events": [{"name": "socket", "ret": 3, "process": {"comm": "ping"}, "args": {"domain": 17}}], "expect": []}]}
            """)
        let before = MutationRunner.run(source: source, tests: weak)
        XCTAssertNil(before.error)
        let survivors = before.survivors.map { "\($0.line) \($0.change)" }
        // Nothing tells ret 16 from ret 17 (the limit), nor asserts the message or data.
        XCTAssertTrue(survivors.contains("10 '>' -> '>='"), survivors.joined(separator: "\n"))
        XCTAssertTrue(survivors.contains("11 removed 'fd = event.ret'"), survivors.joined(separator: "\n"))
        // The known-bad mutant: without the comparison, ping is reported: killed.
        XCTAssertFalse(survivors.contains { $0.hasPrefix("9 ") }, survivors.joined(separator: "\n"))
        XCTAssertEqual(before.mutants, before.killed + before.survivors.count)

        let strong = try tests("""
            {"cases": [{"name": "packet socket", "events": [\(Self.packet)],
                        "expect": [{"id": "T-1", "message_contains": "packet socket", "data": {"fd": 3}}]},
                       {"name": "fd at the limit", "events": [{"name": "socket", "ret": 16, "args": {"domain": 17}}], "expect": [{"id": "T-1"}]},
                       {"name": "fd over the limit", "events": [{"name": "socket", "ret": 17, "args": {"domain": 17}}], "expect": []},
                       {"name": "ping", "events": [{"name": "socket", "ret": 3, "process": {"comm": "ping"}, "args": {"domain": 17}}], "expect": []},
                       {"name": "tcpdump", "events": [{"name": "socket", "ret": 3, "process": {"comm": "tcpdump"}, "args": {"domain": 17}}], "expect": []},
                       {"name": "inet", "events": [{"name": "socket", "ret": 3, "args": {"domain": 2}}], "expect": []}]}
            """)
        let after = MutationRunner.run(source: source, tests: strong)
        XCTAssertEqual(after.survivors.map(\.change), [], "every mutant of the sample is killed by the near-miss cases")
        XCTAssertEqual(after.killed, after.mutants)
        XCTAssertGreaterThan(after.killed, before.killed)
    }

    func testAMutantThatDoesNotLoadIsNotCounted() throws {
        // Dropping the only item of `events`-like code tables is fine, but removing `x` below makes
        // the file fail at load (calling nil), so that mutant is not counted.
        let text = """
            local function x() return 1 end
            local T = { x }
            local V = T[1]()
            return { id = "T-2", version = "1.0.0", name = "n", description = "d", severity = "low", events = { "socket" },
                     on_event = function(event, state) report{ message = "v" .. V } end }
            """
        let cases = try tests(#"{"cases": [{"name": "one", "events": [{"name": "socket"}], "expect": [{"message_contains": "v1"}]}]}"#)
        let r = MutationRunner.run(source: SignatureSource(path: "x.lua", text: text), tests: cases)
        XCTAssertNil(r.error)
        XCTAssertGreaterThanOrEqual(r.notLoaded, 1)
        XCTAssertEqual(r.mutants + r.notLoaded, Mutator.mutants(of: text).count)
    }

    func testASignatureWhoseOwnCasesFailIsNotMutationTested() throws {
        let cases = try tests(#"{"cases": [{"name": "wrong", "events": [\#(Self.packet)], "expect": []}]}"#)
        let r = MutationRunner.run(source: SignatureSource(path: "s.lua", text: Self.source), tests: cases)
        XCTAssertNotNil(r.error)
        XCTAssertEqual(r.mutants, 0)
    }

    /// The acceptance bar: the bundled cases kill at least 90% of the bundled signatures' mutants.
    func testBundledCasesKillAtLeastNinetyPercentOfMutants() throws {
        var total = 0, killed = 0
        var survivors: [String] = []
        for source in SignatureLoader.bundledSources {
            let testPath = SignatureTestFile.testPath(forSignature: source.path)
            let text = try XCTUnwrap(Bundled.file(String(testPath.dropFirst("signatures/".count))))
            let r = MutationRunner.run(source: source, tests: try SignatureTestFile.parse(path: testPath, text: text))
            XCTAssertNil(r.error, source.path)
            XCTAssertGreaterThan(r.mutants, 0, source.path)
            total += r.mutants; killed += r.killed
            survivors += r.survivors.map { "\(source.path):\($0.line): \($0.change)" }
        }
        XCTAssertGreaterThan(total, 500)
        XCTAssertGreaterThanOrEqual(Double(killed) / Double(total), 0.9,
                                    "\(killed) of \(total) killed; survivors:\n" + survivors.joined(separator: "\n"))
    }
}
