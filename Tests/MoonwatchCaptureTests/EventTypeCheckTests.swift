import MoonwatchCapture
import MoonwatchCore
import XCTest

/// Lines are checked against the catalogue's types, nested values too; what fails is a skipped
/// line with its reason, never a value handed to signatures (9.6).
final class EventTypeCheckTests: XCTestCase {
    private var path = ""

    override func setUp() { path = "/tmp/mw-typecheck-\(getpid())-\(name.filter { $0.isLetter }).jsonl" }
    override func tearDown() { unlink(path) }

    private func read(_ lines: [String], maxEventBytes: Int = CaptureReader.defaultMaxEventBytes) throws -> ([Event], SourceStats, [String]) {
        try FileSystem.write(path, Array((lines.joined(separator: "\n") + "\n").utf8))
        var log: [String] = []
        let r = CaptureReader(paths: [path], maxEventBytes: maxEventBytes, log: { log.append($0) })
        var all: [Event] = [], batch: [Event] = []
        for _ in 0..<1000 {
            batch.removeAll()
            let more = try r.next(into: &batch)
            all += batch
            if !more { break }
        }
        return (all, r.stats, log)
    }

    /// Each line must be refused with a message containing its text.
    private func assertRefused(_ cases: [(line: String, reason: String)], file: StaticString = #filePath, line: UInt = #line) throws {
        let close = #"{"name":"close","args":{"fd":3}}"#
        let (events, stats, log) = try read(cases.map(\.line) + [close])
        XCTAssertEqual(events.count, 1, "only the valid last line may pass: \(events.map { EventJSON.text($0) })", file: file, line: line)
        XCTAssertEqual(stats.skippedTotal, UInt64(cases.count), file: file, line: line)
        for (i, c) in cases.enumerated() {
            let message = log.first { $0.contains(":\(i + 1): ") } ?? "nothing logged"
            XCTAssertTrue(message.contains(c.reason), "line \(i + 1): \(message)", file: file, line: line)
        }
    }

