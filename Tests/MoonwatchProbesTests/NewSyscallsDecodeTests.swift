import CMoonwatchWire
import Foundation
import MoonwatchCore
@testable import MoonwatchProbes
import XCTest

/// The events added for "same effect through a different door" (open, creat, openat2, fcntl,
/// pidfd_getfd, process_vm_readv, process_vm_writev): decoded from a native capture line and from a
/// wire record, described by the CLI, and numbered as the kernel headers number them, with fcntl64
/// as a second ia32 number of fcntl all the way into the probes' table.
final class NewSyscallsDecodeTests: XCTestCase {
    /// x86_64 number, ia32 number, ia32 aliases and the header names of the aliases.
    static let numbers: [String: (x64: Int, ia32: Int, aliases: [Int])] = [
        "open": (2, 5, []), "creat": (85, 8, []), "openat2": (437, 437, []), "fcntl": (72, 55, [221]),
        "pidfd_getfd": (438, 438, []), "process_vm_readv": (310, 347, []), "process_vm_writev": (311, 348, []),
    ]
    static let aliasNames: [Int: String] = [221: "fcntl64"]

    // MARK: catalogue

    func testNumbersAliasesAndLookups() throws {
        for (name, n) in Self.numbers {
            let spec = try XCTUnwrap(Catalogue.spec(named: name), name)
            XCTAssertEqual(spec.x86_64Number, n.x64, name)
            XCTAssertEqual(spec.ia32Number, n.ia32, name)
            XCTAssertEqual(spec.ia32Aliases, n.aliases, name)
            XCTAssertEqual(Catalogue.kind(x86_64: n.x64)?.name, name)
            for m in [n.ia32] + n.aliases { XCTAssertEqual(Catalogue.kind(ia32: m)?.name, name, "ia32 \(m)") }
        }
        XCTAssertEqual(Catalogue.spec(named: "fcntl")?.ia32Numbers, [55, 221])
        XCTAssertEqual(Catalogue.spec(named: "openat")?.ia32Numbers, [295], "no alias: the ia32 number alone")
        XCTAssertEqual(Catalogue.spec(named: "accept")?.ia32Numbers, [], "no ia32 number at all")
        let aliases = Catalogue.events.flatMap(\.ia32Aliases)
        XCTAssertEqual(Set(aliases).count, aliases.count, "an alias belongs to one event")
        for e in Catalogue.events {
            for a in e.ia32Aliases { XCTAssertNotEqual(a, e.ia32Number, "\(e.name): an alias repeats the ia32 number") }
        }
    }

    /// Short names joined the catalogue: a hint must stay a hint, not half a rewrite.
    func testSuggestionsForMistypedNames() {
        XCTAssertEqual(Catalogue.suggestions(for: "nope"), [], "two edits of four letters are no hint")
        XCTAssertEqual(Catalogue.suggestions(for: "opem"), ["open"])
        XCTAssertEqual(Catalogue.suggestions(for: "fcntl64"), ["fcntl"], "the ia32 alias's own name")
        XCTAssertEqual(Catalogue.suggestions(for: "pidfd_getfdd"), ["pidfd_getfd"])
        XCTAssertEqual(Catalogue.suggestions(for: "process_vm_write").first, "process_vm_writev")
    }

