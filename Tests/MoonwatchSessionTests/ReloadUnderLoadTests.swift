#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// SIGHUP while events keep flowing, through the session: the reload happens between batches, the
/// unchanged signature keeps its per-process state, the changed one switches version without an
/// event lost or seen twice.
final class ReloadUnderLoadTests: XCTestCase {
    /// Batches of socket events from 8 processes; before batch `hangupAt` another thread sends
    /// the process a SIGHUP (once).
    final class LoadSource: EventSource, @unchecked Sendable {
        let batches: Int, perBatch: Int, hangupAt: Int
        var produced = 0
        var stats = SourceStats()
        init(batches: Int, perBatch: Int, hangupAt: Int) { self.batches = batches; self.perBatch = perBatch; self.hangupAt = hangupAt }

        func next(into batch: inout [Event]) throws -> Bool {
            if produced == hangupAt {
                let pid = getpid()
                if let t = startThread({ kill(pid, SIGHUP) }) { pthread_join(t, nil) }
            }
            for k in 0..<perBatch {
                let n = produced * perBatch + k
                var p = ProcessContext()
                p.pid = Int32(100 + n % 8); p.tid = p.pid; p.comm = "w\(n % 8)"
                batch.append(Event(kind: Catalogue.kind(named: "socket")!, time: UInt64(n + 1), ret: 3, process: p))
            }
            produced += 1
            stats.records += UInt64(perBatch)
            return produced < batches
        }
    }

    func testSighupUnderLoadKeepsUnchangedStateAndLosesNoEvent() throws {
        let dir = NSTemporaryDirectory() + "mw-reload-load-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Unchanged across the reload: counts events per process in mw.per_process records.
        try """
            return { id = "R-KEEP", version = "1.0.0", name = "keep", description = "d", severity = "low",
              events = { "socket", "process_fork", "process_exit" },
              on_event = function(event, state)
                local procs = mw.per_process(state, "n")
                if procs:track(event) then return end
                local r = procs:get(event.process.pid, function() return { n = 0 } end)
                r.n = r.n + 1
              end,
              on_finish = function(state)
                local procs = mw.per_process(state, "n")
                for pid = 100, 107 do report{ message = "pid " .. pid, data = { pid = pid, n = procs:get(pid).n } } end
              end }
            """.write(toFile: dir + "/keep.lua", atomically: true, encoding: .utf8)
        let changing = { (v: String) in """
            return { id = "R-CHG", version = "1.0.0", name = "changing", description = "d", severity = "low", events = { "socket" },
              on_event = function(event, state) report{ message = "\(v)", data = { t = event.time } } end }
            """ }
        try changing("v1").write(toFile: dir + "/changing.lua", atomically: true, encoding: .utf8)

        var log: [String] = []
        let sink = CollectingSink()
        var c = Configuration()
        c.noBundled = true
        c.signatures = [dir]
        c.dedupWindow = 0   // every finding is counted below
        c.rateLimit = 0
        let session = try Session(configuration: c, log: { log.append($0) })
        // Only SIGHUP: the session acts on it between batches.
        Signals.install(stop: false, reload: true, reopen: false)
        let batches = 60, perBatch = 100, hangupAt = 30
        let source = LoadSource(batches: batches, perBatch: perBatch, hangupAt: hangupAt)
        var changedOnDisk = false
        session.onBatch = { _ in
            // The file changes while the load runs; the SIGHUP (sent from another thread) asks for the reload.
            if source.produced == hangupAt - 5 && !changedOnDisk {
                try? changing("v2").write(toFile: dir + "/changing.lua", atomically: true, encoding: .utf8)
                changedOnDisk = true
            }
        }
        _ = try session.run(.events(source), sinks: [sink])
        let engine = session.engine
        let total = batches * perBatch
        XCTAssertEqual(session.reloads, 1, "one SIGHUP, one reload: \(log)")
        XCTAssertTrue(log.contains { $0.hasPrefix("reload: 1 reloaded, 0 added, 0 removed, 1 unchanged, 0 failed") }, "\(log)")
        XCTAssertEqual(engine.eventsIn, UInt64(total))

        let chg = sink.findings.filter { $0.signature.id == "R-CHG" }
        XCTAssertEqual(chg.count, total, "every event reached exactly one version of the changed signature")
        XCTAssertEqual(Set(chg.compactMap { $0.data["t"]?.int64 }).count, total, "no event seen twice")
        let v1 = chg.filter { $0.message == "v1" }.count, v2 = chg.filter { $0.message == "v2" }.count
        XCTAssertEqual(v1 + v2, total)
        XCTAssertGreaterThan(v1, 0); XCTAssertGreaterThan(v2, 0)
        XCTAssertTrue(chg.prefix(v1).allSatisfy { $0.message == "v1" }, "the switch happens once, between batches")
        XCTAssertEqual(v1 % perBatch, 0, "the switch happens between batches")

        let kept = sink.findings.filter { $0.signature.id == "R-KEEP" }
        XCTAssertEqual(kept.count, 8)
        for f in kept {
            XCTAssertEqual(f.data["n"]?.int64, Int64(total / 8), "per-process state survived the reload: \(f.message)")
        }
    }
}
