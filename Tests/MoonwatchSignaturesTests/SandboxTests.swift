import MoonwatchCore
import MoonwatchSignatures
import XCTest

/// Every escape and bomb DESIGN.md lists, tried against the real sandbox.
final class SandboxTests: XCTestCase {
    /// Loads a signature whose on_event runs `body`, calls it once, returns the signature.
    private func callOnce(_ body: String, limits: SandboxLimits = .default, prelude: String = "") throws -> (Signature, [Finding]) {
        let sig = try makeSignature(signatureSource(body: body, prelude: prelude), limits: limits)
        let (findings, _) = try runEvents([sig], [sendmsgEvent()])
        return (sig, findings)
    }

    func testDangerousGlobalsAreAbsent() throws {
        let names = ["load", "loadfile", "dofile", "require", "collectgarbage", "io", "os", "debug", "package",
                     "coroutine", "loadstring"]
        let checks = names.map { "if \($0) ~= nil then bad[#bad+1] = \"\($0)\" end" }.joined(separator: "\n")
        let (_, findings) = try callOnce("""
            local bad = {}
            \(checks)
            if string.dump ~= nil then bad[#bad+1] = "string.dump" end
            report{ message = "present: " .. table.concat(bad, ",") }
            """)
        XCTAssertEqual(findings.first?.message, "present: ")
    }

    func testOnlyTheAllowedLibrariesAreOpen() throws {
        let (_, findings) = try callOnce("""
            report{ message = type(string.format) .. type(table.insert) .. type(math.floor) .. type(utf8.char) }
            """)
        XCTAssertEqual(findings.first?.message, "functionfunctionfunctionfunction")
    }

    func testBinaryChunksAreRefusedAtLoad() throws {
        // A precompiled chunk starts with ESC "Lua"; the host loads text only.
        let source = SignatureSource(path: "bin.lua", text: "\u{1B}Lua\u{54}\u{00}garbage")
        XCTAssertThrowsError(try Signature(source: source)) { error in
            XCTAssertTrue("\(error)".contains("binary chunk"), "\(error)")
        }
    }

    func testInfiniteLoopIsStoppedByTheBudget() throws {
        let (sig, findings) = try callOnce("while true do end")
        XCTAssertTrue(findings.isEmpty)
        XCTAssertEqual(sig.counters.budgetKills, 1)
        XCTAssertTrue(sig.lastError?.contains("budget") ?? false, sig.lastError ?? "")
    }

    func testPcallCannotSwallowTheBudget() throws {
        let (sig, _) = try callOnce("""
            while true do pcall(function() while true do end end) end
            """)
        XCTAssertEqual(sig.counters.budgetKills, 1)
    }

    func testBudgetHoldsInsideNonYieldableCallbacks() throws {
        // table.sort's comparator runs under a C call where the hook cannot yield; it raises, and
        // the pcall replacement keeps the error going once the budget is spent.
        let (sig, _) = try callOnce("""
            while true do
              pcall(table.sort, {3, 2, 1}, function(a, b) while true do end end)
            end
            """)
        XCTAssertEqual(sig.counters.budgetKills, 1)
    }

    func testXpcallCannotSwallowTheBudget() throws {
        let (sig, _) = try callOnce("""
            while true do xpcall(function() while true do end end, function(m) return m end) end
            """)
        XCTAssertEqual(sig.counters.budgetKills, 1)
    }

    func testStringRepMemoryBombHitsTheCap() throws {
        var limits = SandboxLimits.default
        limits.memoryBytes = 8 << 20
        let (sig, _) = try callOnce("local s = string.rep('x', 1e9)", limits: limits)
        XCTAssertEqual(sig.counters.memoryErrors, 1)
        XCTAssertLessThanOrEqual(sig.memoryPeak, 8 << 20)
    }

    func testTableGrowthHitsTheCap() throws {
        var limits = SandboxLimits.default
        limits.memoryBytes = 4 << 20
        limits.instructionsPerCall = 1_000_000_000
        let (sig, _) = try callOnce("local t = {} for i = 1, 1e8 do t[i] = i end", limits: limits)
        XCTAssertEqual(sig.counters.memoryErrors, 1)
        XCTAssertLessThanOrEqual(sig.memoryPeak, 4 << 20)
    }

    func testStateGrowthAcrossCallsHitsTheCap() throws {
        var limits = SandboxLimits.default
        limits.memoryBytes = 2 << 20
        let sig = try makeSignature(signatureSource(body: """
            state.keep = state.keep or {}
            for i = 1, 20000 do state.keep[#state.keep + 1] = tostring(i) .. "padding-padding" end
            """), limits: limits)
        _ = try runEvents([sig], (0..<20).map { sendmsgEvent(time: UInt64($0)) })
        XCTAssertGreaterThan(sig.counters.memoryErrors, 0)
        XCTAssertLessThanOrEqual(sig.memoryPeak, 2 << 20)
    }

    func testUnboundedRecursionIsAnError() throws {
        let (sig, _) = try callOnce("local function f(n) return f(n + 1) + 1 end f(1)")
        XCTAssertEqual(sig.counters.failures, 1)
    }

