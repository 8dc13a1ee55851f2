import Foundation
import MoonwatchCore
import XCTest

/// Every drop and loss counter of `--stats`, made non-zero by a replay built for it and checked
/// for its exact value (kernel ring-buffer drops are live-only and tested with the probes).
extension CLITests {
    func testEveryDropAndLossCounterIsCountedExactly() throws {
        let dir = "\(tmp)/counters"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // One signature per way of losing something: too many findings in one call, runtime
        // errors until disabled, a budget kill, a memory kill; and one the native filter mostly skips.
        _ = try file("counters/flood.lua", """
            return { id = "C-FLOOD", version = "1.0.0", name = "flood", description = "d", severity = "low", events = { "socket" },
              on_event = function(event, state) for i = 1, 70 do report{ message = "n" .. i } end end }
            """)
        _ = try file("counters/erring.lua", """
            return { id = "C-ERR", version = "1.0.0", name = "erring", description = "d", severity = "low", events = { "close" },
              on_event = function(event, state) error("boom") end }
            """)
        _ = try file("counters/looping.lua", """
            return { id = "C-LOOP", version = "1.0.0", name = "looping", description = "d", severity = "low", events = { "socket" },
              on_event = function(event, state) if event.ret == 4 then while true do end end end }
            """)
        _ = try file("counters/hungry.lua", """
            return { id = "C-MEM", version = "1.0.0", name = "hungry", description = "d", severity = "low", events = { "socket" },
              on_event = function(event, state) if event.ret == 5 then local s = string.rep("x", 1e9) end end }
            """)
        _ = try file("counters/filtered.lua", """
            return { id = "C-FILT", version = "1.0.0", name = "filtered", description = "d", severity = "low", events = { "socket" },
              filter = { comm = { "wanted" } },
              on_event = function(event, state) report{ message = "wanted" } end }
            """)
        var lines = [
            #"{"name":"socket","time":1,"ret":3,"process":{"pid":1,"comm":"wanted"},"args":{"domain":2}}"#,
            #"{"name":"socket","time":2,"ret":4,"process":{"pid":1,"comm":"other"},"args":{"domain":2}}"#,
            #"{"name":"socket","time":3,"ret":5,"process":{"pid":1,"comm":"other"},"args":{"domain":2}}"#,
            #"{"name":"socket","time":4,"ret":"#,                                        // malformed JSON
            #"{"name":"sokcet","time":5}"#,                                             // unknown event
            #"["not an object"]"#,                                                      // malformed event
            #"{"timestamp":6,"eventName":"security_file_open","processId":1,"args":[]}"#, // Tracee, not in the catalogue
        ]
        for k in 0..<12 { lines.append(#"{"name":"close","time":\#(10 + k),"ret":0,"args":{"fd":\#(k)}}"#) }
        let capture = try file("counters.jsonl", lines.joined(separator: "\n") + "\n")
        // Every finding written: no folding of repeats, no rate limit (those have counters of their own).
        let r = try moonwatch(["replay", capture, "--no-bundled", "--signatures", dir, "--stats", "--memory", "8", "-o", "json",
                               "--dedup-window", "0", "--rate-limit", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let stats = try JSONParser.parse(String(r.stderr.split(separator: "\n").last ?? ""))
        let source = try XCTUnwrap(stats["source"])
        XCTAssertEqual(source["records"], 19)
        XCTAssertEqual(source["skipped"], 3)
        XCTAssertEqual(source["skipped_by_reason"], .object([("malformed JSON", 1), ("malformed event", 1), ("unknown event", 1)]))
        XCTAssertEqual(source["foreign_events"], 1)
        XCTAssertEqual(source["foreign_by_name"], .object([("security_file_open", 1)]))
        XCTAssertEqual(source["kernel_drops"], 0)
        XCTAssertEqual(stats["events_in"], 15)
        XCTAssertEqual(stats["events"], .object([("socket", 3), ("close", 12)]))
        var sigs: [String: Value] = [:]
        for s in stats["signatures"]?.array ?? [] { sigs[s["id"]?.string ?? "?"] = s }
        XCTAssertEqual(sigs["C-FLOOD"]?["calls"], 3)
        XCTAssertEqual(sigs["C-FLOOD"]?["findings"]?.int64, 3 * 64, "64 findings per call are kept")
        XCTAssertEqual(sigs["C-FLOOD"]?["findings_dropped"]?.int64, 3 * 6, "the 6 over the cap are counted")
        XCTAssertEqual(sigs["C-ERR"]?["calls"], 10, "disabled after 10 consecutive failures: 2 closes never reach it")
        XCTAssertEqual(sigs["C-ERR"]?["runtime_errors"], 10)
        XCTAssertTrue(sigs["C-ERR"]?["disabled"]?.string?.contains("10 consecutive failed calls") ?? false, "\(sigs["C-ERR"] ?? .null)")
        XCTAssertEqual(sigs["C-LOOP"]?["budget_kills"], 1)
        XCTAssertEqual(sigs["C-LOOP"]?["disabled"], false)
        XCTAssertEqual(sigs["C-MEM"]?["memory_errors"], 1)
        XCTAssertLessThanOrEqual(sigs["C-MEM"]?["memory_peak_bytes"]?.int64 ?? .max, 8 << 20)
        XCTAssertEqual(sigs["C-FILT"]?["calls"], 1)
        XCTAssertEqual(sigs["C-FILT"]?["filtered"], 2)
        XCTAssertEqual(sigs["C-FILT"]?["findings"], 1)
        XCTAssertEqual(stats["signature_errors"], 12)
        XCTAssertEqual(stats["signatures_disabled"], 1)
        XCTAssertEqual(stats["findings"]?.int64, 3 * 64 + 1)
        XCTAssertEqual(try jsonLines(r.stdout).count, 3 * 64 + 1, "every kept finding was written")
    }
}
