import Foundation
import MoonwatchCapture
import MoonwatchCore
import XCTest

/// Tracee lines the interop sample does not cover: IPv6 and unknown address families, and the
/// process identity when the host-side ids are missing.
final class TraceeInputTests: XCTestCase {
    func events(_ lines: [String]) throws -> [Event] {
        let path = NSTemporaryDirectory() + "mw-tracee-\(getpid())-\(name.filter { $0.isLetter }).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let reader = CaptureReader(paths: [path], log: { _ in })
        var out: [Event] = []
        for _ in 0..<100 {
            var b: [Event] = []
            let more = try reader.next(into: &b)
            out += b
            if !more { break }
        }
        XCTAssertEqual(reader.stats.skippedTotal, 0, "\(reader.stats.skipped)")
        return out
    }

    func testIPv6AndUnknownFamiliesKeepWhatTheyCanSay() throws {
        let e = try events([
            #"{"timestamp":1,"eventName":"connect","args":[{"name":"addr","type":"struct sockaddr*","value":{"sa_family":"AF_INET6","sin6_addr":"2001:db8::1","sin6_port":"9001","sin6_flowinfo":"0","sin6_scopeid":"0"}}]}"#,
            #"{"timestamp":2,"eventName":"bind","args":[{"name":"addr","type":"struct sockaddr*","value":{"sa_family":"AF_NETLINK"}}]}"#,
            #"{"timestamp":3,"eventName":"connect","args":[{"name":"addr","type":"struct sockaddr*","value":{"sa_family":"AF_UNIX","sun_path":"/run/x.sock"}}]}"#,
        ])
        XCTAssertEqual(e.count, 3)
        XCTAssertEqual(e[0][arg: "addr"], .object([("family", "AF_INET6"), ("addr", "2001:db8::1"), ("port", 9001)]))
        XCTAssertEqual(e[1][arg: "addr"], .object([("family", 16)]), "a family without an address shape: its number, as the probes give it")
        XCTAssertEqual(e[2][arg: "addr"], .object([("family", "AF_UNIX"), ("path", "/run/x.sock")]))
    }

    func testHostIdsWinAndNamespaceIdsAreTheFallback() throws {
        let e = try events([
            // Inside a container Tracee reports both: the host's ids are the ones that are unique.
            #"{"timestamp":1,"eventName":"close","processId":7,"threadId":8,"parentProcessId":1,"hostProcessId":4007,"hostThreadId":4008,"hostParentProcessId":4001,"containerId":"abc","args":[]}"#,
            // Older or trimmed output without host ids: the namespace ids are all there is.
            #"{"timestamp":2,"eventName":"close","processId":70,"threadId":71,"parentProcessId":69,"container":{"id":"def"},"args":[]}"#,
            // No ids at all: zero, not a crash or a skipped line.
            #"{"timestamp":3,"eventName":"close","args":[]}"#,
        ])
        XCTAssertEqual(e.map(\.process.pid), [4007, 70, 0])
        XCTAssertEqual(e.map(\.process.tid), [4008, 71, 0])
        XCTAssertEqual(e.map(\.process.ppid), [4001, 69, 0])
        XCTAssertEqual(e.map(\.process.container), ["abc", "def", ""])
    }
}