    func testPatternsOnLongSubjectsAreNotRefusedByAnEstimate() throws {
        // Bounded by the watchdog, not by a worst-case estimate: a cost guess refused this
        // ordinary split of a 300-byte path (and let exponential `a?a?…aaa` shapes through).
        let (sig, findings) = try callOnce("""
            local path = string.rep("d/", 150) .. "file"
            local a, b, c = path:match("^(.*)/(.*)/(.*)$")
            report{ message = tostring(#a) .. " " .. c }
            """)
        XCTAssertEqual(sig.counters.failures, 0, sig.lastError ?? "")
        XCTAssertEqual(findings.first?.message, "297 file")
    }

    func testOrdinaryPatternsStillWork() throws {
        let (_, findings) = try callOnce("""
            local a, b = ("/proc/1234/mem"):match("^/proc/(%d+)/(%a+)$")
            local n = select(2, ("a b  c"):gsub("%s+", " "))
            report{ message = a .. b .. n .. tostring(("x.so"):find(".so", 1, true)) }
            """)
        XCTAssertEqual(findings.first?.message, "1234mem22")
    }

    func testEmptyStringRepDoesNotSpin() throws {
        let (_, findings) = try callOnce("report{ message = '[' .. string.rep('', 1e15) .. ']' }")
        XCTAssertEqual(findings.first?.message, "[]")
    }

    func testTableMoveRangeIsCapped() throws {
        let (sig, _) = try callOnce("table.move({}, 1, 1e15, 1)")
        XCTAssertTrue(sig.lastError?.contains("table.move refused") ?? false, sig.lastError ?? "")
    }

    func testTableFunctionsRefuseMetatables() throws {
        // C-function metamethods would keep table.insert's shifting loop away from the hook forever.
        let (sig, _) = try callOnce("""
            local mt = {}
            local t = setmetatable({}, mt)
            mt.__len = function() return math.maxinteger - 1 end
            mt.__index = rawequal
            mt.__newindex = rawequal
            table.insert(t, 1, "x")
            """)
        XCTAssertTrue(sig.lastError?.contains("without a metatable") ?? false, sig.lastError ?? "")
    }

    func testFinalizersAreRefused() throws {
        let (sig, _) = try callOnce("setmetatable({}, { __gc = function() while true do end end })")
        XCTAssertTrue(sig.lastError?.contains("__gc") ?? false, sig.lastError ?? "")
    }

    func testStringMetatableIsLocked() throws {
        let (_, findings) = try callOnce("report{ message = tostring(getmetatable('')) }")
        XCTAssertEqual(findings.first?.message, "false")
    }

    func testLoopAtLoadTimeIsStopped() {
        let source = SignatureSource(path: "loops.lua", text: "while true do end\nreturn {}")
        XCTAssertThrowsError(try Signature(source: source)) { error in
            XCTAssertTrue("\(error)".contains("instructions"), "\(error)")
        }
    }

    func testRuntimeErrorIsCountedWithItsLine() throws {
        let (sig, _) = try callOnce("local x = nil\nlocal y = x.field")
        XCTAssertEqual(sig.counters.runtimeErrors, 1)
        XCTAssertTrue(sig.lastError?.hasPrefix("test.lua:") ?? false, sig.lastError ?? "")
    }

    func testRepeatedFailuresDisableTheSignatureAndOthersCarryOn() throws {
        let bad = try makeSignature(signatureSource(id: "BAD", body: "error('boom')"))
        let good = try makeSignature(signatureSource(id: "GOOD", body: "report{ message = 'ok' }"))
        let events = (0..<50).map { sendmsgEvent(time: UInt64($0)) }
        let (findings, log) = try runEvents([bad, good], events)
        XCTAssertTrue(bad.isDisabled)
        XCTAssertEqual(bad.counters.calls, UInt64(Signature.consecutiveFailureLimit))
        XCTAssertEqual(findings.filter { $0.signature.id == "GOOD" }.count, 50)
        XCTAssertTrue(log.contains { $0.contains("BAD") && $0.contains("disabled after 10 consecutive") }, "\(log)")
        // Logging is rate-limited: the disable line plus at most the first few errors.
        XCTAssertLessThanOrEqual(log.count, 7)
    }

    func testASignatureThatRecoversIsNotDisabled() throws {
        let flaky = try makeSignature(signatureSource(body: "if event.time % 2 == 0 then error('even') end"))
        _ = try runEvents([flaky], (0..<40).map { sendmsgEvent(time: UInt64($0)) })
        XCTAssertFalse(flaky.isDisabled)
        XCTAssertEqual(flaky.counters.runtimeErrors, 20)
    }

    func testStatePersistsAndOnFinishReports() throws {
        let sig = try makeSignature(signatureSource(body: "state.n = (state.n or 0) + 1",
            extra: "on_finish = function(state) report{ message = 'saw ' .. state.n } end,"))
        let (findings, _) = try runEvents([sig], (0..<3).map { sendmsgEvent(time: UInt64($0)) })
        XCTAssertEqual(findings.map(\.message), ["saw 3"])
        XCTAssertNil(findings.first?.event)
    }

    func testPrintGoesToTheLog() throws {
        let sig = try makeSignature(signatureSource(body: "print('hello', event.name, 42)"))
        let (_, log) = try runEvents([sig], [sendmsgEvent()])
        XCTAssertEqual(log, ["[T-1] hello\tsendmsg\t42"])
    }
}
