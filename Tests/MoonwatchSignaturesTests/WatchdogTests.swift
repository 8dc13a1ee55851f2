import Foundation
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures
import XCTest

/// Runs `body` on its own thread and fails the test when it has not returned after `seconds`
/// (the thread is then left behind: on code without a watchdog it may spin for hours).
func finishes(within seconds: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line,
              _ body: @escaping () -> Void) {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) let work = body
    let t = Thread { work(); done.signal() }
    t.stackSize = 8 << 20
    t.start()
    if done.wait(timeout: .now() + seconds) == .timedOut {
        XCTFail("\(what) still running after \(seconds) s", file: file, line: line)
    }
}

/// Patterns and data that keep one call busy for minutes to hours where the instruction hook
/// cannot see it, and the watchdog that ends them.
final class WatchdogTests: XCTestCase {
    /// `a?` n times then `a` n times, on n a's: stock Lua backtracks through 2^n ways.
    static func exponentialFind(_ n: Int) -> String {
        "local s = string.rep('a', \(n)); local p = string.rep('a?', \(n)) .. string.rep('a', \(n)); s:find(p)"
    }

    static var shortTimeout: SandboxLimits {
        var l = SandboxLimits.default
        l.callTimeoutMilliseconds = 200
        return l
    }

    func testBacktrackingFindInsideCIsAbandonedAndTheOthersGoOn() throws {
        let stuck = try makeSignature(signatureSource(id: "STUCK", body: WatchdogTests.exponentialFind(40)),
                                      limits: WatchdogTests.shortTimeout)
        let good = try makeSignature(signatureSource(id: "GOOD", body: "report{ message = 'ok' }"))
        nonisolated(unsafe) var result: (findings: [Finding], log: [String])?
        finishes(within: 30, "a backtracking string.find") {
            result = try? runEvents([stuck, good], (0..<5).map { sendmsgEvent(time: UInt64($0)) })
        }
        let r = try XCTUnwrap(result)
        XCTAssertEqual(r.findings.filter { $0.signature.id == "GOOD" }.count, 5)
        XCTAssertTrue(stuck.isDisabled)
        XCTAssertEqual(stuck.counters.timeouts, 1)
        XCTAssertEqual(stuck.counters.calls, 1, "a disabled signature is not called again")
        XCTAssertTrue(stuck.lastError?.contains("stuck inside a C function") ?? false, stuck.lastError ?? "")
        XCTAssertTrue(r.log.contains { $0.contains("STUCK") && $0.contains("disabled") }, "\(r.log)")
    }

    func testEveryStringFunctionWithAPatternIsCovered() throws {
        let bodies = [
            "local s = string.rep('a', 40); s:match(string.rep('a?', 40) .. string.rep('a', 40))",
            "local s = string.rep('a', 40); for _ in s:gmatch(string.rep('a?', 40) .. string.rep('a', 40)) do end",
            "local s = string.rep('a', 40); s:gsub(string.rep('a?', 40) .. string.rep('a', 40), 'x')",
            // Plain find is memchr + memcmp per candidate: a long near-miss needle in a long subject.
            "local s = string.rep('a', 4e6); local n = string.rep('a', 2e6) .. 'b'; s:find(n, 1, true)",
        ]
        for body in bodies {
            let sig = try makeSignature(signatureSource(body: body), limits: WatchdogTests.shortTimeout)
            finishes(within: 30, body) { _ = try? runEvents([sig], [sendmsgEvent()]) }
            XCTAssertEqual(sig.counters.timeouts, 1, body)
            XCTAssertTrue(sig.isDisabled, body)
        }
    }

    func testSlowInstructionsOnHugeStringsAreStoppedWithTheStateIntact() throws {
        // Each `==` compares 4 MiB byte by byte in one VM instruction: the instruction budget
        // would allow minutes of it. The watchdog makes the hook fire on the next instruction.
        var limits = WatchdogTests.shortTimeout
        limits.instructionsPerCall = 1_000_000_000
        let sig = try makeSignature(signatureSource(body: """
            local a = string.rep("x", 4 * 1024 * 1024)
            local b = string.rep("x", 4 * 1024 * 1024 - 1) .. "y"
            local n = 0
            while true do if a == b then n = n + 1 end end
            """), limits: limits)
        finishes(within: 30, "comparisons of huge strings") { _ = try? runEvents([sig], [sendmsgEvent()]) }
        XCTAssertEqual(sig.counters.timeouts, 1)
        XCTAssertTrue(sig.lastError?.contains("ran for more than 200 ms") ?? false, sig.lastError ?? "")
    }

    func testAStuckFileIsRefusedAtLoad() {
        let source = SignatureSource(path: "stuck-at-load.lua", text: WatchdogTests.exponentialFind(40) + "\nreturn {}")
        nonisolated(unsafe) var error: Error?
        finishes(within: 30, "loading a file that hangs in string.find") {
            do { _ = try Signature(source: source, limits: WatchdogTests.shortTimeout) } catch let e { error = e }
        }
        XCTAssertTrue("\(error.map { "\($0)" } ?? "no error")".contains("stuck inside a C function"), "\(String(describing: error))")
    }

    func testAStopRequestEndsAStuckCallQuicklyWhateverItsLimit() throws {
        var limits = SandboxLimits.default
        limits.callTimeoutMilliseconds = 3_600_000
        let sig = try makeSignature(signatureSource(body: WatchdogTests.exponentialFind(40)), limits: limits)
        defer { Watchdog.resetStop() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { Watchdog.requestStop() }
        finishes(within: 10, "a stuck call after a stop request") { _ = try? runEvents([sig], [sendmsgEvent()]) }
        XCTAssertEqual(sig.counters.timeouts, 1)
        XCTAssertTrue(sig.lastError?.contains("shutdown") ?? false, sig.lastError ?? "")
    }

    func testOrdinaryCallsAreNeverInterrupted() throws {
        let before = Watchdog.interrupts
        let sig = try makeSignature(signatureSource(body: """
            local s = string.rep("ab", 500)
            for i = 1, 200 do s:find("b(a)", i) end
            report{ message = "done" }
            """))
        let (findings, _) = try runEvents([sig], (0..<200).map { sendmsgEvent(time: UInt64($0)) })
        XCTAssertEqual(findings.count, 200)
        XCTAssertEqual(sig.counters.failures, 0)
        XCTAssertEqual(Watchdog.interrupts, before)
    }
}
