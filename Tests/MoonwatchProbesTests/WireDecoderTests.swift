import Foundation
import CMoonwatchWire
import MoonwatchCore
import Libbpf
@testable import MoonwatchProbes
import XCTest

/// Builds ring-buffer records the way the BPF programs lay them out.
struct RecordBuilder {
    var bytes: [UInt8] = []
    var nblocks: UInt16 = 0

    init(kind: String, compat: Bool = false, args: [UInt64] = [], pid: UInt32 = 100, comm: String = "tester") {
        var h = mw_event_hdr()
        h.version = UInt16(MW_WIRE_VERSION)
        h.kind = Catalogue.kind(named: kind)!.rawValue
        h.flags = UInt16(MW_EV_EXIT) | (compat ? UInt16(MW_EV_COMPAT) : 0)
        h.ts_enter = 1_000
        h.ret = 0
        h.pid = pid; h.tid = pid; h.ppid = 1; h.uid = 1000; h.gid = 1000
        h.bits = 64
        h.cgroup = 1
        h.mntns = 4026531840; h.pidns = 4026531836
        withUnsafeMutableBytes(of: &h.args) { raw in
            for (i, a) in args.prefix(6).enumerated() { raw.storeBytes(of: a, toByteOffset: i * 8, as: UInt64.self) }
        }
        withUnsafeMutableBytes(of: &h.comm) { raw in
            for (i, b) in comm.utf8.prefix(15).enumerated() { raw[i] = b }
        }
        bytes = withUnsafeBytes(of: h) { Array($0) }
    }

    mutating func block(arg: Int, phase: Int32 = MW_P_ENTRY, type: mw_type, status: Int32 = 0, _ payload: [UInt8]) {
        var b = mw_block()
        b.arg = UInt8(arg); b.phase = UInt8(phase); b.type = UInt8(type.rawValue); b.status = UInt8(status)
        b.len = UInt32(payload.count)
        bytes += withUnsafeBytes(of: b) { Array($0) } + payload
        while bytes.count % 8 != 0 { bytes.append(0) }
        nblocks += 1
    }

    func finished(size: Int? = nil) -> [UInt8] {
        var out = bytes
        let total = UInt32(size ?? out.count)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: nblocks, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: total, toByteOffset: 8, as: UInt32.self)
        }
        return out
    }
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
func pad8(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (8 - b.count % 8) % 8) }

func sockaddrIn(_ a: [UInt8], port: UInt16) -> [UInt8] { le(UInt16(2)) + withUnsafeBytes(of: port.bigEndian) { Array($0) } + a + [UInt8](repeating: 0, count: 8) }

/// struct mw_msg with a native or compat header and the given parts. `window` puts the iovec
/// array inside the header's window (one user read), as the probe does when they are close.
func msgBlob(compat: Bool, name: [UInt8] = [], iovLens: [UInt64], control: [UInt8] = [], files: [UInt8] = [], nfiles: UInt8 = 0,
             flags: UInt32 = 0, window: Bool = false) -> [UInt8] {
    var hdr: [UInt8]
    if compat {
        hdr = le(UInt32(name.isEmpty ? 0 : 0x1000)) + le(Int32(name.count)) + le(UInt32(0x2000)) + le(UInt32(iovLens.count))
            + le(UInt32(control.isEmpty ? 0 : 0x3000)) + le(UInt32(control.count)) + le(flags)
    } else {
        hdr = le(UInt64(name.isEmpty ? 0 : 0x1000)) + le(Int32(name.count)) + le(UInt32(0)) + le(UInt64(0x2000)) + le(UInt64(iovLens.count))
            + le(UInt64(control.isEmpty ? 0 : 0x3000)) + le(UInt64(control.count)) + le(flags) + le(UInt32(0))
    }
    var iov: [UInt8] = []
    for l in iovLens { iov += compat ? le(UInt32(0x4000)) + le(UInt32(l)) : le(UInt64(0x4000)) + le(l) }
    // Window: 8 bytes of other stack data, the header, then (window mode) the iovec array.
    let win = [UInt8](repeating: 0xee, count: 8) + hdr + (window ? iov : [])
    var body = pad8(win)
    var off = 32 + body.count
    var iovOff = window ? 32 + 8 + hdr.count : 0
    if !window && !iov.isEmpty { iovOff = off; body += pad8(iov); off = 32 + body.count }
    let nameOff = name.isEmpty ? 0 : off
    body += pad8(name); off = 32 + body.count
    let ctlOff = control.isEmpty ? 0 : off
    body += pad8(control); off = 32 + body.count
    let filesOff = files.isEmpty ? 0 : off
    body += files
    var m = le(UInt16(32 + 8)) + le(UInt16(hdr.count)) + le(UInt16(iovOff)) + le(UInt16(iov.count))
    m += le(UInt16(nameOff)) + le(UInt16(name.count)) + le(UInt16(ctlOff)) + le(UInt16(control.count))
    m += le(UInt16(filesOff)) + le(UInt16(files.count)) + le(UInt16(win.count)) + [0, nfiles]
    m += le(UInt32(32 + body.count)) + le(UInt32(0))
    return m + body
}

