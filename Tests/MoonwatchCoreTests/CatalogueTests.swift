import XCTest
@testable import MoonwatchCore

final class CatalogueTests: XCTestCase {
    /// Argument names, in order, as the Linux man pages (and, for recvmmsg_time32, the kernel) write them.
    static let expectedArgs: [String: [String]] = [
        "sendmsg": ["sockfd", "msg", "flags", "socket"],
        "recvmsg": ["sockfd", "msg", "flags", "socket"],
        "sendto": ["sockfd", "buf", "len", "flags", "dest_addr", "addrlen"],
        "recvfrom": ["sockfd", "buf", "len", "flags", "src_addr", "addrlen"],
        "sendmmsg": ["sockfd", "msgvec", "vlen", "flags", "socket"],
        "recvmmsg": ["sockfd", "msgvec", "vlen", "flags", "timeout", "socket"],
        "recvmmsg_time32": ["fd", "mmsg", "vlen", "flags", "timeout", "socket"],
        "socket": ["domain", "type", "protocol"],
        "socketpair": ["domain", "type", "protocol", "sv"],
        "connect": ["sockfd", "addr", "addrlen"],
        "accept": ["sockfd", "addr", "addrlen"],
        "accept4": ["sockfd", "addr", "addrlen", "flags"],
        "bind": ["sockfd", "addr", "addrlen"],
        "listen": ["sockfd", "backlog"],
        "close": ["fd"],
        "dup": ["oldfd"],
        "dup2": ["oldfd", "newfd"],
        "dup3": ["oldfd", "newfd", "flags"],
        "openat": ["dirfd", "pathname", "flags", "mode"],
        "open": ["pathname", "flags", "mode"],
        "creat": ["pathname", "mode"],
        "openat2": ["dirfd", "pathname", "how", "size"],
        "fcntl": ["fd", "cmd", "arg"],
        "pidfd_getfd": ["pidfd", "targetfd", "flags"],
        "process_vm_readv": ["pid", "local_iov", "liovcnt", "remote_iov", "riovcnt", "flags"],
        "process_vm_writev": ["pid", "local_iov", "liovcnt", "remote_iov", "riovcnt", "flags"],
        "memfd_create": ["name", "flags"],
        "userfaultfd": ["flags"],
        "execve": ["pathname", "argv", "envp", "program", "stdio"],
        "execveat": ["dirfd", "pathname", "argv", "envp", "flags", "program", "stdio"],
        "ptrace": ["request", "pid", "addr", "data"],
        "process_fork": ["child_pid", "child_tid"],
        "process_exit": ["exit_code", "signal"],
        "init_module": ["module_image", "len", "param_values"],
        "finit_module": ["fd", "param_values", "flags"],
    ]

    func testCatalogueHasExactlyTheExpectedEvents() {
        XCTAssertEqual(Set(Catalogue.events.map(\.name)), Set(Self.expectedArgs.keys))
        XCTAssertEqual(Catalogue.count, Self.expectedArgs.count)
    }

    func testNamesAreUnique() {
        var seen = Set<String>()
        for e in Catalogue.events {
            XCTAssertTrue(seen.insert(e.name).inserted, "duplicate event \(e.name)")
            XCTAssertEqual(Catalogue.kind(named: e.name)?.name, e.name)
        }
    }

    func testSyscallNumbersAreUniquePerABI() {
        var x64: [Int: String] = [:], ia32: [Int: String] = [:]
        for e in Catalogue.events {
            if let n = e.x86_64Number {
                XCTAssertNil(x64[n], "x86_64 \(n) used by \(x64[n] ?? "") and \(e.name)")
                x64[n] = e.name
            }
            if let n = e.ia32Number {
                XCTAssertNil(ia32[n], "ia32 \(n) used by \(ia32[n] ?? "") and \(e.name)")
                ia32[n] = e.name
            }
        }
    }

    func testSyscallNumberLookups() {
        XCTAssertEqual(Catalogue.kind(x86_64: 47)?.name, "recvmsg")
        XCTAssertEqual(Catalogue.kind(ia32: 337)?.name, "recvmmsg_time32")
        XCTAssertEqual(Catalogue.kind(ia32: 417)?.name, "recvmmsg")
        XCTAssertNil(Catalogue.kind(ia32: 102), "socketcall is not an event of its own")
        XCTAssertEqual(Catalogue.kind(x86_64: 299)?.name, "recvmmsg")
        XCTAssertEqual(Catalogue.kind(x86_64: 46)?.name, "sendmsg")
        XCTAssertEqual(Catalogue.kind(ia32: 370)?.name, "sendmsg")
        XCTAssertEqual(Catalogue.kind(ia32: 345)?.name, "sendmmsg")
        XCTAssertEqual(Catalogue.kind(ia32: 369)?.name, "sendto")
        XCTAssertEqual(Catalogue.kind(ia32: 371)?.name, "recvfrom")
        XCTAssertEqual(Catalogue.kind(ia32: 372)?.name, "recvmsg")
        XCTAssertEqual(Catalogue.kind(ia32: 11)?.name, "execve")
        XCTAssertNil(Catalogue.spec(named: "accept")?.ia32Number, "i386 has no accept syscall")
        XCTAssertNil(Catalogue.spec(named: "recvmmsg_time32")?.x86_64Number)
    }

