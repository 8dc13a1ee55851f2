import Foundation
import MoonwatchCore
import XCTest

/// `moonwatch signatures test --mutate` on the built binary.
extension CLITests {
    func mutationFixture(cases: String) throws -> String {
        let dir = "\(tmp)/mut"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try file("mut/limit.lua", """
            local LIMIT = 16
            return {
              id = "T-MUT", version = "1.0.0", name = "limit", description = "fd above a limit", severity = "low",
              events = { "socket" },
              on_event = function(event, state)
                if event.ret > LIMIT then report{ message = "fd " .. event.ret } end
              end,
            }
            """)
        _ = try file("mut/limit.test.json", cases)
        return "\(dir)/limit.lua"
    }

    func testMutateReportsSurvivorsWithFileLineAndTheKillRatio() throws {
        let path = try mutationFixture(cases: """
            {"cases": [{"name": "far above", "events": [{"name": "socket", "ret": 40}], "expect": [{"id": "T-MUT"}]},
                       {"name": "far below", "events": [{"name": "socket", "ret": 3}], "expect": []}]}
            """)
        let r = try moonwatch(["signatures", "test", "--mutate", path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("\(path):6: flip comparison: '>' -> '>='"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\(path):1: bump constant: '16' -> '17'"), r.stdout)
        XCTAssertFalse(r.stdout.contains("removed 'report{"), "dropping the report is killed by the positive case")
        let summary = try XCTUnwrap(r.stdout.split(separator: "\n").last.map(String.init))
        XCTAssertTrue(summary.hasPrefix("7 mutants, 3 killed (42.9%), 4 survived"), summary)
        let below = try moonwatch(["signatures", "test", "--mutate", "--min-kill", "90", path])
        XCTAssertEqual(below.status, 1)
        XCTAssertTrue(below.stdout.contains("kill ratio below --min-kill 90"), below.stdout)

        // The near-miss cases at the limit kill the survivors.
        let strong = try mutationFixture(cases: """
            {"cases": [{"name": "one above", "events": [{"name": "socket", "ret": 17}], "expect": [{"id": "T-MUT", "message": "fd 17"}]},
                       {"name": "at the limit", "events": [{"name": "socket", "ret": 16}], "expect": []}]}
            """)
        let all = try moonwatch(["signatures", "test", "--mutate", "--min-kill", "100", strong])
        XCTAssertEqual(all.status, 0, all.stdout)
        XCTAssertTrue(all.stdout.contains("7 mutants, 7 killed (100.0%), 0 survived"), all.stdout)
    }

    func testMutateRefusesASignatureWhoseCasesFailAndMinKillNeedsMutate() throws {
        let path = try mutationFixture(cases: """
            {"cases": [{"name": "wrong", "events": [{"name": "socket", "ret": 40}], "expect": []}]}
            """)
        let r = try moonwatch(["signatures", "test", "--mutate", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("not mutation-tested: its own cases fail (\"wrong\")"), r.stdout)
        let bad = try moonwatch(["signatures", "test", "--min-kill", "50", path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--min-kill needs --mutate"), bad.stderr)
    }

    func testBundledSignaturesKillNinetyPercentThroughTheCLI() throws {
        let r = try moonwatch(["signatures", "test", "--mutate", "--min-kill", "90"])
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "signatures/").count - 1 >= 12, true)
    }
}