func cmsg(compat: Bool, level: Int32, type: Int32, _ data: [UInt8]) -> [UInt8] {
    let h = compat ? 12 : 16
    let head = compat ? le(UInt32(h + data.count)) + le(level) + le(type) : le(UInt64(h + data.count)) + le(level) + le(type)
    var out = head + data
    let align = compat ? 4 : 8
    while out.count % align != 0 { out.append(0) }
    return out
}

func fileEntry(fd: Int32, type: mw_file_type, ino: UInt64 = 0, components: [String] = [], status: UInt8 = 0,
               dev: UInt32 = 0) -> [UInt8] {
    var path: [UInt8] = []
    for c in components.reversed() { path += [UInt8(c.utf8.count)] + Array(c.utf8) }
    return le(fd) + [UInt8(type.rawValue), status] + le(UInt16(path.count)) + le(ino) + le(dev) + le(UInt32(0)) + pad8(path)
}

/// struct mw_mmsg: `count` entries follow; `scanned` more were scanned for control messages.
func mmsgHeader(count: UInt32, status: UInt16 = 0, types: UInt8 = 0, scanTypes: UInt8 = 0, scanned: UInt16 = 0,
                scanRights: UInt16 = 0) -> [UInt8] {
    le(count) + le(status) + [types, scanTypes] + le(scanned) + le(scanRights) + le(UInt16(0)) + le(UInt16(0))
}

