import Foundation
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures
import XCTest

/// The instruction budget and the memory cap where the sandbox tests do not reach: inside
/// on_finish, in a message handler that loops, behind pcall, and the call after a kill.
final class LimitsTests: XCTestCase {
    func testALoopingXpcallMessageHandlerIsStoppedByTheBudget() throws {
        // In a child process with a deadline: a call that never returns must not take the whole
        // suite with it.
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
        p.arguments = ["replay", dir + "/one.jsonl", "--no-bundled", "--signatures", dir + "/loop.lua", "--stats"]
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

/// What a hostile signature can do with errors to get past the limits: loop or raise inside a
/// message handler or a __tostring, smuggle code into error objects, ask C for terabytes, catch a
/// kill and retry, run __close methods after the end. Each one must end with the call killed and
/// counted, never hung, never swallowed. Every run has a deadline (`finishes`), so a sandbox that
/// fails to stop a call fails the test instead of hanging the suite.
final class HostileSignatureTests: XCTestCase {
    struct Outcome { var sig: Signature; var findings: [String]; var log: [String] }

    func hostile(_ body: String, extra: String = "", limits: SandboxLimits = .default, events: Int = 1,
                 file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let sig = try makeSignature(signatureSource(body: body, extra: extra), limits: limits, file: file, line: line)
        nonisolated(unsafe) var result: (findings: [Finding], log: [String])?
        finishes(within: 30, "the hostile signature", file: file, line: line) {
            result = try? runEvents([sig], (1...events).map { sendmsgEvent(ret: Int64($0), time: UInt64($0)) })
        }
        let r = try XCTUnwrap(result, file: file, line: line)
        return Outcome(sig: sig, findings: r.findings.map(\.message), log: r.log)
    }

    static func limits(memoryMiB: Int = 16, budget: Int64 = SandboxLimits.default.instructionsPerCall,
                       timeoutMs: Int64 = SandboxLimits.default.callTimeoutMilliseconds) -> SandboxLimits {
        var l = SandboxLimits.default
        l.memoryBytes = memoryMiB << 20
        l.instructionsPerCall = budget
        l.callTimeoutMilliseconds = timeoutMs
        return l
    }

    /// Lua leaves hooks off after an error raised from the hook until a pcall catches it; one
    /// that ended the call used to leave the thread without a hook for every later call.
    func testABudgetKillInsideACFunctionLeavesLaterCallsUnderTheBudget() throws {
        let o = try hostile("""
            if event.ret == 1 then table.sort({3, 2, 1}, function(a, b) while true do end end) end
            report{ message = 'call ' .. event.ret }
            while true do end
            """, events: 3)
        XCTAssertEqual(o.sig.counters.budgetKills, 3, o.sig.lastError ?? "")
        XCTAssertEqual(o.sig.counters.timeouts, 0, o.sig.lastError ?? "")
        XCTAssertEqual(o.findings, ["call 2", "call 3"])
        XCTAssertFalse(o.sig.isDisabled)
    }

    /// The budget error raised inside the handler calls the handler again: that second run must
    /// not happen (it would run with hooks off and never end).
    func testAHandlerThatRaisesAndThenLoopsIsStopped() throws {
        let o = try hostile("""
            xpcall(function() error('first', 0) end, function(m)
              if m == 'first' then error('second', 0) end
              while true do end
            end)
            report{ message = 'after the handler' }
            """)
        XCTAssertEqual(o.sig.counters.budgetKills, 1, o.sig.lastError ?? "")
        XCTAssertEqual(o.findings, [])
    }

    func testAHandlerThatLoopsInOnFinishIsStopped() throws {
        let o = try hostile("state.n = 1", extra: """
            on_finish = function(state)
              xpcall(error, function(m) while true do end end, 'x')
              report{ message = 'finished' }
            end,
            """)
        XCTAssertEqual(o.sig.counters.budgetKills, 1, o.sig.lastError ?? "")
        XCTAssertEqual(o.findings, [])
        XCTAssertTrue(o.log.contains { $0.contains("on_finish failed (budget)") }, "\(o.log)")
    }

    func testAHandlerThatLoopsWhileTheFileRunsIsRefusedByTheLoadBudget() throws {
        let source = SignatureSource(path: "handler-at-load.lua", text: """
            xpcall(error, function(m) while true do end end, 'x')
            return { id = "T-1", version = "1.0.0", name = "t", description = "d", severity = "low",
                     events = { "sendmsg" }, on_event = function() end }
            """)
        nonisolated(unsafe) var error: Error?
        finishes(within: 30, "loading a file whose message handler loops") {
            do { _ = try Signature(source: source) } catch let e { error = e }
        }
        let text = error.map { "\($0)" } ?? "no error"
        XCTAssertTrue(text.contains("used more than \(SandboxLimits.default.instructionsAtLoad) instructions"), text)
    }

    /// With no budget to speak of, the watchdog ends the handler; the interrupt must not re-enter
    /// the handler with hooks off (that left the call stuck until it was abandoned).
    func testTheWatchdogStopsALoopingHandlerWithTheStateIntact() throws {
        let o = try hostile("xpcall(error, function(m) while true do end end, 'x')",
                            limits: Self.limits(budget: 1 << 50, timeoutMs: 200))
        XCTAssertEqual(o.sig.counters.timeouts, 1)
        XCTAssertTrue(o.sig.lastError?.contains("ran for more than 200 ms") ?? false, o.sig.lastError ?? "")
    }

    /// The host never calls an error object's __tostring; the signature's own tostring/print of
    /// it is signature code under the budget, also inside a handler and behind pcall.
    func testErrorObjectsWithAHostileTostring() throws {
        let raised = try hostile("error(setmetatable({}, { __tostring = function() while true do end end }))")
        XCTAssertEqual(raised.sig.counters.runtimeErrors, 1)
        XCTAssertTrue(raised.sig.lastError?.contains("error object is a table value") ?? false, raised.sig.lastError ?? "")

        for body in [
            "local ok, e = pcall(error, setmetatable({}, { __tostring = function() while true do end end })) print(e)",
            "xpcall(error, function(m) return tostring(m) end, setmetatable({}, { __tostring = function() while true do end end }))",
            "pcall(string.format, '%s', setmetatable({}, { __tostring = function() while true do end end }))",
            // __tostring raises itself: each xpcall nests handler errors down to Lua's C-stack
            // limit ("error in error handling"); retried in a loop until the budget ends it.
            "local t = setmetatable({}, {}) getmetatable(t).__tostring = function() error(t) end while true do xpcall(error, function(m) return tostring(m) end, t) end",
        ] {
            let o = try hostile(body + "\nreport{ message = 'went on' }")
            XCTAssertEqual(o.sig.counters.budgetKills, 1, body + ": " + (o.sig.lastError ?? ""))
            XCTAssertEqual(o.findings, [], body)
        }
    }

    func testFinalizersCannotRideOnAnErrorObject() throws {
        let o = try hostile("error(setmetatable({}, { __gc = function() while true do end end }))")
        XCTAssertEqual(o.sig.counters.runtimeErrors, 1)
        XCTAssertTrue(o.sig.lastError?.contains("finalizers (__gc) are not allowed") ?? false, o.sig.lastError ?? "")
    }

    func testDeepRecursionInAHandlerIsAMemoryKill() throws {
        let o = try hostile("""
            local function r(n) return 1 + r(n + 1) end
            local ok = xpcall(error, function(m) return r(1) end, 'x')
            report{ message = 'after ' .. tostring(ok) }
            """, limits: Self.limits(memoryMiB: 4))
        XCTAssertEqual(o.sig.counters.memoryErrors, 1, o.sig.lastError ?? "")
        XCTAssertEqual(o.findings, [])
    }

    func testTostringOfAHugeValueIsAMemoryKillBehindPcall() throws {
        // luaL_tolstring formats "<__name>: <address>": the 6 MiB name fits under the 16 MiB cap,
        // its copy and the formatted result do not.
        let o = try hostile("""
            local t = setmetatable({}, { __name = string.rep('n', 6 * 1024 * 1024) })
            local ok = pcall(tostring, t)
            report{ message = 'after ' .. tostring(ok) }
            """)
        XCTAssertEqual(o.sig.counters.memoryErrors, 1, o.sig.lastError ?? "")
        XCTAssertEqual(o.findings, [])
    }

    /// 2^40 bytes is refused as running out of memory (Lua's own "resulting string too large" was
    /// an ordinary error a retry loop could catch forever); the first attempt ends the call.
    func testATerabyteStringRepEndsTheCallEvenWhenRetried() throws {
        let o = try hostile("""
            for i = 1, 1e9 do pcall(string.rep, 'x', 2^40) end
            report{ message = 'gave up' }
            """)
        XCTAssertEqual(o.sig.counters.memoryErrors, 1, o.sig.lastError ?? "")
        XCTAssertEqual(o.sig.counters.budgetKills, 0)
        XCTAssertEqual(o.findings, [])
        XCTAssertTrue(o.sig.lastError?.contains("memory cap") ?? false, o.sig.lastError ?? "")
    }

    /// A __close method met while a kill unwinds is signature code after the end: it never runs.
    func testCloseMethodsDoNotRunAfterAKill() throws {
        let close = "local x <close> = setmetatable({}, { __close = function() report{ message = 'closed after the kill' } end })"
        let budget = try hostile("""
            table.sort({1, 2, 3}, function(a, b)
              pcall(function() \(close) while true do end end)
              return a < b
            end)
            """)
        XCTAssertEqual(budget.sig.counters.budgetKills, 1, budget.sig.lastError ?? "")
        XCTAssertEqual(budget.findings, [])

        let memory = try hostile("pcall(function() \(close) local t = {} for i = 1, 1e7 do t[i] = i end end)",
                                 limits: Self.limits(memoryMiB: 4))
        XCTAssertEqual(memory.sig.counters.memoryErrors, 1, memory.sig.lastError ?? "")
        XCTAssertEqual(memory.findings, [])
    }

    /// C calls that work on megabytes cost one instruction each: the watchdog ends them, between
    /// two instructions, with the state intact, also when every call is behind pcall.
    func testHeavyCCallsInAPcallLoopAreStoppedByTheWatchdog() throws {
        for body in [
            "local s = string.rep('a', 4e6) while true do pcall(string.gsub, s, 'a', 'b') end",
            "while true do pcall(string.rep, 'x', 4e6) end",
        ] {
            let o = try hostile(body + "\nreport{ message = 'went on' }", limits: Self.limits(timeoutMs: 200))
            XCTAssertEqual(o.sig.counters.timeouts + o.sig.counters.budgetKills, 1, body + ": " + (o.sig.lastError ?? ""))
            XCTAssertFalse(o.sig.lastError?.contains("stuck inside a C function") ?? true, body + ": " + (o.sig.lastError ?? ""))
            XCTAssertEqual(o.findings, [], body)
        }
    }

    /// Lua retries a refused allocation after an emergency collection; when that fits, the call
    /// was never out of memory and goes on.
    func testChurnNearTheMemoryCapIsNotAMemoryError() throws {
        let o = try hostile("""
            state.keep = state.keep or {}
            if #state.keep == 0 then for i = 1, 25000 do state.keep[i] = { i } end end
            for i = 1, 1000 do local t = {} for j = 1, 200 do t[j] = j end end
            report{ message = 'churned' }
            """, limits: Self.limits(memoryMiB: 4), events: 3)
        XCTAssertEqual(o.sig.counters.failures, 0, o.sig.lastError ?? "")
        XCTAssertEqual(o.findings, ["churned", "churned", "churned"])
    }
}
