import Foundation
import MoonwatchCore
import XCTest

/// The field contracts of `--output json|falco|tracee`, checked on the built binary's output for
/// findings of every severity and for a finding without an event (raised from on_finish): exact
/// key sets, value types, the severity mapping, the time format. The oracle is the consumers'
/// documented expectations (falcosidekick's checks, Tracee's finding-as-event shape), written out
/// here, not the formatter's own code.
extension CLITests {
    static let base: UInt64 = 1_795_245_781_000_000_000
    static let severities = ["info", "low", "medium", "high", "critical"]

    /// Five events (ret 1...5 picks the severity) and a signature that reports at the end.
    func contractFixture() throws -> (capture: String, signatures: String) {
        let dir = "\(tmp)/sigs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try file("sigs/every_severity.lua", """
            local S = { "info", "low", "medium", "high", "critical" }
            return {
              id = "T-SEV", version = "1.2.3", name = "every severity", description = "one finding per event",
              severity = "medium", tags = { "test", "contract" }, mitre = { tactic = "execution", technique = "T1059" },
              events = { "socket" },
              on_event = function(event, state)
                report{ message = "severity " .. S[event.ret] .. " from " .. event.process.comm, severity = S[event.ret],
                        data = { n = event.ret, list = { 1, 2 }, nested = { k = "v" }, flag = true, text = "quote \\" and \\\\" } }
              end,
            }
            """)
        _ = try file("sigs/at_the_end.lua", """
            return {
              id = "T-FIN", version = "0.1.0", name = "summary at the end", description = "reports from on_finish",
              severity = "low", events = { "socket" },
              on_event = function(event, state) state.n = (state.n or 0) + 1 end,
              on_finish = function(state) report{ message = "saw " .. state.n .. " sockets", data = { count = state.n } } end,
            }
            """)
        var lines: [String] = []
        for k in 1...5 {
            let container = k == 4 ? "c0ffee" : ""
            lines.append(#"{"name":"socket","time":\#(Self.base + UInt64(k)),"ret":\#(k),"process":{"pid":\#(100 + k),"tid":\#(200 + k),"ppid":7,"uid":1000,"gid":1001,"comm":"proc\#(k)","exe":"/usr/bin/proc\#(k)","container":"\#(container)","cgroup":99,"mntns":4026531841,"pidns":4026531836,"compat":\#(k == 5),"bits":64},"args":{"domain":2,"type":1,"protocol":0}}"#)
        }
        return (try file("contract.jsonl", lines.joined(separator: "\n") + "\n"), dir)
    }

    func replayContract(_ format: String) throws -> (lines: [Value], started: UInt64, ended: UInt64) {
        let (capture, sigs) = try contractFixture()
        let started = UInt64(Date().timeIntervalSince1970 * 1e9)
        // Only the fixture's signatures (the bundled set would add its own findings).
        let r = try moonwatch(["replay", capture, "--no-bundled", "--signatures", sigs, "-o", format])
        let ended = UInt64(Date().timeIntervalSince1970 * 1e9) + 1
        XCTAssertEqual(r.status, 0, r.stderr)
        for line in r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            XCTAssertFalse(line.isEmpty, "an empty line in \(format) output")
        }
        XCTAssertTrue(r.stdout.hasSuffix("\n"))
        let lines = try jsonLines(r.stdout)
        // Five event findings and one from on_finish: output that is empty or short fails here.
        XCTAssertEqual(lines.count, 6, r.stdout)
        return (lines, started, ended)
    }

    func keys(_ v: Value?) -> [String] { v?.fields?.keys.sorted() ?? [] }
    func isInt(_ v: Value?) -> Bool { if case .int? = v { return true }; if case .uint? = v { return true }; return false }
    func isString(_ v: Value?) -> Bool { v?.string != nil }

    /// "2026-11-21T07:23:01.123456789Z" back to nanoseconds (RFC 3339, UTC, nine fraction digits).
    func rfc3339Nanoseconds(_ s: String) -> UInt64? {
        let b = Array(s.utf8)
        guard b.count == 30, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E,
              b[29] == 0x5A else { return nil }
        func num(_ r: Range<Int>) -> Int? { Int(String(decoding: b[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
              let sec = num(17..<19), let frac = num(20..<29), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61
        else { return nil }
        var c = DateComponents(); c.year = y; c.month = mo; c.day = d; c.hour = h; c.minute = mi; c.second = sec
        c.timeZone = TimeZone(identifier: "UTC")
        guard let date = Calendar(identifier: .gregorian).date(from: c) else { return nil }
        return UInt64(date.timeIntervalSince1970) * 1_000_000_000 + UInt64(frac)
    }

    func testJSONOutputContract() throws {
        let (lines, started, ended) = try replayContract("json")
        for (k, f) in lines.enumerated() {
            XCTAssertEqual(keys(f), ["data", "event", "host", "message", "severity", "signature", "time"], "\(f)")
            XCTAssertTrue(isInt(f["time"])); XCTAssertTrue(isString(f["host"])); XCTAssertFalse(f["host"]?.string?.isEmpty ?? true)
            XCTAssertEqual(keys(f["signature"]), ["id", "mitre", "name", "severity", "tags", "version"])
            if k < 5 {
                XCTAssertEqual(f["time"]?.uint64, Self.base + UInt64(k + 1), "a finding's time is its event's")
                XCTAssertEqual(f["severity"]?.string, Self.severities[k])
                XCTAssertEqual(f["signature"]?["severity"], "medium", "the signature's default stays in signature")
                XCTAssertEqual(f["signature"]?["mitre"], .object([("tactic", "execution"), ("technique", "T1059")]))
                XCTAssertEqual(f["signature"]?["tags"], ["test", "contract"])
                XCTAssertEqual(f["message"]?.string, "severity \(Self.severities[k]) from proc\(k + 1)")
                XCTAssertEqual(f["data"], .object([("flag", true), ("list", [1, 2]), ("n", .int(Int64(k + 1))),
                                                  ("nested", .object([("k", "v")])), ("text", "quote \" and \\")]))
                XCTAssertEqual(f["event"]?["name"], "socket")
                XCTAssertEqual(f["event"]?["process"]?["pid"]?.int64, Int64(101 + k))
                XCTAssertEqual(f["event"]?["args"]?["domain"], 2)
            } else {
                XCTAssertEqual(f["signature"]?["id"], "T-FIN")
                XCTAssertEqual(f["signature"]?["mitre"], .null)
                XCTAssertEqual(f["event"], .null, "an on_finish finding has no event")
                XCTAssertEqual(f["severity"], "low")
                XCTAssertEqual(f["data"], .object([("count", 5)]))
                let t = try XCTUnwrap(f["time"]?.uint64)
                XCTAssertTrue((started...ended).contains(t), "on_finish time \(t) is when it ran")
            }
        }
    }

    func testFalcoOutputContractIsWhatFalcosidekickAccepts() throws {
        let priorities = ["info": "Informational", "low": "Notice", "medium": "Warning", "high": "Error", "critical": "Critical"]
        // falcosidekick's accepted names, case-insensitively.
        let accepted: Set<String> = ["emergency", "alert", "critical", "error", "warning", "notice", "informational", "info", "debug"]
        let (lines, started, ended) = try replayContract("falco")
        for (k, f) in lines.enumerated() {
            XCTAssertEqual(keys(f), ["hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"], "\(f)")
            let priority = try XCTUnwrap(f["priority"]?.string)
            XCTAssertTrue(accepted.contains(priority.lowercased()), priority)
            XCTAssertFalse(f["rule"]?.string?.isEmpty ?? true)
            XCTAssertEqual(f["source"], "syscall")
            XCTAssertFalse(f["hostname"]?.string?.isEmpty ?? true)
            let time = try XCTUnwrap(f["time"]?.string)
            let ns = try XCTUnwrap(rfc3339Nanoseconds(time), "time \(time) is not RFC 3339 with nanoseconds in UTC")
            let output = try XCTUnwrap(f["output"]?.string)
            XCTAssertFalse(output.contains("\n"))
            let fields = try XCTUnwrap(f["output_fields"]?.fields)
            XCTAssertFalse(fields.isEmpty, "falcosidekick rejects an empty output_fields")
            for (key, v) in fields.pairs {
                switch v {
                case .array, .object: XCTFail("output_fields.\(key) is not a scalar: \(v)")
                default: break
                }
            }
            XCTAssertEqual(fields["evt.time"]?.uint64, ns, "evt.time and time agree")
            let tags = try XCTUnwrap(f["tags"]?.array)
            XCTAssertTrue(tags.allSatisfy { $0.string != nil })
            if k < 5 {
                XCTAssertEqual(ns, Self.base + UInt64(k + 1))
                XCTAssertEqual(priority, priorities[Self.severities[k]])
                XCTAssertEqual(f["rule"], "every severity")
                XCTAssertEqual(tags, ["test", "contract", "T1059"])
                XCTAssertTrue(output.hasPrefix("07:23:01.00000000\(k + 1): \(priority) severity \(Self.severities[k]) from proc\(k + 1)"), output)
                XCTAssertEqual(fields["evt.type"], "socket")
                XCTAssertEqual(fields["proc.pid"]?.int64, Int64(101 + k))
                XCTAssertEqual(fields["proc.name"]?.string, "proc\(k + 1)")
                XCTAssertEqual(fields["user.uid"], 1000)
                XCTAssertEqual(fields["container.id"]?.string, k == 3 ? "c0ffee" : "host")
                XCTAssertEqual(fields["moonwatch.signature.id"], "T-SEV")
                XCTAssertEqual(fields["moonwatch.data.n"]?.int64, Int64(k + 1))
                XCTAssertEqual(fields["moonwatch.data.flag"], true)
                XCTAssertEqual(fields["moonwatch.data.list"], "[1,2]")
                XCTAssertEqual(fields["moonwatch.data.nested"], "{\"k\":\"v\"}")
            } else {
                XCTAssertTrue((started...ended).contains(ns))
                XCTAssertEqual(priority, "Notice")
                XCTAssertEqual(f["rule"], "summary at the end")
                XCTAssertNil(fields["evt.type"], "no event, no event fields")
                XCTAssertEqual(fields["moonwatch.signature.id"], "T-FIN")
                XCTAssertEqual(fields["moonwatch.data.count"], 5)
            }
        }
    }

    func testTraceeOutputContract() throws {
        let severity = ["info": 0, "low": 1, "medium": 2, "high": 3, "critical": 3]
        let (lines, _, _) = try replayContract("tracee")
        let ints = ["timestamp", "processId", "threadId", "parentProcessId", "hostProcessId", "hostThreadId", "hostParentProcessId",
                    "userId", "mountNamespace", "pidNamespace", "cgroupId", "argsNum", "returnValue"]
        let strings = ["processName", "hostName", "containerId", "eventId", "eventName", "syscall"]
        for (k, f) in lines.enumerated() {
            XCTAssertEqual(keys(f), (ints + strings + ["args", "container", "contextFlags", "executable", "kubernetes", "metadata",
                                                       "stackAddresses"]).sorted(), "\(f)")
            for key in ints { XCTAssertTrue(isInt(f[key]), "\(key) must be an integer: \(String(describing: f[key]))") }
            for key in strings { XCTAssertTrue(isString(f[key]), "\(key) must be a string") }
            XCTAssertEqual(f["eventId"], "6000")
            XCTAssertEqual(keys(f["contextFlags"]), ["containerStarted", "isCompat"])
            let args = try XCTUnwrap(f["args"]?.array)
            XCTAssertEqual(f["argsNum"]?.int64, Int64(args.count))
            for a in args {
                XCTAssertEqual(keys(a), ["name", "type", "value"])
                XCTAssertTrue(isString(a["name"]) && isString(a["type"]))
            }
            XCTAssertEqual(keys(f["metadata"]), ["Description", "Properties", "Tags", "Version"])
            let props = try XCTUnwrap(f["metadata"]?["Properties"])
            XCTAssertEqual(keys(props), ["Category", "Severity", "Technique", "external_id", "signatureID", "signatureName"])
            XCTAssertTrue(isInt(props["Severity"]))
            if k < 5 {
                XCTAssertEqual(f["timestamp"]?.uint64, Self.base + UInt64(k + 1))
                XCTAssertEqual(props["Severity"]?.int64, Int64(severity[Self.severities[k]]!))
                XCTAssertEqual(props["signatureID"], "T-SEV")
                XCTAssertEqual(props["Category"], "execution")
                XCTAssertEqual(props["external_id"], "T1059")
                XCTAssertEqual(f["metadata"]?["Version"], "1.2.3")
                XCTAssertEqual(f["metadata"]?["Description"]?.string, "severity \(Self.severities[k]) from proc\(k + 1)")
                XCTAssertEqual(f["eventName"], "every severity")
                XCTAssertEqual(f["processId"]?.int64, Int64(101 + k))
                XCTAssertEqual(f["threadId"]?.int64, Int64(201 + k))
                XCTAssertEqual(f["parentProcessId"], 7)
                XCTAssertEqual(f["userId"], 1000)
                XCTAssertEqual(f["processName"]?.string, "proc\(k + 1)")
                XCTAssertEqual(f["executable"]?["path"]?.string, "/usr/bin/proc\(k + 1)")
                XCTAssertEqual(f["returnValue"]?.int64, Int64(k + 1))
                XCTAssertEqual(f["syscall"], "socket")
                XCTAssertEqual(f["contextFlags"]?["isCompat"], .bool(k == 4))
                XCTAssertEqual(f["containerId"]?.string, k == 3 ? "c0ffee" : "")
                let byName = Dictionary(uniqueKeysWithValues: args.map { ($0["name"]!.string!, $0) })
                XCTAssertEqual(byName["n"]?["type"], "int64"); XCTAssertEqual(byName["n"]?["value"]?.int64, Int64(k + 1))
                XCTAssertEqual(byName["flag"]?["type"], "bool")
                XCTAssertEqual(byName["text"]?["type"], "string")
                XCTAssertEqual(byName["list"]?["type"], "[]interface{}")
                XCTAssertEqual(byName["nested"]?["type"], "map[string]interface{}")
                XCTAssertEqual(byName["triggeredBy"]?["value"]?["name"], "socket", "the triggering event rides along")
                XCTAssertEqual(args.count, 6)
            } else {
                XCTAssertEqual(props["signatureID"], "T-FIN")
                XCTAssertEqual(props["Severity"], 1)
                XCTAssertEqual(f["syscall"], "", "no event: no syscall")
                XCTAssertEqual(f["processId"], 0)
                XCTAssertEqual(f["returnValue"], 0)
                XCTAssertEqual(args.map { $0["name"] }, ["count"], "no triggeredBy without an event")
            }
        }
    }
}
