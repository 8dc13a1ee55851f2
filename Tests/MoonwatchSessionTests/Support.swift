import Foundation
import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// A scratch folder per test case, removed afterwards.
class SessionTestCase: XCTestCase {
    var tmp = ""
    var logged: [String] = []

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "mw-session-\(getpid())-\(name.filter { $0.isLetter || $0.isNumber })"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        logged = []
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = tmp + "/" + name
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// A configuration resolved the way the CLI does: file, environment, --set, options.
    func resolve(file: String? = "", environment: [String: String] = [:], sets: [String] = [],
                 options: [ConfigurationSource.Option] = []) throws -> Configuration {
        try ConfigurationSource(configFile: file, environment: environment, sets: sets, options: options).resolve()
    }

    /// Only the signatures in tmp/sigs (no bundled set).
    func userSignaturesOnly() -> Configuration {
        var c = Configuration()
        c.noBundled = true
        c.signatures = [tmp + "/sigs"]
        return c
    }

    func session(_ c: Configuration, source: ConfigurationSource? = nil) throws -> Session {
        try Session(configuration: c, source: source, log: { [unowned self] in self.logged.append($0) })
    }

    /// Runs `batches` through a session; `between` runs after each batch has been handed out
    /// (the next batch is processed after the session's between-batches work).
    func run(_ s: Session, _ batches: [[Event]], between: ((Int) -> Void)? = nil,
             follow: ((KernelInterest) -> Void)? = nil) throws -> (findings: [Finding], outcome: Session.Outcome) {
        let sink = CollectingSink()
        let source = BatchSource(batches, after: between)
        let o = try s.run(.events(source, follow: follow), sinks: [sink])
        return (sink.findings, o)
    }
}

/// Hands out fixed batches; `after(i)` runs once batch i was handed out.
final class BatchSource: EventSource {
    private var batches: [[Event]]
    private let after: ((Int) -> Void)?
    private var n = 0
    init(_ batches: [[Event]], after: ((Int) -> Void)? = nil) { self.batches = batches; self.after = after }

    func next(into batch: inout [Event]) throws -> Bool {
        guard !batches.isEmpty else { return false }
        batch.append(contentsOf: batches.removeFirst())
        after?(n)
        n += 1
        return !batches.isEmpty
    }

    var stats: SourceStats { SourceStats() }
}

/// A signature as text: on_event reports `message` (a Lua expression) for every event.
func signatureText(id: String, events: String = "\"sendmsg\"", severity: String = "medium", tags: String = "",
                   extra: String = "", message: String = "\"seen \" .. event.name", body: String = "") -> String {
    """
    return {
      id = "\(id)", version = "1.0.0", name = "test \(id)", description = "a test signature",
      severity = "\(severity)", tags = { \(tags) }, events = { \(events) },
      \(extra)
      on_event = function(event, state)
        \(body)
        report{ message = \(message) }
      end,
    }
    """
}

let testProcess = ProcessContext(pid: 100, tid: 101, ppid: 1, uid: 1000, gid: 1000, comm: "tester", exe: "/usr/bin/tester", bits: 64)

func event(_ name: String, time: UInt64 = 1, ret: Int64 = 0, process: ProcessContext = testProcess, args: [String: Value] = [:]) -> Event {
    var e = Event(kind: Catalogue.kind(named: name)!, time: time, ret: ret, process: process)
    for (k, v) in args { e[arg: k] = v }
    return e
}

/// The TOCTOU sendto of MW-2001's test cases: dest_addr rewritten between entry and exit.
func toctouSendto(time: UInt64, pid: Int32 = 5150) -> Event {
    let text = #"{"name":"sendto","time":\#(time),"ret":64,"process":{"pid":\#(pid),"tid":\#(pid),"ppid":1,"uid":1000,"gid":1000,"comm":"racer","exe":"/tmp/racer"},"args":{"sockfd":3,"buf":4096,"len":64,"flags":0,"dest_addr":{"family":"AF_INET","addr":"127.0.0.1","port":53},"addrlen":16},"exit_args":{"dest_addr":{"family":"AF_INET","addr":"127.0.0.1","port":4444}},"changed":["dest_addr"]}"#
    return try! EventJSON.decode(try! JSONParser.parse(text))
}

let second: UInt64 = 1_000_000_000
