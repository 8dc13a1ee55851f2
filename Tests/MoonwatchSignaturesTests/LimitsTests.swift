import Foundation
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures
import XCTest

/// The instruction budget and the memory cap where the sandbox tests do not reach: inside
/// on_finish, in a message handler that loops, behind pcall, and the call after a kill.
final class LimitsTests: XCTestCase {
    /// Behaviour this file found broken in the sandbox (CLuaSandbox, not this suite's to fix):
    /// a looping xpcall message handler is never stopped (the call hangs), and pcall/xpcall turn
    /// running out of memory into an ordinary error value, against the documented contract.
    /// These tests are skipped, saying so, until MOONWATCH_KNOWN_DEFECTS=1 or the fix lands and
    /// the skip is removed.
    func requireDefectFixed(_ what: String) throws {
        if ProcessInfo.processInfo.environment["MOONWATCH_KNOWN_DEFECTS"] != "1" {
            throw XCTSkip("known sandbox defect, reported: \(what) (MOONWATCH_KNOWN_DEFECTS=1 runs it)")
        }
    }

    func testALoopingXpcallMessageHandlerIsStoppedByTheBudget() throws {
        try requireDefectFixed("a looping xpcall message handler is never stopped")
        // In a child process with a deadline: today the call never returns, and a hang must not
        // take the whole suite with it.
        let dir = NSTemporaryDirectory() + "mw-limits-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try signatureSource(body: """
            local ok = xpcall(function() error('first') end, function(m) while true do end end)
            report{ message = 'handler returned ' .. tostring(ok) }
            """).text.write(toFile: dir + "/loop.lua", atomically: true, encoding: .utf8)
        try #"{"name":"sendmsg","ret":1,"args":{"sockfd":3}}"#.write(toFile: dir + "/one.jsonl", atomically: true, encoding: .utf8)
        let p = Process()
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("moonwatch")
        p.executableURL = binary
        p.arguments = ["replay", dir + "/one.jsonl", "--signatures", dir + "/loop.lua", "--stats"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        for _ in 0..<300 where p.isRunning { usleep(100_000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            return XCTFail("the replay did not finish within 30 s: the looping handler was never stopped")
        }
        let lines = Array(err.fileHandleForReading.readDataToEndOfFile()).split(separator: 0x0A)
        let stats = try JSONParser.parse(Array(lines.last ?? []))
        XCTAssertEqual(stats["signatures"]?.array?.first?["budget_kills"], 1)
    }

    func testTheBudgetHoldsInsideOnFinish() throws {
        let sig = try makeSignature(signatureSource(body: "state.n = (state.n or 0) + 1",
            extra: "on_finish = function(state) report{ message = 'before' } while true do end end,"))
        let (findings, log) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(sig.counters.budgetKills, 1)
        XCTAssertEqual(sig.counters.calls, 1)
        XCTAssertEqual(findings.map(\.message), ["before"], "a finding reported before the kill stands")
        XCTAssertTrue(log.contains { $0.contains("on_finish failed (budget)") }, "\(log)")
    }

    func testPcallCannotCatchRunningOutOfMemory() throws {
        try requireDefectFixed("pcall catches running out of memory")
        var limits = SandboxLimits.default
        limits.memoryBytes = 4 << 20
        let sig = try makeSignature(signatureSource(body: """
            local ok, err = pcall(function() local t = {} for i = 1, 1e7 do t[i] = tostring(i) end end)
            report{ message = 'caught: ' .. tostring(err) }
            """), limits: limits)
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(sig.counters.memoryErrors, 1)
        XCTAssertEqual(findings, [], "pcall must not turn the memory error into a value")
        XCTAssertLessThanOrEqual(sig.memoryPeak, 4 << 20)
    }

    func testXpcallCannotCatchRunningOutOfMemory() throws {
        try requireDefectFixed("xpcall catches running out of memory")
        var limits = SandboxLimits.default
        limits.memoryBytes = 4 << 20
        let sig = try makeSignature(signatureSource(body: """
            xpcall(function() local s = string.rep('x', 1e8) end, function(m) report{ message = 'handled ' .. m } end)
            report{ message = 'after' }
            """), limits: limits)
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(sig.counters.memoryErrors, 1)
        XCTAssertEqual(findings.map(\.message), [])
    }

    /// After a budget kill and after a memory kill, the next call runs normally with the state
    /// the signature had before the killed call.
    func testTheCallAfterAKillRunsNormallyWithItsState() throws {
        var limits = SandboxLimits.default
        limits.memoryBytes = 4 << 20
        let sig = try makeSignature(signatureSource(body: """
            state.n = (state.n or 0) + 1
            if event.ret == 2 then while true do end end
            if event.ret == 3 then local t = {} for i = 1, 1e7 do t[i] = tostring(i) end end
            report{ message = 'call ' .. state.n .. ' ret ' .. event.ret }
            """), limits: limits)
        let events = [1, 2, 4, 3, 5].map { sendmsgEvent(ret: $0, time: UInt64($0)) }
        let (findings, _) = try runEvents([sig], events)
        XCTAssertEqual(sig.counters.budgetKills, 1)
        XCTAssertEqual(sig.counters.memoryErrors, 1)
        XCTAssertFalse(sig.isDisabled)
        // state.n was incremented by the killed calls before they died: state is not rolled back.
        XCTAssertEqual(findings.map(\.message), ["call 1 ret 1", "call 3 ret 4", "call 5 ret 5"])
        XCTAssertLessThan(sig.memoryUsed, 4 << 20)
    }
}