    /// Aliases against the kernel's own header, like every other number (SyscallNumberOracleTests).
    func testAliasesMatchTheKernelHeader() throws {
        let path = "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"
        guard FileSystem.exists(path) else {
            return XCTFail("\(path) is missing: install linux-libc-dev to check the ia32 aliases")
        }
        var header: [String: Int] = [:]
        for line in try FileSystem.readText(path).split(separator: "\n") {
            let p = line.split(separator: " ")
            if p.count == 3, p[0] == "#define", p[1].hasPrefix("__NR_"), let n = Int(p[2]) { header[String(p[1].dropFirst(5))] = n }
        }
        XCTAssertEqual(header["fcntl"], 55)
        var checked = 0
        for e in Catalogue.events {
            for a in e.ia32Aliases {
                let name = try XCTUnwrap(Self.aliasNames[a], "\(e.name): alias \(a) has no header name here")
                XCTAssertEqual(header[name], a, "\(e.name): alias \(name)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 1)
    }

    func testTagsAndReadPhases() throws {
        func arg(_ event: String, _ name: String) throws -> ArgSpec {
            let s = try XCTUnwrap(Catalogue.spec(named: event))
            return s.args[try XCTUnwrap(s.argIndex(name), "\(event).\(name)")]
        }
        let openatPath = try arg("openat", "pathname")
        for e in ["open", "creat", "openat2"] {
            let p = try arg(e, "pathname")
            XCTAssertEqual(p.tags, openatPath.tags, e)
            XCTAssertEqual(p.read, .both, e)
            XCTAssertEqual(p.type, .string, e)
        }
        for (e, a) in [("openat2", "how"), ("process_vm_readv", "local_iov"), ("process_vm_readv", "remote_iov"),
                       ("process_vm_writev", "local_iov"), ("process_vm_writev", "remote_iov")] {
            XCTAssertEqual(try arg(e, a).type, .pointer, "\(e).\(a) is not decoded yet")
            XCTAssertTrue(Catalogue.spec(named: e)!.description.contains("not decoded yet"), e)
        }
        XCTAssertEqual(try arg("fcntl", "arg").type, .ulong)
        for e in Self.numbers.keys {
            for a in Catalogue.spec(named: e)!.args where a.type != .string {
                XCTAssertEqual(a.tags, .K, "\(e).\(a.name) is a register")
                XCTAssertEqual(a.read, .entry, "\(e).\(a.name)")
            }
        }
        // The receive headers are read only at exit: AFTER, never TOCTOU.
        for (e, a) in [("recvmsg", "msg"), ("recvmmsg", "msgvec"), ("recvmmsg_time32", "mmsg")] {
            XCTAssertEqual(try arg(e, a).tags, [.U, .AFTER], "\(e).\(a)")
            XCTAssertEqual(try arg(e, a).read, .exit)
        }
        for e in Catalogue.events {
            for a in e.args where a.tags.contains(.AFTER) {
                XCTAssertEqual(a.read, .exit, "\(e.name).\(a.name): AFTER means read only at exit")
                XCTAssertTrue(a.tags.contains(.U), "\(e.name).\(a.name): AFTER is user memory")
            }
        }
    }

    // MARK: capture lines

    func testNativeCaptureLines() throws {
        let lines: [(String, [String: Value])] = [
            (#"{"name":"open","ret":3,"process":{"pid":7,"compat":true},"args":{"pathname":"/etc/shadow","flags":0,"mode":0},"exit_args":{"pathname":"/etc/shadow"}}"#,
             ["pathname": "/etc/shadow", "flags": 0, "mode": 0]),
            (#"{"name":"creat","ret":4,"args":{"pathname":"/tmp/x","mode":384},"exit_args":{"pathname":"/tmp/y"}}"#,
             ["pathname": "/tmp/x", "mode": 384]),
            (#"{"name":"openat2","ret":-18,"args":{"dirfd":-100,"pathname":"/etc/hostname","how":4096,"size":24}}"#,
             ["dirfd": -100, "pathname": "/etc/hostname", "how": 4096, "size": 24]),
            (#"{"name":"fcntl","ret":10,"args":{"fd":3,"cmd":1030,"arg":10}}"#, ["fd": 3, "cmd": 1030, "arg": 10]),
            (#"{"name":"pidfd_getfd","ret":5,"args":{"pidfd":4,"targetfd":7,"flags":0}}"#,
             ["pidfd": 4, "targetfd": 7, "flags": 0]),
            (#"{"name":"process_vm_readv","ret":15,"args":{"pid":42,"local_iov":4096,"liovcnt":1,"remote_iov":8192,"riovcnt":1,"flags":0}}"#,
             ["pid": 42, "local_iov": 4096, "liovcnt": 1, "remote_iov": 8192, "riovcnt": 1, "flags": 0]),
            (#"{"name":"process_vm_writev","ret":-14,"args":{"pid":42,"local_iov":4096,"liovcnt":2,"remote_iov":8192,"riovcnt":3,"flags":0}}"#,
             ["pid": 42, "local_iov": 4096, "liovcnt": 2, "remote_iov": 8192, "riovcnt": 3, "flags": 0]),
        ]
        XCTAssertEqual(Set(lines.map { String($0.0.split(separator: "\"")[3]) }), Set(Self.numbers.keys), "every new event")
        for (line, args) in lines {
            let e = try EventJSON.decode(try JSONParser.parse(line))
            for (name, value) in args { XCTAssertEqual(e[arg: name], value, "\(e.name).\(name)") }
            var copy = line
            XCTAssertEqual(copy.withUTF8 { EventJSON.decodeFast(UnsafeRawBufferPointer($0)) }, e, "fast decoder: \(line)")
            XCTAssertEqual(try EventJSON.decode(try JSONParser.parse(EventJSON.text(e))), e, "round trip of \(e.name)")
        }
        let creat = try EventJSON.decode(try JSONParser.parse(lines[1].0))
        XCTAssertEqual(creat.changedNames, ["pathname"], "a TOCTOU pathname that changed")
        let open = try EventJSON.decode(try JSONParser.parse(lines[0].0))
        XCTAssertTrue(open.process.compat)
        XCTAssertEqual(open.ret, 3)
        // A pointer argument is an integer; how is not a structure yet.
        XCTAssertThrowsError(try EventJSON.decode(try JSONParser.parse(
            #"{"name":"openat2","args":{"how":{"flags":0}}}"#)))
        XCTAssertThrowsError(try EventJSON.decode(try JSONParser.parse(
            #"{"name":"fcntl","exit_args":{"cmd":0}}"#)), "fcntl has no TOCTOU argument")
    }

    // MARK: wire records

    func decode(_ r: RecordBuilder, ret: Int64 = 0) throws -> Event {
        var bytes = r.finished()
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: ret, toByteOffset: MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.ret)!, as: Int64.self)
        }
        var d = WireDecoder(containerRoot: "/nonexistent")
        return try bytes.withUnsafeBytes { raw in try Result { () throws(WireError) in try d.decode(raw) }.get() }
    }

    func testPathEventsFromTheWire() throws {
        for compat in [false, true] {
            let dirfd: UInt64 = compat ? 0xffff_ff9c : UInt64(bitPattern: -100)  // AT_FDCWD, zero-extended for ia32
            var o2 = RecordBuilder(kind: "openat2", compat: compat, args: [dirfd, 0x1000, 0x2000, 24])
            o2.block(arg: 1, type: MW_T_STRING, Array("/etc/shadow\0".utf8))
            o2.block(arg: 1, phase: MW_P_EXIT, type: MW_T_STRING, Array("/etc/passwd\0".utf8))
            var e = try decode(o2, ret: -18)
            XCTAssertEqual(e.name, "openat2")
            XCTAssertEqual(e.process.compat, compat)
            XCTAssertEqual(e[arg: "dirfd"], -100)
            XCTAssertEqual(e[arg: "pathname"], "/etc/shadow")
            XCTAssertEqual(e.exitArg("pathname"), "/etc/passwd")
            XCTAssertEqual(e.changedNames, ["pathname"])
            XCTAssertEqual(e[arg: "how"], 0x2000)
            XCTAssertEqual(e[arg: "size"], 24)
            XCTAssertEqual(e.ret, -18)

            var open = RecordBuilder(kind: "open", compat: compat, args: [0x1000, 0x80000, 0])
            open.block(arg: 0, type: MW_T_STRING, Array("/etc/hostname\0".utf8))
            open.block(arg: 0, phase: MW_P_EXIT, type: MW_T_STRING, Array("/etc/hostname\0".utf8))
            e = try decode(open, ret: 3)
            XCTAssertEqual(e.name, "open")
            XCTAssertEqual(e[arg: "pathname"], "/etc/hostname")
            XCTAssertEqual(e[arg: "flags"], 0x80000)
            XCTAssertEqual(e[arg: "mode"], 0)
            XCTAssertEqual(e.changed, 0)
            XCTAssertEqual(e.ret, 3)

            var creat = RecordBuilder(kind: "creat", compat: compat, args: [0x1000, 0o644])
            creat.block(arg: 0, type: MW_T_STRING, Array("/tmp/new\0".utf8))
            e = try decode(creat, ret: 4)
            XCTAssertEqual(e.name, "creat")
            XCTAssertEqual(e[arg: "pathname"], "/tmp/new")
            XCTAssertEqual(e[arg: "mode"], 0o644)
            XCTAssertNil(e.exitArg("pathname"), "no exit block: no exit read")
        }
    }

    func testDescriptorAndMemoryEventsFromTheWire() throws {
        var e = try decode(RecordBuilder(kind: "fcntl", args: [3, 0, 10]), ret: 10)
        XCTAssertEqual(e.name, "fcntl")
        XCTAssertEqual(e[arg: "fd"], 3)
        XCTAssertEqual(e[arg: "cmd"], 0)
        XCTAssertEqual(e[arg: "arg"], 10)
        XCTAssertEqual(e.ret, 10)
        // A 64-bit arg keeps its width; an ia32 one is 32 bits (fcntl64's upper register half is not its).
        e = try decode(RecordBuilder(kind: "fcntl", args: [3, 4, 0x1_0000_0800]))
        XCTAssertEqual(e[arg: "arg"], .int(0x1_0000_0800))
        e = try decode(RecordBuilder(kind: "fcntl", compat: true, args: [3, 4, 0x1_0000_0800]))
        XCTAssertEqual(e[arg: "arg"], 0x800)
        XCTAssertTrue(e.process.compat)

        e = try decode(RecordBuilder(kind: "pidfd_getfd", compat: true, args: [5, 7, 0]), ret: 9)
        XCTAssertEqual(e.name, "pidfd_getfd")
        XCTAssertEqual(e[arg: "pidfd"], 5)
        XCTAssertEqual(e[arg: "targetfd"], 7)
        XCTAssertEqual(e[arg: "flags"], 0)
        XCTAssertEqual(e.ret, 9)

        for name in ["process_vm_readv", "process_vm_writev"] {
            e = try decode(RecordBuilder(kind: name, args: [4242, 0x7ffd_0000_1000, 1, 0x7ffd_0000_2000, 2, 0]), ret: 6)
            XCTAssertEqual(e.name, name)
            XCTAssertEqual(e[arg: "pid"], 4242)
            XCTAssertEqual(e[arg: "local_iov"], .int(0x7ffd_0000_1000), "a 64-bit address, reported whole")
            XCTAssertEqual(e[arg: "liovcnt"], 1)
            XCTAssertEqual(e[arg: "remote_iov"], .int(0x7ffd_0000_2000))
            XCTAssertEqual(e[arg: "riovcnt"], 2)
            XCTAssertEqual(e[arg: "flags"], 0)
            XCTAssertEqual(e.ret, 6)
            XCTAssertEqual(e.exitArgs.compactMap { $0 }.count, 0)
        }
    }

    // MARK: the probes' table

    /// fcntl's table entry sits at both of its ia32 numbers (55 and fcntl64's 221), and at 72.
    func testProbeTableHasTheAliasSlot() throws {
        let size = MemoryLayout<mw_config>.size
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: MemoryLayout<mw_config>.alignment)
        defer { buf.deallocate() }
        try ProbeConfig.write(LiveOptions(kinds: []), selfTGID: 1, into: buf)
        let stride = MemoryLayout<mw_syscall_cfg>.stride
        func slot(ia32: Bool, _ n: Int) -> mw_syscall_cfg {
            let base = MemoryLayout<mw_config>.offset(of: ia32 ? \mw_config.ia32 : \mw_config.x64)!
            return buf.load(fromByteOffset: base + n * stride, as: mw_syscall_cfg.self)
        }
        let fcntl = try XCTUnwrap(Catalogue.kind(named: "fcntl")).rawValue
        for (ia32, n) in [(false, 72), (true, 55), (true, 221)] {
            let c = slot(ia32: ia32, n)
            XCTAssertEqual(c.valid, 1, "slot \(n) ia32=\(ia32)")
            XCTAssertEqual(c.kind, fcntl, "slot \(n) ia32=\(ia32)")
            XCTAssertEqual(c.nargs, 3)
        }
        XCTAssertEqual(slot(ia32: true, 220).valid, 0, "a neighbour of the alias stays empty")
        for (name, n) in Self.numbers {
            let kind = try XCTUnwrap(Catalogue.kind(named: name)).rawValue
            XCTAssertEqual(slot(ia32: false, n.x64).kind, kind, "\(name) x86_64")
            XCTAssertEqual(slot(ia32: true, n.ia32).kind, kind, "\(name) ia32")
        }
    }

    // MARK: the CLI

    func testEventsDescribeShowsThem() throws {
        for (name, n) in Self.numbers {
            let text = try moonwatch(["events", "describe", name])
            let ia32 = "\(n.ia32)" + (n.aliases.isEmpty ? "" : " (also \(n.aliases.map(String.init).joined(separator: ", ")))")
            XCTAssertTrue(text.contains("system call, x86_64 \(n.x64), ia32 \(ia32)"), text)
            for a in Catalogue.spec(named: name)!.args { XCTAssertTrue(text.contains("\n  \(a.name) "), "\(name) lists \(a.name)") }
            let md = try moonwatch(["events", "describe", name, "--format", "markdown"])
            XCTAssertTrue(md.contains("| x86_64 | \(n.x64) |"), md)
            XCTAssertTrue(md.contains("| ia32 | \(n.ia32) |"), md)
            for a in n.aliases { XCTAssertTrue(md.contains("| ia32 alias | \(a) |"), md) }
        }
        let list = try moonwatch(["events", "list"])
        let fcntl = try XCTUnwrap(list.split(separator: "\n").first { $0.hasPrefix("fcntl ") })
        XCTAssertEqual(fcntl.split(separator: " ").prefix(4).map(String.init), ["fcntl", "file", "72", "55,221"])
    }

    func moonwatch(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.moonwatch)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "moonwatch \(args.joined(separator: " "))")
        return String(decoding: data, as: UTF8.self)
    }
}
