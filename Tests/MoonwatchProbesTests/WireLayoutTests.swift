import CMoonwatchWire
@testable import MoonwatchProbes
import XCTest

/// The Swift view of the structs user space and the BPF programs share through maps (the
/// configuration and the kernel filter user space writes, the counters it reads) against what the BPF side was actually
/// compiled to: the BTF clang wrote into the embedded moonwatch.bpf.o, read here with a small
/// ELF/BTF reader (not libbpf, and not the header's own _Static_asserts). Every member the BPF
/// compiler laid out must sit at the same offset in the host layout Swift imports.
/// The ring-buffer record structs (mw_event_hdr, mw_block, mw_msg, mw_file, ...) are only cast to,
/// so clang emits no BTF for them: their layouts are pinned by the header's _Static_asserts, which
/// both compilers evaluate, and exercised at run time by the live decoding tests.
final class WireLayoutTests: XCTestCase {
    /// Host-side size and member offsets of `T`, by member name.
    static func layout<T>(_ type: T.Type, size: Int = MemoryLayout<T>.size,
                          _ members: KeyValuePairs<String, PartialKeyPath<T>>) -> (size: Int, members: [String: Int?]) {
        (size, Dictionary(uniqueKeysWithValues: members.map { ($0.key, MemoryLayout<T>.offset(of: $0.value)) }))
    }

    /// The member set must equal BTF's, so a field added to the header without a row here fails.
    static let swiftLayout: [String: (size: Int, members: [String: Int?])] = [
        "mw_config": layout(mw_config.self, [
            "version": \.version, "self_tgid": \.self_tgid, "filter": \.filter, "wake_bytes": \.wake_bytes,
            "kind_fork": \.kind_fork, "kind_exit": \.kind_exit, "n_uids": \.n_uids, "uids": \.uids, "n_comms": \.n_comms,
            "pad0": \.pad0, "comms": \.comms, "x64": \.x64, "ia32": \.ia32, "socketcall": \.socketcall]),
        "mw_syscall_cfg": layout(mw_syscall_cfg.self, size: MemoryLayout<mw_syscall_cfg>.stride, [
            "kind": \.kind, "valid": \.valid, "nargs": \.nargs, "flags": \.flags, "type": \.type, "phase": \.phase,
            "aux": \.aux, "read_entry": \.read_entry, "read_exit": \.read_exit, "msg_arg": \.msg_arg, "prog_arg": \.prog_arg,
            "stdio_arg": \.stdio_arg, "sock_arg": \.sock_arg, "pad": \.pad]),
        "mw_stats": layout(mw_stats.self, [
            "drop_ring": \.drop_ring, "drop_storage": \.drop_storage, "faults": \.faults, "lost_exit": \.lost_exit,
            "socketcall": \.socketcall, "pad": \.pad]),
        "mw_kind_stats": layout(mw_kind_stats.self, [
            "seen": \.seen, "filtered": \.filtered, "submitted": \.submitted, "dropped": \.dropped]),
        "mw_live": layout(mw_live.self, ["gen": \.gen, "pad": \.pad, "f": \.f]),
        "mw_filter": layout(mw_filter.self, [
            "ncomms": \.ncomms, "nuids": \.nuids, "comms": \.comms, "uids": \.uids, "kinds": \.kinds, "clauses": \.clauses]),
        "mw_kind_cfg": layout(mw_kind_cfg.self, [
            "mode": \.mode, "nclauses": \.nclauses, "first": \.first, "all": \.all, "slow": \.slow,
            "compat_fail": \.compat_fail, "bits_fail": \.bits_fail, "ctl_entry": \.ctl_entry, "ctl_exit": \.ctl_exit,
            "ctl_rights": \.ctl_rights, "ctl_creds": \.ctl_creds, "ctl_other": \.ctl_other, "succ_need": \.succ_need,
            "succ_ok": \.succ_ok, "chg_need": \.chg_need, "chg_yes": \.chg_yes, "exit_need": \.exit_need, "pad": \.pad]),
        "mw_clause": layout(mw_clause.self, [
            "need": \.need, "want": \.want, "bits": \.bits, "ctl": \.ctl, "nargc": \.nargc, "comm_in": \.comm_in,
            "comm_out": \.comm_out, "uid_in": \.uid_in, "uid_out": \.uid_out, "argc": \.argc]),
        "mw_argcond": layout(mw_argcond.self, [
            "arg": \.arg, "type": \.type, "nvals": \.nvals, "mode": \.mode, "pad": \.pad, "vals": \.vals]),
    ]