    func testTracepointEventsHaveNoSyscallNumbers() {
        for name in ["process_fork", "process_exit"] {
            let spec = Catalogue.spec(named: name)
            XCTAssertNotNil(spec)
            XCTAssertEqual(spec?.isSyscall, false)
            XCTAssertNil(spec?.x86_64Number)
            XCTAssertNil(spec?.ia32Number)
        }
        XCTAssertEqual(Catalogue.spec(named: "process_fork")?.source, .tracepoint("sched_process_fork"))
        XCTAssertEqual(Catalogue.spec(named: "process_exit")?.source, .tracepoint("sched_process_exit"))
    }

    func testRelatedEventsExistInTheCatalogue() {
        for e in Catalogue.events {
            XCTAssertFalse(e.related.isEmpty, "\(e.name) has no related events")
            XCTAssertEqual(Set(e.related).count, e.related.count, "\(e.name) lists a related event twice")
            for r in e.related {
                XCTAssertNotNil(Catalogue.spec(named: r), "\(e.name) relates to \(r), which is not in the catalogue")
                XCTAssertNotEqual(r, e.name, "\(e.name) relates to itself")
            }
        }
    }

    func testArgumentNamesFollowTheManPages() {
        for e in Catalogue.events {
            XCTAssertEqual(e.args.map(\.name), Self.expectedArgs[e.name], "arguments of \(e.name)")
        }
    }

    func testTagRules() {
        for e in Catalogue.events {
            XCTAssertLessThanOrEqual(e.args.count, 64, "changed is a 64-bit mask")
            for a in e.args {
                let what = "\(e.name).\(a.name)"
                XCTAssertFalse(a.tags.contains(.K) && a.tags.contains(.U), "\(what) is tagged both K and U")
                XCTAssertTrue(a.tags.contains(.K) || a.tags.contains(.U), "\(what) is neither K nor U")
                if a.tags.contains(.TOCTOU) {
                    XCTAssertEqual(a.read, .both, "\(what) is TOCTOU but not read at both entry and exit")
                    XCTAssertTrue(a.tags.contains(.U), "\(what) is TOCTOU but not a user pointer")
                }
                if a.read == .both {
                    XCTAssertTrue(a.tags.contains(.TOCTOU), "\(what) is read twice but not tagged TOCTOU")
                }
                if a.tags.contains(.K) && !a.type.isCollected {
                    XCTAssertEqual(a.read, .entry, "\(what) is a register value but not read at entry")
                }
                if a.type.isCollected, let first = e.args.firstIndex(where: { $0.type.isCollected }) {
                    XCTAssertTrue(e.args[first...].allSatisfy { $0.type.isCollected }, "\(what): collected facts come after the registers")
                }
                XCTAssertFalse(a.cType.isEmpty, "\(what) has no C type")
                XCTAssertFalse(a.description.isEmpty, "\(what) has no description")
            }
        }
    }

    func testSpecificArgumentTags() {
        func arg(_ event: String, _ name: String) -> ArgSpec? {
            Catalogue.spec(named: event).flatMap { s in s.argIndex(name).map { s.args[$0] } }
        }
        XCTAssertEqual(arg("sendmsg", "msg")?.tags, [.U, .TOCTOU])
        XCTAssertEqual(arg("recvmsg", "msg")?.tags, [.U, .AFTER])
        XCTAssertEqual(arg("recvmsg", "msg")?.read, .exit)
        XCTAssertEqual(arg("sendto", "dest_addr")?.tags, [.U, .TOCTOU, .OPT])
        XCTAssertEqual(arg("recvfrom", "addrlen")?.type, .intRef)
        XCTAssertEqual(arg("recvmmsg_time32", "timeout")?.type, .timespec32)
        XCTAssertEqual(arg("recvmmsg_time32", "timeout")?.cType, "struct old_timespec32 *")
        XCTAssertEqual(arg("recvmmsg", "timeout")?.type, .timespec)
        XCTAssertEqual(arg("socketpair", "sv")?.type, .fdPair)
        XCTAssertEqual(arg("execve", "envp")?.tags, [.U, .OPT])
        XCTAssertEqual(arg("execve", "envp")?.read, .entry)
        XCTAssertEqual(arg("ptrace", "request")?.type, .long)
        XCTAssertEqual(Catalogue.spec(named: "sendmsg")?.toctouArgs, [1])
    }

