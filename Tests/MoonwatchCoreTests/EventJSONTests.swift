@testable import MoonwatchCore
import XCTest

final class EventJSONTests: XCTestCase {
    func testRoundTripKeepsEverything() throws {
        var e = Event(kind: Catalogue.kind(named: "sendto")!, time: 123, ret: 64,
                      process: ProcessContext(pid: 1, tid: 2, ppid: 3, uid: 4, gid: 5, comm: "c", exe: "/e", container: "abc",
                                              cgroup: 6, mntns: 7, pidns: 8, compat: true))
        e[arg: "sockfd"] = 3
        e[arg: "dest_addr"] = .object([("family", "AF_INET6"), ("addr", "::1"), ("port", 53)])
        e.exitArgs[e.spec.argIndex("dest_addr")!] = .object([("family", "AF_INET6"), ("addr", "::1"), ("port", 54)])
        e.computeChanged()
        let text = EventJSON.text(e)
        XCTAssertTrue(text.contains(#""changed":["dest_addr"]"#), text)
        let back = try EventJSON.decode(try JSONParser.parse(text))
        XCTAssertEqual(back, e)
    }

    func testMissingOptionalFieldsDefault() throws {
        let e = try EventJSON.decode(try JSONParser.parse(#"{"name":"close","args":{"fd":3}}"#))
        XCTAssertEqual(e.name, "close")
        XCTAssertEqual(e[arg: "fd"], 3)
        XCTAssertEqual(e.process, ProcessContext())
    }

    func testChangedIsComputedWhenOnlyExitArgsAreGiven() throws {
        let e = try EventJSON.decode(try JSONParser.parse(
            #"{"name":"openat","args":{"pathname":"/a"},"exit_args":{"pathname":"/b"}}"#))
        XCTAssertEqual(e.changedNames, ["pathname"])
    }

    func testKernelWrittenMessageFlagsAreNotAChange() throws {
        let e = try EventJSON.decode(try JSONParser.parse(
            #"{"name":"sendmsg","args":{"msg":{"iov":[1],"flags":0}},"exit_args":{"msg":{"iov":[1],"flags":64}}}"#))
        XCTAssertEqual(e.changed, 0)
    }

    func testErrors() {
        let cases: [(String, String)] = [
            (#"{"name":"sendmsgg"}"#, "unknown event \"sendmsgg\" (did you mean sendmsg, sendmmsg?)"),
            (#"{"args":{}}"#, "missing \"name\""),
            (#"{"name":"close","args":{"fdd":3}}"#, "close has no argument \"fdd\" (arguments: fd)"),
            (#"{"name":"close","args":{"fd":"three"}}"#, "close.fd: expected an integer, got \"three\""),
            (#"{"name":"close","exit_args":{"fd":3}}"#, "close.fd is not TOCTOU-tagged, so it has no exit re-read"),
            (#"{"name":"close","time":-1}"#, "\"time\" must be a non-negative integer (ns)"),
            (#"{"name":"close","process":{"pid":"x"}}"#, "process.pid must be an integer in range"),
            (#"{"name":"connect","changed":["nope"]}"#, "\"changed\" names an argument connect does not have: \"nope\""),
            (#"{"name":"sendmsg","args":{"msg":[1]}}"#, "sendmsg.msg: expected an object (msghdr)"),
            (#"[1]"#, "an event must be a JSON object"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try EventJSON.decode(try JSONParser.parse(text)), text) { error in
                XCTAssertEqual((error as? EventJSON.DecodeError)?.reason, reason, text)
            }
        }
    }

    /// The direct decoder must agree with the general one on everything it accepts.
    func testFastDecoderAgreesWithTheGeneralOne() throws {
        let root = "\(#filePath)".components(separatedBy: "/Tests/")[0]
        let demo = try FileSystem.readText(root + "/examples/demo.jsonl")
        var lines = demo.split(separator: "\n").map(String.init)
        lines += [
            #"{"name":"close","args":{"fd":3}}"#,
            #"{"name":"openat","args":{"pathname":"/a"},"exit_args":{"pathname":"/b"}}"#,
            #"{"name":"connect","ret":-115,"process":{"pid":1,"comm":"x","compat":true,"bits":64},"args":{"addr":null}}"#,
        ]
        for line in lines {
            var copy = line
            let fast = copy.withUTF8 { EventJSON.decodeFast(UnsafeRawBufferPointer($0)) }
            XCTAssertEqual(fast, try EventJSON.decode(try JSONParser.parse(line)), line)
        }
        // Shapes it leaves to the general decoder: another key order, escapes, unknown keys, errors.
        for line in [#"{"args":{"fd":3},"name":"close"}"#, #"{"name":"clo\u0073e"}"#, #"{"name":"close","v":1}"#,
                     #"{"name":"close","args":{"fd":"x"}}"#, #"{"name":"close","exit_args":{"fd":3}}"#, #"{"name":"nope"}"#] {
            var copy = line
            XCTAssertNil(copy.withUTF8 { EventJSON.decodeFast(UnsafeRawBufferPointer($0)) }, line)
        }
    }
}
