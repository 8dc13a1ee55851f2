import Foundation
import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchProbes
import MoonwatchSignatures
import XCTest

/// Gate for tests that load eBPF programs: skipped without the privileges, unless
/// MOONWATCH_REQUIRE_LIVE=1 makes that a failure (CI on a root runner).
enum LiveGate {
    static var required: Bool { ProcessInfo.processInfo.environment["MOONWATCH_REQUIRE_LIVE"] == "1" }

    /// Throws XCTSkip (or fails) when live capture is impossible here.
    static func check(_ error: Error? = nil) throws {
        let reason: String
        if let error {
            switch error as? ProbeError {
            case .notPermitted, .refused, .noBTF: reason = "\(error)"
            default: throw error  // a real failure (verifier, decoding, ...), not an environment limit
            }
        } else {
            do { try Preflight.check(); return } catch { reason = "\(error)" }
        }
        if required {
            XCTFail("MOONWATCH_REQUIRE_LIVE=1 but live eBPF capture is not possible: \(reason)")
            throw LiveUnavailable(reason: reason)
        }
        throw XCTSkip("live eBPF tests need root (or CAP_BPF+CAP_PERFMON) and kernel BTF: \(reason)")
    }

    /// Something else a live test needs is missing here (a tool, a cgroup hierarchy): a skip,
    /// or with MOONWATCH_REQUIRE_LIVE=1 a failure, like the privileges themselves.
    static func unavailable(_ reason: String, file: StaticString = #filePath, line: UInt = #line) throws -> Never {
        if required {
            XCTFail("MOONWATCH_REQUIRE_LIVE=1 but this live test cannot run here: \(reason)", file: file, line: line)
            throw LiveUnavailable(reason: reason)
        }
        throw XCTSkip(reason)
    }

    struct LiveUnavailable: Error, CustomStringConvertible { var reason: String; var description: String { reason } }
}

/// Paths of the package and of the products of this build.
enum Paths {
    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static func product(_ name: String) -> String {
        // The test bundle sits beside the products of the same build.
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return root + "/.build/debug/" + name
    }

    static let trigger = product("mw-trigger")
    static let moonwatch = product("moonwatch")
}

/// One run of the trigger program: its pid and the key=value lines it printed.
struct TriggerRun {
    var pid: Int32
    var values: [String: String]
    var status: Int32
    /// Every line it printed, in order (a key printed twice keeps its last value in `values`).
    var lines: [String] = []

    func int(_ key: String) -> Int64? { values[key].flatMap { Int64($0) } }
    subscript(key: String) -> String? { values[key] }
}

enum Trigger {
    /// Runs `mw-trigger scenario args` to completion. With `gate`, the trigger waits for a byte on
    /// standard input and `gate` runs first with its pid (to put it in scope).
    static func run(_ scenario: String, _ args: [String] = [], gate: ((Int32) throws -> Void)? = nil) throws -> TriggerRun {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.trigger)
        p.arguments = [scenario] + args
        var env = ProcessInfo.processInfo.environment
        env["MW_TRIGGER_WAIT"] = gate == nil ? "0" : "1"
        p.environment = env
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardInput = inp
        try p.run()
        if let gate {
            try gate(p.processIdentifier)
            inp.fileHandleForWriting.write(Data("g".utf8))
        }
        try inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var values: [String: String] = [:]
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        for line in lines {
            for pair in line.split(separator: " ") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { values[String(kv[0])] = String(kv[1]) }
            }
        }
        return TriggerRun(pid: p.processIdentifier, values: values, status: p.terminationStatus, lines: lines)
    }
}

/// A running LiveSource and the events it delivered so far.
final class LiveSession {
    let source: LiveSource
    private(set) var pending: [Event] = []
    /// Every event delivered so far, in order.
    private(set) var delivered: [Event] = []

    /// Throws the ProbeError as is; callers pass it to LiveGate.check inside a test.
    init(_ options: LiveOptions) throws {
        source = try LiveSource(options: options)
    }

    /// Pulls events until `done` holds for one of them or `timeout` passes; returns everything
    /// pulled (including earlier leftovers) and keeps nothing.
    func collect(timeout: Double = 5, until done: (Event) -> Bool) -> [Event] {
        let deadline = Date().addingTimeInterval(timeout)
        var all = pending
        pending = []
        if all.contains(where: done) { return all }
        var batch: [Event] = []
        while Date() < deadline {
            batch.removeAll(keepingCapacity: true)
            // A ring or decoding error is a failure, not the end of the events.
            let more: Bool
            do { more = try source.next(into: &batch) } catch {
                XCTFail("the live source failed: \(error)")
                break
            }
            guard more else { break }
            all.append(contentsOf: batch)
            delivered.append(contentsOf: batch)
            if batch.contains(where: done) { break }
        }
        return all
    }

    /// Runs a trigger and returns the events of it and its children, up to its process_exit.
    func events(of scenario: String, _ args: [String] = [], timeout: Double = 8) throws -> (TriggerRun, [Event]) {
        let run = try Trigger.run(scenario, args)
        let all = collect(timeout: timeout) { $0.name == "process_exit" && $0.process.pid == run.pid && $0.process.tid == run.pid }
        let mine = all.filter { $0.process.pid == run.pid || $0.process.ppid == run.pid }
        return (run, mine)
    }

    func stop() {
        source.stop()
        var batch: [Event] = []
        while true {
            do { if try !source.next(into: &batch) { break } } catch {
                XCTFail("the live source failed while draining: \(error)")
                break
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}

/// Runs the bundled signatures over `events` (the pipeline `run` uses) and returns the findings.
func bundledFindings(_ events: [Event]) throws -> [Finding] {
    let sigs = try Signature.loadAll(SignatureLoader.bundledSources)
    let sink = CollectingSink()
    let engine = Engine(signatures: sigs, sinks: [sink], log: { _ in })
    try engine.process(events)
    try engine.finish()
    return sink.findings
}

extension Array where Element == Event {
    func named(_ name: String) -> [Event] { filter { $0.name == name } }
    func first(_ name: String, where pred: (Event) -> Bool = { _ in true }) -> Event? { first { $0.name == name && pred($0) } }
}

extension Value {
    /// Convenience for assertions: the integer, or nil.
    var i: Int64? { int64 }
    subscript(index: Int) -> Value? {
        guard case .array(let a) = self, index >= 0, index < a.count else { return nil }
        return a[index]
    }
}
