import MoonwatchCore
@testable import MoonwatchProbes
import XCTest

/// The points a review of the event pages found against the man pages and net/socket.c,
/// net/compat.c, pinned so that they cannot come back. (Checked on Linux 6.18: sendmmsg and
/// recvmmsg with vlen 0 return 0, an empty datagram makes recvmsg return 0, a client's recvfrom on
/// an AF_UNIX stream socket gets the server's bound path.)
final class EventDocsReviewTests: XCTestCase {
    func spec(_ name: String) throws -> EventSpec { try XCTUnwrap(Catalogue.spec(named: name), name) }
    func arg(_ event: String, _ name: String) throws -> ArgSpec {
        let s = try spec(event)
        return s.args[try XCTUnwrap(s.argIndex(name), "\(event).\(name)")]
    }
    /// Everything a page says, in one string.
    func allText(_ name: String) throws -> String { EventDocs.text(try spec(name)) }

    /// Only sendmmsg caps vlen (UIO_MAXIOV); do_recvmmsg takes any vlen.
    func testOnlySendmmsgCapsVlen() throws {
        XCTAssertTrue(try arg("sendmmsg", "vlen").description.contains("1024"))
        for (e, a) in [("recvmmsg", "vlen"), ("recvmmsg_time32", "vlen")] {
            let d = try arg(e, a).description
            XCTAssertFalse(d.contains("1024") || d.contains("caps it"), "\(e).\(a): \(d)")
            XCTAssertTrue(d.contains("not capped"), "\(e).\(a): \(d)")
        }
    }

    /// MSG_WAITFORONE turns on MSG_DONTWAIT once the first message has arrived; it does not return.
    func testWaitForOne() throws {
        for e in ["recvmmsg", "recvmmsg_time32"] {
            let s = try spec(e)
            XCTAssertFalse(try allText(e).contains("returns after the first message"), e)
            let note = try XCTUnwrap(s.notes.first { $0.contains("MSG_WAITFORONE") }, "\(e) explains MSG_WAITFORONE")
            XCTAssertTrue(note.contains("MSG_DONTWAIT") && note.contains("already queued"), note)
        }
    }

    /// MSG_CMSG_CLOEXEC is for recvmsg (and recvmmsg): recvfrom has no control messages.
    func testCmsgCloexecOnlyWhereThereAreControlMessages() throws {
        XCTAssertFalse(try arg("recvfrom", "flags").description.contains("MSG_CMSG_CLOEXEC"))
        XCTAssertTrue(try arg("recvmsg", "flags").description.contains("MSG_CMSG_CLOEXEC"))
    }

    /// AF_UNIX stream sockets report the sender's bound address; only protocols like TCP report none.
    func testUnixStreamSocketsReportASource() throws {
        let notes = try spec("recvfrom").notes.joined(separator: " ")
        XCTAssertFalse(notes.contains("connected stream sockets the kernel reports no source"))
        XCTAssertTrue(notes.contains("AF_UNIX sockets, stream ones included"), notes)
    }

    /// recvmmsg_time32 is also socketcall's SYS_RECVMMSG, with the compat mmsghdr.
    func testRecvmmsgTime32DoorsAndLayout() throws {
        XCTAssertEqual(SocketCall.events[19], "recvmmsg_time32", "the probes map socketcall 19 here")
        let s = try spec("recvmmsg_time32")
        XCTAssertEqual(try arg("recvmmsg_time32", "mmsg").cType, "struct compat_mmsghdr *")
        XCTAssertTrue(s.notes.contains { $0.contains("SYS_RECVMMSG (19)") && $0.contains("compat layout") }, "\(s.notes)")
    }

    /// Every event socketcall leads to says that its K arguments came from user memory there.
    func testSocketcallArgumentsAreFlaggedAsUserMemory() throws {
        let names = Set(SocketCall.events.values)
        XCTAssertEqual(names.count, 13)
        for name in names {
            let s = try spec(name)
            XCTAssertTrue(s.notes.contains { $0.contains("socketcall (ia32 102)") && $0.contains("are then user memory too") },
                          "\(name) does not say its socketcall arguments are user memory")
        }
        let k = try XCTUnwrap(EventDocs.tagLegend.first { $0.key == "K" })
        XCTAssertTrue(k.meaning.contains("socketcall"), k.meaning)
        // Events no socketcall operation reaches do not carry the note.
        for e in Catalogue.events where e.isSyscall && !names.contains(e.name) {
            XCTAssertFalse(e.notes.contains { $0.contains("are then user memory too") }, e.name)
        }
    }

    /// The receive calls' headers are read once, at exit: tagged AFTER and said so.
    func testReceiveHeadersAreLate() throws {
        for (e, a) in [("recvmsg", "msg"), ("recvmmsg", "msgvec"), ("recvmmsg_time32", "mmsg")] {
            XCTAssertTrue(try arg(e, a).tags.contains(.AFTER), "\(e).\(a)")
            XCTAssertTrue(try spec(e).notes.contains { $0.hasPrefix("\(a) is read once, at exit (tag AFTER)") }, e)
            XCTAssertTrue(EventDocs.markdown(try spec(e)).contains("| AFTER | "), "\(e) page explains AFTER")
        }
        XCTAssertTrue(EventDocs.indexMarkdown().contains("| AFTER | "))
    }

    func testEmptyBatchesAndEmptyDatagrams() throws {
        XCTAssertTrue(try spec("sendmmsg").returns.contains("0 when vlen is 0"))
        XCTAssertTrue(try spec("recvmmsg").returns.contains("0 when vlen is 0"))
        XCTAssertTrue(try spec("recvmsg").returns.contains("empty datagram"))
    }
}