final class WireDecoderTests: XCTestCase {
    static func result(_ bytes: [UInt8], _ d: inout WireDecoder) -> Result<Event, WireError> {
        bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try d.decode(raw) } }
    }

    func decode(_ bytes: [UInt8]) throws -> Event {
        var d = WireDecoder(containerRoot: "/nonexistent")
        return try Self.result(bytes, &d).get()
    }

    func decodeError(_ bytes: [UInt8]) -> String? {
        var d = WireDecoder(containerRoot: "/nonexistent")
        if case .failure(let e) = Self.result(bytes, &d) { return e.category }
        return nil
    }

    // MARK: shapes

    func testSockaddrShapes() {
        func v(_ b: [UInt8]) -> Value { b.withUnsafeBytes { ArgDecode.sockaddr(WireBytes($0)) } }
        XCTAssertEqual(v(sockaddrIn([10, 0, 0, 1], port: 80)), .object([("family", "AF_INET"), ("addr", "10.0.0.1"), ("port", 80)]))
        var six = le(UInt16(10)) + withUnsafeBytes(of: UInt16(443).bigEndian) { Array($0) } + le(UInt32(0))
        six += [UInt8](repeating: 0, count: 15) + [1] + le(UInt32(0))
        XCTAssertEqual(v(six), .object([("family", "AF_INET6"), ("addr", "::1"), ("port", 443)]))
        XCTAssertEqual(v(le(UInt16(1)) + Array("/run/x.sock".utf8) + [0, 0, 0]), .object([("family", "AF_UNIX"), ("path", "/run/x.sock")]))
        XCTAssertEqual(v(le(UInt16(1)) + [0] + Array("name".utf8)), .object([("family", "AF_UNIX"), ("path", "@name"), ("abstract", true)]))
        XCTAssertEqual(v(le(UInt16(1))), .object([("family", "AF_UNIX"), ("path", "")]))
        XCTAssertEqual(v(le(UInt16(17)) + [1, 2, 3, 4]), .object([("family", 17)]))
        XCTAssertEqual(v(le(UInt16(2)) + [0]), .object([("family", "AF_INET")]), "short inet address keeps the family only")
    }

    func testMsghdrNativeWithSeveralControlMessages() throws {
        let rights = cmsg(compat: false, level: 1, type: 1, le(Int32(7)) + le(Int32(8)))
        let cred = cmsg(compat: false, level: 1, type: 2, le(Int32(42)) + le(UInt32(1000)) + le(UInt32(100)))
        let other = cmsg(compat: false, level: 41, type: 50, [1, 2, 3, 4])
        let files = fileEntry(fd: 7, type: MW_FILE_REGULAR, components: ["etc", "shadow"])
            + fileEntry(fd: 8, type: MW_FILE_SOCKET, ino: 99)
        let blob = msgBlob(compat: false, name: sockaddrIn([127, 0, 0, 1], port: 53), iovLens: [3, 5],
                           control: rights + cred + other, files: files, nfiles: 2, flags: 0x40, window: true)
        var r = RecordBuilder(kind: "sendmsg", args: [4, 0x1000, 0])
        r.block(arg: 1, type: MW_T_MSGHDR, blob)
        r.block(arg: 1, phase: MW_P_EXIT, type: MW_T_MSGHDR, blob)
        let e = try decode(r.finished())
        let msg = try XCTUnwrap(e[arg: "msg"])
        XCTAssertEqual(msg.fields?.keys, ["name", "iov", "iovlen", "bytes", "controllen", "control", "flags"])
        XCTAssertEqual(msg["name"], .object([("family", "AF_INET"), ("addr", "127.0.0.1"), ("port", 53)]))
        XCTAssertEqual(msg["iov"], [3, 5])
        XCTAssertEqual(msg["iovlen"], 2)
        XCTAssertEqual(msg["bytes"], 8)
        XCTAssertEqual(msg["controllen"]?.i, Int64(rights.count + cred.count + other.count))
        XCTAssertEqual(msg["flags"], 0x40)
        XCTAssertEqual(msg["control"]?[0], .object([
            ("level", "SOL_SOCKET"), ("type", "SCM_RIGHTS"), ("fds", [7, 8]),
            ("files", [.object([("fd", 7), ("type", "file"), ("path", "/etc/shadow")]),
                       .object([("fd", 8), ("type", "socket"), ("path", "socket:[99]"), ("ino", 99)])]),
        ]))
        XCTAssertEqual(msg["control"]?[1], .object([("level", "SOL_SOCKET"), ("type", "SCM_CREDENTIALS"),
                                                    ("cred", .object([("pid", 42), ("uid", 1000), ("gid", 100)]))]))
        XCTAssertEqual(msg["control"]?[2], .object([("level", 41), ("type", 50), ("len", 20)]))
        XCTAssertEqual(e.exitArg("msg"), msg)
        XCTAssertEqual(e.changed, 0)
        XCTAssertEqual(e[arg: "sockfd"], 4)
    }

    func testMsghdrCompatLayoutAndAlignment() throws {
        let rights = cmsg(compat: true, level: 1, type: 1, le(Int32(5)))
        let cred = cmsg(compat: true, level: 1, type: 2, le(Int32(1)) + le(UInt32(0)) + le(UInt32(0)))
        XCTAssertEqual(rights.count, 16, "12-byte compat header, 4-byte alignment")
        let blob = msgBlob(compat: true, iovLens: [4], control: rights + cred,
                           files: fileEntry(fd: 5, type: MW_FILE_ANON, components: ["[eventfd]"]), nfiles: 1)
        var r = RecordBuilder(kind: "recvmsg", compat: true, args: [3, 0x1000, 0])
        r.block(arg: 1, phase: MW_P_EXIT, type: MW_T_MSGHDR, blob)
        let e = try decode(r.finished())
        XCTAssertTrue(e.process.compat)
        let msg = try XCTUnwrap(e[arg: "msg"])
        XCTAssertEqual(msg["iov"], [4])
        XCTAssertEqual(msg["control"]?[0]?["files"], [.object([("fd", 5), ("type", "anon_inode"), ("path", "anon_inode:[eventfd]")])])
        XCTAssertEqual(msg["control"]?[1]?["cred"]?["pid"], 1)
    }

    func testMmsghdrVectorAndTimespec32() throws {
        let m1 = msgBlob(compat: true, iovLens: [64])
        let payload = mmsgHeader(count: 2) + le(UInt32(5)) + le(UInt32(0)) + m1 + le(UInt32(7)) + le(UInt32(0)) + m1
        var r = RecordBuilder(kind: "recvmmsg_time32", compat: true, args: [3, 0x1000, 2, 0, 0x2000])
        r.block(arg: 1, phase: MW_P_EXIT, type: MW_T_MMSGHDRS, payload)
        r.block(arg: 4, type: MW_T_TIMESPEC32, le(Int32(1)) + le(Int32(500)))
        let e = try decode(r.finished())
        XCTAssertEqual(e[arg: "mmsg"]?.array?.map { $0["len"] }, [5, 7])
        XCTAssertEqual(e[arg: "mmsg"]?[0]?["msg"]?["iov"], [64])
        XCTAssertEqual(e[arg: "timeout"], .object([("sec", 1), ("nsec", 500)]))
        XCTAssertEqual(e[arg: "vlen"], 2)
        XCTAssertEqual(e[arg: "flags"], 0)
    }

    func testScalarsStringsArgvAndNullPointers() throws {
        var r = RecordBuilder(kind: "execve", args: [0x10, 0x20, 0])
        r.block(arg: 0, type: MW_T_STRING, Array("/bin/sh\0".utf8))
        r.block(arg: 1, type: MW_T_ARGV, Array("sh\0-c\0true\0".utf8))
        r.block(arg: 2, type: MW_T_ARGV, status: MW_S_NULL, [])
        var e = try decode(r.finished())
        XCTAssertEqual(e[arg: "pathname"], "/bin/sh")
        XCTAssertEqual(e[arg: "argv"], ["sh", "-c", "true"])
        XCTAssertEqual(e[arg: "envp"], .null)

        var s = RecordBuilder(kind: "sendto", args: [3, 0xdead, 5, 0x40, 0, 0])
        s.block(arg: 4, type: MW_T_SOCKADDR, status: MW_S_NULL, [])
        e = try decode(s.finished())
        XCTAssertEqual(e[arg: "buf"], .int(0xdead))
        XCTAssertEqual(e[arg: "len"], 5)
        XCTAssertEqual(e[arg: "flags"], 0x40)
        XCTAssertEqual(e[arg: "dest_addr"], .null)

        // ia32 longs are 32-bit: 0xffffffff is -1, not 4294967295.
        let p = RecordBuilder(kind: "ptrace", compat: true, args: [0xffff_ffff, 5, 0, 0])
        e = try decode(p.finished())
        XCTAssertEqual(e[arg: "request"], -1)
    }

    func testTOCTOUChangeIsComputed() throws {
        var r = RecordBuilder(kind: "connect", args: [3, 0x1000, 16])
        r.block(arg: 1, type: MW_T_SOCKADDR, sockaddrIn([127, 0, 0, 1], port: 53))
        r.block(arg: 1, phase: MW_P_EXIT, type: MW_T_SOCKADDR, sockaddrIn([127, 0, 0, 1], port: 4444))
        let e = try decode(r.finished())
        XCTAssertEqual(e.changedNames, ["addr"])
        XCTAssertEqual(e.exitArg("addr")?["port"], 4444)
    }

    func testExePathBlockAndProcessContext() throws {
        var r = RecordBuilder(kind: "close", args: [3], pid: 4242, comm: "worker")
        let path: [UInt8] = [3] + Array("cat".utf8) + [3] + Array("bin".utf8) + [3] + Array("usr".utf8)
        // struct mw_exe: ino, dev (kernel encoding 8:1 = 8 << 20 | 1), fs magic (ext4), path_len, status, pad
        var exe = le(UInt64(123456)) + le(UInt32(8 << 20 | 1)) + le(UInt32(0xEF53))
        exe += le(UInt16(path.count)) + [0, 0, 0, 0, 0, 0]
        r.block(arg: Int(MW_ARG_EXE), type: MW_T_EXE, exe + path)
        let e = try decode(r.finished())
        XCTAssertEqual(e.process.exe, "/usr/bin/cat")
        XCTAssertEqual(e.process.exeIno, 123456)
        XCTAssertEqual(e.process.exeDev, 0x801, "as stat(2) reports it")
        XCTAssertEqual(e.process.exeFs, "ext4")
        XCTAssertEqual(e.process.comm, "worker")
        XCTAssertEqual(e.process.pid, 4242)
        XCTAssertEqual(e.process.bits, 64)
        XCTAssertEqual(e[arg: "fd"], 3)
    }

    // MARK: hostile input

    func testMalformedRecordsAreRejectedNotCrashes() {
        XCTAssertEqual(decodeError([1, 2, 3]), "short record")
        var bad = RecordBuilder(kind: "close", args: [3]).finished()
        bad[0] = 99
        XCTAssertEqual(decodeError(bad), "wire version")
        XCTAssertEqual(decodeError(RecordBuilder(kind: "close").finished(size: 4096)), "bad size")
        XCTAssertEqual(decodeError(RecordBuilder(kind: "close").finished(size: 10)), "bad size")
        var unknown = RecordBuilder(kind: "close").finished()
        unknown[2] = 0xff; unknown[3] = 0x7f
        XCTAssertEqual(decodeError(unknown), "unknown kind")
        var r = RecordBuilder(kind: "openat", args: [0, 0x1000, 0, 0])
        r.block(arg: 1, type: MW_T_STRING, Array("/etc/passwd\0".utf8))
        var long = r.finished()
        long.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(9999), toByteOffset: Int(MW_HDR_SIZE) + 4, as: UInt32.self) }
        XCTAssertEqual(decodeError(long), "bad block")
        var many = r.finished()
        many.withUnsafeMutableBytes { $0.storeBytes(of: UInt16(500), toByteOffset: 6, as: UInt16.self) }
        XCTAssertEqual(decodeError(many), "bad block")
    }

    func testNestedLengthsFromTheWireAreNotTrusted() throws {
        // A msghdr blob whose inner lengths point past its end decodes to nothing, not garbage.
        var blob = msgBlob(compat: false, iovLens: [1])
        blob.withUnsafeMutableBytes { $0.storeBytes(of: UInt16(4000), toByteOffset: 4, as: UInt16.self) }  // iov_off
        var r = RecordBuilder(kind: "recvmsg", args: [3, 0x1000, 0])
        r.block(arg: 1, phase: MW_P_EXIT, type: MW_T_MSGHDR, blob)
        XCTAssertNil(try decode(r.finished())[arg: "msg"])
        // A count of a billion mmsg entries stops at the data.
        var r2 = RecordBuilder(kind: "recvmmsg", args: [3, 0x1000, 1, 0, 0])
        r2.block(arg: 1, phase: MW_P_EXIT, type: MW_T_MMSGHDRS, mmsgHeader(count: 1_000_000_000))
        XCTAssertEqual(try decode(r2.finished())[arg: "msgvec"], .array([]))
    }

    /// Random byte flips and truncations of a full sendmsg record: each one is rejected with an
    /// error or decodes to an event that keeps the catalogue's shapes and survives a capture
    /// round trip. Seeded: MOONWATCH_FUZZ_SEED=N reproduces (or explores) a run; the seed is printed.
    func testRandomMutationsDecodeToWellFormedEventsOrAreRejected() throws {
        var base = RecordBuilder(kind: "sendmsg", args: [3, 0x1000, 0])
        let blob = msgBlob(compat: false, name: sockaddrIn([1, 2, 3, 4], port: 9), iovLens: [1, 2],
                           control: cmsg(compat: false, level: 1, type: 1, le(Int32(3))),
                           files: fileEntry(fd: 3, type: MW_FILE_REGULAR, components: ["tmp", "x"]), nfiles: 1)
        base.block(arg: 1, type: MW_T_MSGHDR, blob)
        base.block(arg: 1, phase: MW_P_EXIT, type: MW_T_MSGHDR, blob)
        let good = base.finished()
        let seed = ProcessInfo.processInfo.environment["MOONWATCH_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x6d6f_6f6e_7761_7463
        print("wire fuzz seed: \(seed) (MOONWATCH_FUZZ_SEED=\(seed) reproduces this run)")
        var rng = FilterTablesTests.SplitMix(state: seed)
        var decoder = WireDecoder(containerRoot: "/nonexistent")
        let reference = try Self.result(good, &decoder).get()
        var ok = 0, rejected = 0, failures = 0
        for round in 0..<20_000 where failures < 10 {
            var b = good
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<b.count, using: &rng)
                b[i] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            guard case .success(let e) = Self.result(b, &decoder) else { rejected += 1; continue }
            ok += 1
            // The decoder learns executables from records (a damaged one may teach it a wrong one
            // for pid 100), so determinism is checked on a decoder of its own. Each decoder reads
            // the realtime-monotonic offset once: times may differ by that reading, nothing else.
            var fresh = WireDecoder(containerRoot: "/nonexistent")
            let unchanged = b == good ? (try? Self.result(b, &fresh).get()).map { var u = $0; u.time = reference.time; return u } : reference
            let problems = Self.shapeProblems(e) + (unchanged != reference ? ["unchanged bytes decoded differently"] : [])
            if !problems.isEmpty {
                failures += 1
                XCTFail("seed \(seed), round \(round): \(problems.joined(separator: "; "))")
            }
        }
        print("wire fuzz: \(ok) decoded, \(rejected) rejected")
        // Both outcomes must occur, or the mutations are not reaching the decoder's checks.
        XCTAssertGreaterThan(ok, 1000, "seed \(seed)")
        XCTAssertGreaterThan(rejected, 1000, "seed \(seed)")
    }

    /// What must hold for any decoded event, whatever its bytes were.
    static func shapeProblems(_ e: Event) -> [String] {
        var out: [String] = []
        func isInt(_ v: Value) -> Bool { if case .int = v { return true }; if case .uint = v { return true }; return false }
        func check(_ name: String, _ type: ArgType, _ v: Value) {
            let fine: Bool
            switch type {
            case .int, .uint, .long, .ulong, .pointer, .intRef: fine = isInt(v)
            case .string: fine = v.string != nil
            case .argv: fine = v.array?.allSatisfy { $0.string != nil } ?? false
            case .sockaddr: fine = v["family"]?.string != nil
            case .msghdr:
                fine = (v["control"]?.array ?? []).allSatisfy { c in
                    // Known control messages are named ("SCM_RIGHTS"), unknown ones keep their numbers.
                    (c["type"].map { $0.string != nil || isInt($0) } ?? false) && (c["fds"].map { $0.array?.allSatisfy(isInt) ?? false } ?? true)
                } && (v["control"].map { $0.array != nil } ?? true)
            case .mmsghdrs: fine = v.array?.allSatisfy { $0["msg"] == nil || $0["msg"]?.fields != nil } ?? false
            case .timespec, .timespec32: fine = v["sec"].map(isInt) ?? false
            case .fdPair: fine = v.array?.allSatisfy(isInt) ?? false
            case .program, .sockinfo: fine = v.fields != nil
            case .stdio: fine = v.array?.allSatisfy { $0.fields != nil || $0.isNull } ?? false
            }
            if !fine { out.append("\(e.name).\(name) is not a \(type.shape): \(v)") }
        }
        let spec = e.spec
        if e.args.count != spec.args.count { out.append("\(e.name) has \(e.args.count) argument slots for \(spec.args.count) arguments") }
        for (i, a) in spec.args.enumerated() {
            if i < e.args.count, let v = e.args[i] { check(a.name, a.type, v) }
            if i < e.exitArgs.count, let v = e.exitArgs[i] { check(a.name, a.type, v) }
        }
        let toctou = Set(spec.toctouArgs.map { spec.args[$0].name })
        for n in e.changedNames where !toctou.contains(n) { out.append("\(n) marked changed but is not TOCTOU") }
        // Whatever was decoded can be captured and replayed unchanged.
        var w = JSONWriter()
        EventJSON.write(e, to: &w)
        do {
            let back = try EventJSON.decode(try JSONParser.parse(w.bytes))
            var w2 = JSONWriter()
            EventJSON.write(back, to: &w2)
            if w2.bytes != w.bytes { out.append("capture round trip changed the event") }
        } catch {
            out.append("its capture line does not replay: \(error)")
        }
        return out
    }

    // MARK: configuration and messages

    func testCatalogueDrivesTheKernelTable() {
        let c = ProbeConfig.entry(Catalogue.kind(named: "recvfrom")!)
        XCTAssertEqual(c.nargs, 6)
        XCTAssertEqual(c.type.4, UInt8(MW_T_SOCKADDR.rawValue))
        XCTAssertEqual(c.phase.4, UInt8(MW_P_EXIT))
        XCTAssertEqual(c.aux.4, 5 | UInt8(MW_AUX_PTR), "src_addr's length is the value-result addrlen")
        XCTAssertEqual(c.read_entry, 0, "recvfrom reads nothing from memory at entry")
        XCTAssertEqual(c.read_exit, 1 << 4 | 1 << 5)
        let s = ProbeConfig.entry(Catalogue.kind(named: "sendmsg")!)
        XCTAssertEqual(s.phase.1, UInt8(MW_P_ENTRY | MW_P_EXIT), "TOCTOU: both")
        XCTAssertEqual(s.read_entry, 1 << 1)
        XCTAssertEqual(s.read_exit, 1 << 1)
        let m = ProbeConfig.entry(Catalogue.kind(named: "sendmmsg")!)
        XCTAssertEqual(m.aux.1, 2, "vlen")
        XCTAssertEqual(ProbeConfig.entry(Catalogue.kind(named: "execveat")!).flags, UInt8(MW_CFG_EXEC))
        for (_, name) in SocketCall.events { XCTAssertNotNil(Catalogue.kind(named: name), name) }
    }

    func testErrorsPointAtReplay() {
        let errors: [ProbeError] = [
            .notPermitted(euid: 1000, missing: ["CAP_BPF"]), .noBTF(path: "/sys/kernel/btf/vmlinux"),
            .verifierRejected(program: "mw_sys_enter_btf", logPath: "/tmp/x.verifier.log", summary: "R1 invalid mem access"),
            .refused("EPERM"), .attachFailed("x"),
        ]
        for e in errors { XCTAssertTrue(e.description.contains("moonwatch replay"), e.description) }
        XCTAssertTrue(ProbeError.verifierRejected(program: "p", logPath: "/tmp/x.verifier.log", summary: "s").description.contains("/tmp/x.verifier.log"))
    }

    func testVerifierLogParsing() {
        let libbpf = "libbpf: prog 'mw_sys_enter_btf': BPF program load failed: Permission denied\nlibbpf: failed to load object\n"
        XCTAssertEqual(Probes.failedProgram(in: libbpf), "mw_sys_enter_btf")
        let log = "0: (79) r1 = *(u64 *)(r1 +0)\ninvalid access to map value, value_size=21 off=31 size=1\nprocessed 928 insns (limit 1000000)\n"
        XCTAssertEqual(Probes.summary(log: log, libbpf: libbpf, error: BPFCallError("bpf_object__load", errno: 13)),
                       "invalid access to map value, value_size=21 off=31 size=1")
        let two = "4: (71) r0 = *(u8 *)(r1 +29824)\ninvalid access to map value, value_size=29760 off=29824 size=1\n"
            + "R1 min value is outside of the allowed memory range\nprocessed 4 insns (limit 1000000)\n"
        XCTAssertEqual(Probes.summary(log: two, libbpf: libbpf, error: BPFCallError("bpf_object__load", errno: 13)),
                       "invalid access to map value, value_size=29760 off=29824 size=1; R1 min value is outside of the allowed memory range")
    }

    func testContainerIDFromCgroupPath() {
        let id = String(repeating: "ab12", count: 16)
        XCTAssertEqual(ContainerResolver.containerID(inPath: "/system.slice/docker-\(id).scope"), id)
        XCTAssertEqual(ContainerResolver.containerID(inPath: "/kubepods/besteffort/pod1234/\(id)"), id)
        XCTAssertEqual(ContainerResolver.containerID(inPath: "/user.slice/user-1000.slice"), "")
        XCTAssertEqual(ContainerResolver.containerID(inPath: "/x/" + String(repeating: "a", count: 65)), "")
    }
}