    func testNestedValuesOfTheWrongTypeAreRefused() throws {
        try assertRefused([
            (#"{"name":"sendmsg","args":{"msg":{"control":[{"level":"SOL_SOCKET","type":"SCM_RIGHTS","fds":["7"]}]}}}"#,
             #"sendmsg.msg: control: [1]: fds: [1]: expected an integer, got "7""#),
            (#"{"name":"sendmsg","args":{"msg":{"control":"SCM_RIGHTS"}}}"#, "sendmsg.msg: control: expected a list"),
            (#"{"name":"sendmsg","args":{"msg":{"name":{"family":"AF_INET","port":"80"}}}}"#, #"name: port: expected an integer, got "80""#),
            (#"{"name":"connect","args":{"addr":{"family":["AF_INET"]}}}"#, "connect.addr: family: expected a name or an integer"),
            (#"{"name":"connect","args":{"addr":{"family":"AF_UNIX","path":7}}}"#, "connect.addr: path: expected a string"),
            (#"{"name":"connect","args":{"addr":{"family":"AF_UNIX","abstract":"yes"}}}"#, "abstract: expected true or false"),
            (#"{"name":"execve","args":{"argv":["sh",1]}}"#, "execve.argv: [2]: expected a string"),
            (#"{"name":"close","args":{"fd":true}}"#, "close.fd: expected an integer, got true"),
            (#"{"name":"close","args":{"fd":1.5}}"#, "close.fd: expected an integer, got 1.5"),
            (#"{"name":"close","args":{"fd":3e0}}"#, "close.fd: expected an integer"),
            (#"{"name":"recvmmsg","args":{"msgvec":[{"msg":{"iov":"x"},"len":1}]}}"#, "recvmmsg.msgvec: [1]: msg: iov: expected a list"),
            (#"{"name":"recvmmsg","args":{"timeout":{"sec":"1","nsec":0}}}"#, "recvmmsg.timeout: sec: expected an integer"),
            (#"{"name":"socketpair","args":{"sv":[3,4,5]}}"#, "socketpair.sv: expected at most two descriptors"),
            (#"{"name":"sendmsg","args":{"msg":{"control":[{"level":1,"type":2,"cred":{"pid":"1"}}]}}}"#, "cred: pid: expected an integer"),
            (#"{"name":"close","ret":false}"#, "\"ret\" must be an integer"),
            (#"{"name":"close","process":{"pid":true}}"#, "process.pid must be an integer in range"),
        ])
    }

    func testTimesBeyondLuasIntegersAreRefusedAlike() throws {
        let top = Int64.max
        try assertRefused([
            (#"{"name":"close","time":9223372036854775808}"#, "\"time\" is beyond Lua's integer range"),
            (#"{"name":"close","time":18446744073709551615,"ret":0,"process":{"pid":1},"args":{}}"#, "\"time\" is beyond Lua's integer range"),
            (#"{"name":"close","process":{"cgroup":9223372036854775808}}"#, "process.cgroup is beyond Lua's integer range"),
            (#"{"eventName":"close","timestamp":9223372036854775808,"args":[]}"#, "\"timestamp\" is beyond Lua's integer range"),
            (#"{"eventName":"close","timestamp":-5,"args":[]}"#, "\"timestamp\" must be a non-negative integer"),
        ])
        let (events, _, _) = try read([#"{"name":"close","time":\#(top)}"#, #"{"eventName":"close","timestamp":\#(top),"args":[]}"#])
        XCTAssertEqual(events.map(\.time), [UInt64(top), UInt64(top)])
    }

    func testDuplicateKeysAreRefusedOnEveryPath() throws {
        try assertRefused([
            (#"{"name":"close","name":"sendmsg","args":{"fd":3}}"#, "duplicate key \"name\""),
            (#"{"name":"close","time":1,"time":2}"#, "duplicate key \"time\""),
            (#"{"name":"close","args":{"fd":3},"args":{"fd":4}}"#, "duplicate key \"args\""),
            (#"{"name":"close","args":{"fd":3,"fd":4}}"#, "duplicate key \"fd\""),
            (#"{"name":"close","process":{"pid":1,"uid":0,"pid":2}}"#, "duplicate key \"pid\""),
            (#"{"name":"connect","args":{"addr":{"family":"AF_INET","port":1,"port":2}}}"#, "duplicate key \"port\""),
            (#"{"eventName":"close","args":[{"name":"fd","value":3},{"name":"fd","value":4}]}"#, "close.fd is given twice"),
        ])
    }

    func testAnEventTooLargeForASignatureIsRefusedByTheDecoder() throws {
        let argv = (0..<20000).map { "\"a\($0)\"" }.joined(separator: ",")
        let (events, stats, log) = try read([#"{"name":"execve","args":{"argv":[\#(argv)]}}"#, #"{"name":"close","args":{"fd":3}}"#],
                                            maxEventBytes: 256 << 10)
        XCTAssertEqual(events.map(\.name), ["close"])
        XCTAssertEqual(stats.skipped["event too large"], 1)
        XCTAssertTrue(log.first?.contains("over the limit of 262144") ?? false, "\(log)")
    }

    func testTraceeNamesBecomeTheCataloguesNumbers() throws {
        let (events, stats, log) = try read([
            #"{"eventName":"socket","returnValue":3,"args":[{"name":"domain","type":"int","value":"AF_PACKET"},{"name":"type","type":"int","value":"SOCK_RAW|SOCK_CLOEXEC"},{"name":"protocol","type":"int","value":768}]}"#,
            #"{"eventName":"execveat","args":[{"name":"dirfd","type":"int","value":"AT_FDCWD"},{"name":"pathname","type":"const char*","value":""},{"name":"flags","type":"int","value":"AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW"}]}"#,
            #"{"eventName":"sendmsg","args":[{"name":"sockfd","type":"int","value":5},{"name":"msg","type":"struct msghdr*","value":"0x7ffd1234"},{"name":"flags","type":"int","value":"MSG_DONTWAIT|MSG_NOSIGNAL"}]}"#,
            #"{"eventName":"ptrace","args":[{"name":"request","type":"long","value":"PTRACE_POKETEXT"}]}"#,
        ])
        XCTAssertEqual(stats.skippedTotal, 0, "\(log)")
        XCTAssertEqual(events.count, 4)
        XCTAssertEqual(events[0][arg: "domain"], 17)
        XCTAssertEqual(events[0][arg: "type"], 524291)   // SOCK_RAW | SOCK_CLOEXEC
        XCTAssertEqual(events[1][arg: "dirfd"], -100)
        XCTAssertEqual(events[1][arg: "flags"], 0x1100)
        XCTAssertNil(events[2][arg: "msg"], "Tracee gives only the address of the msghdr: left out, not an integer")
        XCTAssertEqual(events[2][arg: "flags"], 16448)   // MSG_DONTWAIT | MSG_NOSIGNAL
        XCTAssertEqual(events[3][arg: "request"], 4)
    }

    func testTraceeLinesOfTheWrongTypeAreRefused() throws {
        try assertRefused([
            (#"{"eventName":"socket","args":[{"name":"domain","type":"int","value":"AF_BOGUS"}]}"#, #"socket.domain: unknown name "AF_BOGUS""#),
            (#"{"eventName":"socket","args":[{"name":"type","type":"int","value":"SOCK_RAW|NOPE"}]}"#, #"unknown name "NOPE""#),
            (#"{"eventName":"close","args":[{"name":"fd","type":"int","value":"three"}]}"#, #"close.fd: "three" is not a number"#),
            (#"{"eventName":"close","args":[{"name":"fd","type":"int","value":[3]}]}"#, "close.fd: expected an integer"),
            (#"{"eventName":"connect","args":[{"name":"addr","type":"SockAddr","value":"10.0.0.1"}]}"#, "connect.addr: expected an object"),
            (#"{"eventName":"execve","args":[{"name":"argv","type":"[]string","value":"sh -c x"}]}"#, "execve.argv: expected a list of strings"),
            (#"{"eventName":"close","hostProcessId":"abc","args":[]}"#, "\"hostProcessId\" must be an integer"),
            (#"{"eventName":"close","hostProcessId":4294967296,"args":[]}"#, "\"hostProcessId\" must be an integer"),
            (#"{"eventName":"close","processName":5,"args":[]}"#, "\"processName\" must be a string"),
            (#"{"eventName":"close","contextFlags":{"isCompat":"no"},"args":[]}"#, "isCompat must be true or false"),
            (#"{"eventName":"close","args":{"fd":3}}"#, "\"args\" must be a list"),
            (#"{"eventName":"close","args":[3]}"#, "must be an object {name, type, value}"),
        ])
    }
}
