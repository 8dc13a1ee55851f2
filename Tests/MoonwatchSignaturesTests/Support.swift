import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSignatures
import XCTest

/// A minimal signature around an on_event body.
func signatureSource(id: String = "T-1", events: String = "\"sendmsg\"", severity: String = "medium",
                     body: String, extra: String = "", prelude: String = "", path: String = "test.lua") -> SignatureSource {
    SignatureSource(path: path, text: """
        \(prelude)
        return {
          id = "\(id)", version = "1.0.0", name = "test \(id)", description = "a test signature",
          severity = "\(severity)", events = { \(events) },
          \(extra)
          on_event = function(event, state)
        \(body)
          end,
        }
        """)
}

func makeSignature(_ source: SignatureSource, limits: SandboxLimits = .default, file: StaticString = #filePath,
                   line: UInt = #line) throws -> Signature {
    do { return try Signature(source: source, limits: limits) } catch {
        XCTFail("signature did not load: \(error)", file: file, line: line)
        throw error
    }
}

let testProcess = ProcessContext(pid: 100, tid: 101, ppid: 1, uid: 1000, gid: 1000, comm: "tester", exe: "/usr/bin/tester", bits: 64)

func sendmsgEvent(fds: [Int64] = [], ret: Int64 = 1, time: UInt64 = 1) -> Event {
    var e = Event(kind: Catalogue.kind(named: "sendmsg")!, time: time, ret: ret, process: testProcess)
    let control: [Value] = fds.isEmpty ? [] : [.object([("level", "SOL_SOCKET"), ("type", "SCM_RIGHTS"), ("fds", .array(fds.map { .int($0) }))])]
    e[arg: "sockfd"] = 5
    e[arg: "msg"] = .object([("name", .null), ("iov", [1]), ("iovlen", 1), ("bytes", 1), ("controllen", .int(Int64(control.count * 24))),
                             ("control", .array(control)), ("flags", 0)])
    e[arg: "flags"] = 0
    return e
}

func event(_ name: String, ret: Int64 = 0, time: UInt64 = 1, args: [String: Value] = [:]) -> Event {
    var e = Event(kind: Catalogue.kind(named: name)!, time: time, ret: ret, process: testProcess)
    for (k, v) in args { e[arg: k] = v }
    return e
}

/// Runs events through an engine holding `signatures`; returns findings and log lines.
func runEvents(_ signatures: [Signature], _ events: [Event]) throws -> (findings: [Finding], log: [String]) {
    let sink = CollectingSink()
    var log: [String] = []
    let engine = Engine(signatures: signatures, sinks: [sink], log: { log.append($0) })
    try engine.process(events)
    try engine.finish(at: 0)
    return (sink.findings, log)
}