    func testCategories() {
        let expected: [String: EventCategory] = [
            "close": .file, "dup": .file, "dup2": .file, "dup3": .file, "openat": .file,
            "memfd_create": .memory, "userfaultfd": .memory, "execve": .process, "execveat": .process,
            "process_fork": .process, "process_exit": .process, "ptrace": .debugging,
            "init_module": .module, "finit_module": .module,
            "open": .file, "creat": .file, "openat2": .file, "fcntl": .file, "pidfd_getfd": .ipc,
            "process_vm_readv": .debugging, "process_vm_writev": .debugging,
        ]
        for e in Catalogue.events {
            XCTAssertEqual(e.category, expected[e.name] ?? .network, "category of \(e.name)")
        }
    }

    func testEveryEventIsDocumented() {
        for e in Catalogue.events {
            XCTAssertFalse(e.summary.isEmpty, e.name)
            XCTAssertFalse(e.summary.contains("\n"), "\(e.name) summary is not one line")
            XCTAssertFalse(e.description.isEmpty, e.name)
            XCTAssertFalse(e.returns.isEmpty, e.name)
            XCTAssertFalse(e.useCase.isEmpty, e.name)
            XCTAssertFalse(e.notes.isEmpty, e.name)
        }
    }

    /// Mistakes from the machine-written seed documents must not come back.
    func testNoSeedMistakes() throws {
        let recvWord = try Regex("\\brecv\\b")
        for e in Catalogue.events {
            var texts = [e.summary, e.description, e.returns, e.useCase] + e.notes + e.args.map(\.description)
            texts.append(EventDocs.markdown(e))
            texts.append(EventDocs.text(e))
            for t in texts {
                let lower = t.lowercased()
                XCTAssertFalse(lower.contains("kprobe"), "\(e.name): mentions kprobes")
                XCTAssertNil(lower.firstMatch(of: recvWord), "\(e.name): names a recv syscall")
                XCTAssertFalse(lower.contains("microsecond"), "\(e.name): timespecs hold nanoseconds")
                XCTAssertFalse(lower.contains("hooks"), "\(e.name): seed-style hook list")
                XCTAssertFalse(lower.contains("openai"), e.name)
            }
            let notOurs: Set = ["select", "poll", "epoll_wait", "recv", "send"]
            for r in e.related { XCTAssertFalse(notOurs.contains(r), "\(e.name) relates to \(r)") }
        }
        let t32 = try XCTUnwrap(Catalogue.spec(named: "recvmmsg_time32"))
        XCTAssertTrue(t32.description.contains("nanoseconds"))
        XCTAssertTrue(t32.notes.joined().contains("2038"))
        XCTAssertTrue(t32.notes.joined().contains("TS_COMPAT"))
    }

    // MARK: - Renderers

    func testRecvmsgMarkdownHasEveryArgumentRowWithTags() throws {
        let spec = try XCTUnwrap(Catalogue.spec(named: "recvmsg"))
        let md = EventDocs.markdown(spec)
        XCTAssertTrue(md.contains("| `sockfd` | `int` | integer | K | entry |"), md)
        XCTAssertTrue(md.contains("| `msg` | `struct msghdr *` | msghdr | U,AFTER | exit |"), md)
        XCTAssertTrue(md.contains("| `flags` | `int` | integer | K | entry |"), md)
        for arg in spec.args { XCTAssertTrue(md.contains(EventDocs.markdownRow(arg))) }
        XCTAssertTrue(md.contains("[sendmsg](sendmsg.md)"))
        XCTAssertTrue(md.contains("| x86_64 | 47 |"))
        XCTAssertTrue(md.contains("| ia32 | 372 |"))
        for tag in ["K", "U", "TOCTOU", "OPT"] { XCTAssertTrue(md.contains("| \(tag) | "), "legend for \(tag)") }
    }