    func testEveryWireStructMatchesTheBPFObjectsBTF() throws {
        let btf = try BTFStructs(elf: try Probes.embeddedImage())
        // Every map-shared struct must be described; one missing from BTF would go unchecked.
        XCTAssertEqual(Set(btf.structs.keys).intersection(Self.swiftLayout.keys), Set(Self.swiftLayout.keys),
                       "BTF has \(btf.structs.keys.sorted())")
        var compared = 0
        for (name, swift) in Self.swiftLayout {
            guard let s = btf.structs[name] else { continue }
            XCTAssertEqual(s.size, swift.size, "\(name) size: BPF \(s.size), Swift \(swift.size)")
            XCTAssertEqual(Set(s.members.map(\.name)), Set(swift.members.keys), "\(name) members")
            for m in s.members {
                XCTAssertEqual(swift.members[m.name] ?? nil, m.bitOffset / 8, "\(name).\(m.name) offset")
                XCTAssertEqual(m.bitOffset % 8, 0, "\(name).\(m.name) is a bitfield")
                compared += 1
            }
        }
        XCTAssertEqual(compared, Self.swiftLayout.values.map(\.members.count).reduce(0, +))
    }

    func testTheBTFReaderRejectsWhatIsNotAnObjectWithBTF() {
        XCTAssertThrowsError(try BTFStructs(elf: [0x7f, 0x45, 0x4c, 0x46]))
        XCTAssertThrowsError(try BTFStructs(elf: Array(repeating: 0, count: 128)))
    }
}

/// Struct layouts from the `.BTF` section of an ELF64 little-endian object.
struct BTFStructs {
    struct Member { var name: String; var bitOffset: Int }
    struct Struct { var size: Int; var members: [Member] }
    struct Malformed: Error { var why: String }
    var structs: [String: Struct] = [:]

    init(elf b: [UInt8]) throws {
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= b.count else { throw Malformed(why: "read past the end at \(o)") }
            return Int(b[o]) | Int(b[o + 1]) << 8
        }
        func u32(_ o: Int) throws -> Int { let lo = try u16(o), hi = try u16(o + 2); return lo | hi << 16 }
        func u64(_ o: Int) throws -> Int { let lo = try u32(o), hi = try u32(o + 4); return lo | hi << 32 }
        func cString(_ o: Int) -> String {
            guard o >= 0, o < b.count else { return "" }
            return String(decoding: b[o...].prefix { $0 != 0 }, as: UTF8.self)
        }
        guard b.count >= 64, b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46, b[4] == 2, b[5] == 1 else {
            throw Malformed(why: "not a little-endian ELF64 object")
        }
        let shoff = try u64(0x28), shentsize = try u16(0x3a), shnum = try u16(0x3c), shstrndx = try u16(0x3e)
        guard shentsize == 64, shstrndx < shnum else { throw Malformed(why: "bad section table") }
        let names = try u64(shoff + shstrndx * 64 + 0x18)
        var btfStart: Int?
        for i in 0..<shnum {
            let sh = shoff + i * 64
            if cString(names + (try u32(sh))) == ".BTF" { btfStart = try u64(sh + 0x18) }
        }
        guard let base = btfStart else { throw Malformed(why: "no .BTF section") }
        guard try u16(base) == 0xeb9f else { throw Malformed(why: "bad BTF magic") }
        let hdrLen = try u32(base + 4)
        let typeOff = base + hdrLen + (try u32(base + 8)), typeLen = try u32(base + 12)
        let strOff = base + hdrLen + (try u32(base + 16))
        var p = typeOff
        while p < typeOff + typeLen {
            let nameOff = try u32(p), info = try u32(p + 4), sizeOrType = try u32(p + 8)
            let kind = (info >> 24) & 0x1f, vlen = info & 0xffff, kindFlag = info >> 31
            p += 12
            switch kind {
            case 4, 5:   // struct, union
                var members: [Member] = []
                for k in 0..<vlen {
                    let off = try u32(p + k * 12 + 8)
                    members.append(Member(name: cString(strOff + (try u32(p + k * 12))), bitOffset: kindFlag == 1 ? off & 0xffffff : off))
                }
                if kind == 4 { structs[cString(strOff + nameOff)] = Struct(size: sizeOrType, members: members) }
                p += 12 * vlen
            case 1, 14, 17: p += 4              // int, var, decl tag
            case 3: p += 12                      // array
            case 6, 13: p += 8 * vlen            // enum, func proto
            case 15, 19: p += 12 * vlen          // datasec, enum64
            case 2, 7, 8, 9, 10, 11, 12, 16, 18: break   // ptr, fwd, typedef, qualifiers, func, float, type tag
            default: throw Malformed(why: "unknown BTF kind \(kind)")
            }
        }
        guard !structs.isEmpty else { throw Malformed(why: "no structs in BTF") }
    }
}