    func testMarkdownSectionsAndBanner() throws {
        for e in Catalogue.events {
            let md = EventDocs.markdown(e)
            let first = md.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
            XCTAssertEqual(first, EventDocs.banner(for: e.name))
            XCTAssertTrue(md.contains("moonwatch events describe \(e.name) --format markdown"))
            XCTAssertTrue(md.lowercased().contains("do not edit by hand"))
            for section in ["# \(e.name)\n", "## Description", "## Arguments", "## Return value", "## Use case",
                            "## Notes", "## Related events", "## Tags"] {
                XCTAssertTrue(md.contains(section), "\(e.name) lacks \(section)")
            }
            XCTAssertTrue(md.contains(e.isSyscall ? "## Syscall numbers" : "## Source"), e.name)
            for r in e.related { XCTAssertTrue(md.contains("[\(r)](\(r).md)"), "\(e.name) links \(r)") }
            XCTAssertEqual(md, EventDocs.markdown(e), "markdown is deterministic")
        }
        let t32 = EventDocs.markdown(try XCTUnwrap(Catalogue.spec(named: "recvmmsg_time32")))
        XCTAssertTrue(t32.contains("| x86_64 | none |"))
        XCTAssertTrue(t32.contains("| `timeout` | `struct old_timespec32 *` | timespec | U,OPT | entry |"))
        let fork = EventDocs.markdown(try XCTUnwrap(Catalogue.spec(named: "process_fork")))
        XCTAssertTrue(fork.contains("tracepoint `sched_process_fork`"))
    }

    func testTextIsWrappedAndComplete() {
        for e in Catalogue.events {
            let text = EventDocs.text(e)
            XCTAssertEqual(text, EventDocs.text(e), "text is deterministic")
            for line in text.split(separator: "\n") {
                XCTAssertLessThanOrEqual(line.count, EventDocs.textWidth, "\(e.name): \(line)")
            }
            XCTAssertFalse(text.contains("`"), "\(e.name): Markdown marks in text output")
            for a in e.args { XCTAssertTrue(text.contains(a.name), "\(e.name) text lacks \(a.name)") }
            for heading in ["DESCRIPTION", "ARGUMENTS", "RETURN VALUE", "USE CASE", "NOTES", "RELATED EVENTS", "TAGS"] {
                XCTAssertTrue(text.contains(heading), "\(e.name) text lacks \(heading)")
            }
        }
        let text = EventDocs.text(Catalogue.spec(named: "recvmmsg_time32")!)
        XCTAssertTrue(text.contains("x86_64 none, ia32 337"))
    }

    func testListText() {
        let lines = EventDocs.listText().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, Catalogue.count + 1, "a header and one line per event")
        XCTAssertTrue(lines[0].hasPrefix("EVENT"))
        let summaryColumn = lines[0].range(of: "SUMMARY")!.lowerBound.utf16Offset(in: lines[0])
        for (line, e) in zip(lines.dropFirst(), Catalogue.events) {
            XCTAssertTrue(line.hasPrefix(e.name + " "), line)
            XCTAssertTrue(line.hasSuffix(e.summary.filter { $0 != "`" }), line)
            XCTAssertEqual(line.utf16.count - e.summary.utf16.count, summaryColumn, "aligned: \(line)")
        }
        let recvmsg = lines.first { $0.hasPrefix("recvmsg ") }!
        XCTAssertEqual(recvmsg.split(separator: " ").prefix(4).map(String.init), ["recvmsg", "network", "47", "372"])
        let time32 = lines.first { $0.hasPrefix("recvmmsg_time32 ") }!
        XCTAssertEqual(time32.split(separator: " ").prefix(4).map(String.init),
                       ["recvmmsg_time32", "network", "-", "337"])
        XCTAssertEqual(EventDocs.listText(), EventDocs.listText())
    }

    func testIndexMarkdown() {
        let md = EventDocs.indexMarkdown()
        XCTAssertTrue(md.hasPrefix("<!--"))
        XCTAssertTrue(md.lowercased().contains("do not edit by hand"))
        for e in Catalogue.events { XCTAssertTrue(md.contains("| [\(e.name)](\(e.name).md) |"), e.name) }
        for tag in EventDocs.tagLegend { XCTAssertTrue(md.contains("| \(tag.key) | "), tag.key) }
        for phase in ["entry", "exit", "both"] { XCTAssertTrue(md.contains("| \(phase) | "), phase) }
        XCTAssertTrue(md.contains("## Argument tags"))
        XCTAssertTrue(md.contains("## Read phases"))
        XCTAssertEqual(md, EventDocs.indexMarkdown())
    }

    func testMarkdownEscaping() {
        XCTAssertEqual(EventDocs.md("into *addrlen"), "into \\*addrlen")
        XCTAssertEqual(EventDocs.md("`{family=<number>}` and <x>"), "`{family=<number>}` and &lt;x&gt;")
        XCTAssertEqual(EventDocs.cell("a|b"), "a\\|b")
        XCTAssertEqual(EventDocs.wrap("aaa bbb ccc", width: 7, indent: ""), ["aaa bbb", "ccc"])
        XCTAssertEqual(EventDocs.wrap("", indent: "  "), ["  "])
    }
}
