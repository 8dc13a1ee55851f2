#if canImport(Glibc)
import Glibc
#endif
import CMoonwatchWire
import MoonwatchCore

/// Decoders from the raw user-ABI bytes the probes copy to the `Value` shapes of the catalogue
/// (the Lua and JSON view). Keys are shared static arrays so an object costs one allocation.
enum ArgDecode {
    // MARK: keys, in the documented order

    static let inetKeys = ["family", "addr", "port"]
    static let unixKeys = ["family", "path"]
    static let abstractKeys = ["family", "path", "abstract"]
    static let familyKeys = ["family"]
    static let msgKeys = ["name", "iov", "iovlen", "bytes", "controllen", "control", "flags"]
    static let msgRightsKeys = ["name", "iov", "iovlen", "bytes", "controllen", "control", "flags", "rights"]
    static let summaryMsgKeys = ["control", "rights"]
    static let rightsKeys = ["level", "type", "fds", "files"]
    static let rightsNoFilesKeys = ["level", "type", "fds"]
    static let credKeys = ["level", "type", "cred"]
    static let credFieldKeys = ["pid", "uid", "gid"]
    static let otherCmsgKeys = ["level", "type", "len"]
    static let fileKeys = ["fd", "type", "path", "ino", "dev"]
    static let fileNoPathKeys = ["fd", "type", "ino", "dev"]
    static let beyondRightsKeys = ["level", "type", "beyond", "files"]
    static let beyondKeys = ["level", "type", "beyond"]
    static let beyondOtherKeys = ["type", "beyond"]
    static let scannedKeys = ["msg", "scanned"]
    static let mmsgKeys = ["msg", "len"]
    static let timespecKeys = ["sec", "nsec"]

    @inline(__always) static func object(_ keys: [String], _ values: [Value]) -> Value {
        var f = Value.Fields()
        f.keys = keys
        f.values = values
        return .object(f)
    }

    // MARK: sockaddr

    static let AF_UNIX: UInt16 = 1, AF_INET: UInt16 = 2, AF_INET6: UInt16 = 10

    /// `struct sockaddr` of `b.count` bytes (the length the caller or the kernel gave).
    static func sockaddr(_ b: WireBytes) -> Value {
        guard let family = b.u16(0) else { return .null }
        switch family {
        case AF_INET:
            guard let port = b.u16be(2), b.has(4, 4) else { return object(familyKeys, [.string("AF_INET")]) }
            return object(inetKeys, [.string("AF_INET"), .string(ntop(Int32(AF_INET), b, 4, 4)), .int(Int64(port))])
        case AF_INET6:
            guard let port = b.u16be(2), b.has(8, 16) else { return object(familyKeys, [.string("AF_INET6")]) }
            return object(inetKeys, [.string("AF_INET6"), .string(ntop(Int32(AF_INET6), b, 8, 16)), .int(Int64(port))])
        case AF_UNIX:
            let n = b.count - 2
            if n <= 0 { return object(unixKeys, [.string("AF_UNIX"), .string("")]) }
            if b.u8(2) == 0 {
                // Abstract: the name is every byte after the leading NUL, up to the length.
                return object(abstractKeys, [.string("AF_UNIX"), .string("@" + b.string(3, n - 1)), .bool(true)])
            }
            return object(unixKeys, [.string("AF_UNIX"), .string(b.cString(2, max: n))])
        default:
            return object(familyKeys, [.int(Int64(family))])
        }
    }

    private static func ntop(_ af: Int32, _ b: WireBytes, _ o: Int, _ n: Int) -> String {
        var out = [CChar](repeating: 0, count: 64)
        let ok = b.raw.baseAddress.map { base in inet_ntop(af, base + o, &out, 64) != nil } ?? false
        guard ok else { return "" }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: paths and passed descriptors

    /// An encoded path (components leaf first, each one length byte and the name) as "/a/b".
    static func path(_ b: WireBytes) -> String {
        var parts: [(Int, Int)] = []
        var o = 0
        while o < b.count, parts.count < 64 {
            let n = Int(b.raw[o])
            guard b.has(o + 1, n) else { break }
            parts.append((o + 1, n))
            o += 1 + n
        }
        if parts.isEmpty { return "/" }
        var s = ""
        for (start, n) in parts.reversed() {
            s += "/"
            s += b.string(start, n)
        }
        return s
    }

    struct PassedFile {
        var fd: Int32
        var value: Value
    }

    /// The resolved-files region of a struct mw_msg: struct mw_file entries.
    static func files(_ b: WireBytes, count: Int) -> [PassedFile] {
        var out: [PassedFile] = []
        var o = 0
        let fileSize = MemoryLayout<mw_file>.size
        while out.count < count, let fd = b.i32(o), let type = b.u8(o + 4), let status = b.u8(o + 5),
              let plen = b.u16(o + 6), let ino = b.u64(o + 8), let dev = b.u32(o + 16) {
            guard let pb = b.slice(o + fileSize, Int(plen)) else { break }
            let kind: String
            var path: String
            switch UInt32(type) {
            case MW_FILE_REGULAR.rawValue:
                kind = "file"
                path = Self.path(pb)
                if UInt32(status) & UInt32(MW_F_DELETED) != 0 { path += " (deleted)" }
            case MW_FILE_SOCKET.rawValue:
                kind = "socket"; path = "socket:[\(ino)]"
            case MW_FILE_PIPE.rawValue:
                kind = "pipe"; path = plen > 0 ? Self.path(pb) : "pipe:[\(ino)]"
            case MW_FILE_ANON.rawValue:
                kind = "anon_inode"
                let p = Self.path(pb)
                path = "anon_inode:" + (p.hasPrefix("/") ? String(p.dropFirst()) : p)
            default:
                kind = "other"; path = ""
            }
            // The inode identifies the object on both sides of a pass: the sender's fd and the
            // receiver's new fd resolve to the same one (MW-1003 pairs them by it). Without room
            // for the path the record keeps the identity alone (MW_F_NOPATH): no path key.
            let value: Value
            if UInt32(status) & UInt32(MW_F_NOPATH) != 0 && (kind == "file" || kind == "anon_inode") {
                value = object(fileNoPathKeys, [.int(Int64(fd)), .string(kind), .unsigned(ino), .unsigned(userDev(dev))])
            } else if ino != 0 && dev != 0 {
                value = object(fileKeys, [.int(Int64(fd)), .string(kind), .string(path), .unsigned(ino), .unsigned(userDev(dev))])
            } else if ino != 0 {
                value = object(Array(fileKeys.prefix(4)), [.int(Int64(fd)), .string(kind), .string(path), .unsigned(ino)])
            } else {
                value = object(Array(fileKeys.prefix(3)), [.int(Int64(fd)), .string(kind), .string(path)])
            }
            out.append(PassedFile(fd: fd, value: value))
            o += fileSize + round8(Int(plen))
        }
        return out
    }

    // MARK: msghdr

    /// A struct mw_msg at the start of `b`. Returns the value and the bytes it used, or nil when
    /// the blob is malformed; the value is nil when the header itself could not be read.
    static func msghdr(_ b: WireBytes, compat: Bool) -> (value: Value?, size: Int, cut: Bool)? {
        guard let hdrOff = b.u16(0), let hdrLen = b.u16(2), let iovOff = b.u16(4), let iovLen = b.u16(6),
              let nameOff = b.u16(8), let nameLen = b.u16(10), let ctlOff = b.u16(12), let ctlLen = b.u16(14),
              let filesOff = b.u16(16), let filesLen = b.u16(18), let status = b.u8(22), let nfiles = b.u8(23),
              let size32 = b.u32(24), let beyond = b.u8(29), let rights = b.u16(30)
        else { return nil }
        let size = Int(size32)
        guard size >= MemoryLayout<mw_msg>.size, size <= b.count, let blob = b.slice(0, size) else { return nil }
        if hdrLen == 0 { return (nil, size, false) }  // the header could not be read
        let cutBits = UInt8(MW_M_IOV_TRUNC | MW_M_CTL_TRUNC | MW_M_FILES_TRUNC | MW_M_CTL_UNWALKED)
        // Every part must lie inside this blob; an empty part needs no offset.
        func part(_ off: UInt16, _ len: UInt16) -> WireBytes? {
            len == 0 ? WireBytes(UnsafeRawBufferPointer(start: nil, count: 0)) : blob.slice(Int(off), Int(len))
        }
        let hsz = compat ? MemoryLayout<mw_compat_msghdr>.size : MemoryLayout<mw_user_msghdr>.size
        guard let h = part(hdrOff, hdrLen), h.count == hsz, let iovB = part(iovOff, iovLen),
              let nameB = part(nameOff, nameLen), let ctlB = part(ctlOff, ctlLen), let filesB = part(filesOff, filesLen)
        else { return nil }

        // The caller's header, by the user-ABI layouts the probes use (moonwatch_user_abi.h).
        let namePtr, iovlen, controllen: UInt64
        let namelen: Int32
        let flags: UInt32
        if compat {
            let m = h.raw.loadUnaligned(as: mw_compat_msghdr.self)
            namePtr = UInt64(m.msg_name); namelen = m.msg_namelen; iovlen = UInt64(m.msg_iovlen)
            controllen = UInt64(m.msg_controllen); flags = m.msg_flags
        } else {
            let m = h.raw.loadUnaligned(as: mw_user_msghdr.self)
            namePtr = m.msg_name; namelen = m.msg_namelen; iovlen = m.msg_iovlen
            controllen = m.msg_controllen; flags = m.msg_flags
        }

        let name: Value = (namePtr != 0 && namelen > 0 && nameLen > 0) ? sockaddr(nameB) : .null

        var iov: [Value] = []
        var total: UInt64 = 0
        let stride = compat ? MemoryLayout<mw_compat_iovec>.size : MemoryLayout<mw_iovec>.size
        let lenAt = compat ? MemoryLayout<mw_compat_iovec>.offset(of: \mw_compat_iovec.iov_len)!
                           : MemoryLayout<mw_iovec>.offset(of: \mw_iovec.iov_len)!
        let n = Int(iovLen) / stride
        iov.reserveCapacity(n)
        for i in 0..<n {
            let l: UInt64 = compat ? UInt64(iovB.u32(i * stride + lenAt) ?? 0) : (iovB.u64(i * stride + lenAt) ?? 0)
            total &+= l
            iov.append(.unsigned(l))
        }

        let files = nfiles > 0 ? Self.files(filesB, count: Int(nfiles)) : []
        var (control, used, listed) = cmsgs(ctlB, compat: compat, files: files)
        // Past the copied control: what the probe found there, with the descriptors it resolved.
        control += summary(types: beyond, files: files.dropFirst(used).map(\.value))

        let fields: [Value] = [name, .array(iov), .unsigned(iovlen), .unsigned(total), .unsigned(controllen),
                               .array(control), .int(Int64(Int32(bitPattern: flags)))]
        // `rights` counts every descriptor passed when the listed ones are not all of them.
        let v = Int(rights) > listed ? object(msgRightsKeys, fields + [.unsigned(UInt64(rights))]) : object(msgKeys, fields)
        return (v, size, status & cutBits != 0)
    }

    /// Control entries standing for the messages of `types` (MW_CTL_*) found past what was copied.
    static func summary<C: Collection>(types: UInt8, files: C) -> [Value] where C.Element == Value {
        var out: [Value] = []
        if types & UInt8(MW_CTL_RIGHTS) != 0 {
            out.append(object(beyondRightsKeys, [.string("SOL_SOCKET"), .string("SCM_RIGHTS"), .bool(true), .array(Array(files))]))
        }
        if types & UInt8(MW_CTL_CREDENTIALS) != 0 {
            out.append(object(beyondKeys, [.string("SOL_SOCKET"), .string("SCM_CREDENTIALS"), .bool(true)]))
        }
        if types & UInt8(MW_CTL_OTHER) != 0 {
            out.append(object(beyondOtherKeys, [.string("other"), .bool(true)]))
        }
        return out
    }

    /// Control messages, walked with the ABI's header size and alignment.
    /// Returns the entries, the resolved files they took, and the descriptors they list.
    static func cmsgs(_ b: WireBytes, compat: Bool, files: [PassedFile]) -> (entries: [Value], files: Int, fds: Int) {
        if b.count == 0 { return ([], 0, 0) }
        let hsz = compat ? MemoryLayout<mw_compat_cmsghdr>.size : MemoryLayout<mw_cmsghdr>.size
        let levelAt = compat ? MemoryLayout<mw_compat_cmsghdr>.offset(of: \mw_compat_cmsghdr.cmsg_level)!
                             : MemoryLayout<mw_cmsghdr>.offset(of: \mw_cmsghdr.cmsg_level)!
        let typeAt = compat ? MemoryLayout<mw_compat_cmsghdr>.offset(of: \mw_compat_cmsghdr.cmsg_type)!
                            : MemoryLayout<mw_cmsghdr>.offset(of: \mw_cmsghdr.cmsg_type)!
        var out: [Value] = []
        var o = 0, nextFile = 0, listed = 0
        while o + hsz <= b.count, out.count < 64 {
            let len: UInt64 = compat ? UInt64(b.u32(o) ?? 0) : (b.u64(o) ?? 0)
            guard let level = b.i32(o + levelAt), let type = b.i32(o + typeAt) else { break }
            if len < UInt64(hsz) { break }
            let end = len > UInt64(b.count - o) ? b.count : o + Int(len)
            let dataStart = o + hsz
            if level == 1 && type == 1 {
                var fds: [Value] = []
                var fileVals: [Value] = []
                var p = dataStart
                while p + 4 <= end, let fd = b.i32(p) {
                    fds.append(.int(Int64(fd)))
                    if nextFile < files.count, files[nextFile].fd == fd {
                        fileVals.append(files[nextFile].value)
                        nextFile += 1
                    }
                    p += 4
                }
                listed += fds.count
                out.append(fileVals.isEmpty
                    ? object(rightsNoFilesKeys, [.string("SOL_SOCKET"), .string("SCM_RIGHTS"), .array(fds)])
                    : object(rightsKeys, [.string("SOL_SOCKET"), .string("SCM_RIGHTS"), .array(fds), .array(fileVals)]))
            } else if level == 1 && type == 2, end - dataStart >= 12,
                      let pid = b.i32(dataStart), let uid = b.u32(dataStart + 4), let gid = b.u32(dataStart + 8) {
                out.append(object(credKeys, [.string("SOL_SOCKET"), .string("SCM_CREDENTIALS"),
                                             object(credFieldKeys, [.int(Int64(pid)), .int(Int64(uid)), .int(Int64(gid))])]))
            } else {
                out.append(object(otherCmsgKeys, [.int(Int64(level)), .int(Int64(type)), .unsigned(len)]))
            }
            let step = compat ? round4(Int(clamping: len)) : round8(Int(clamping: len))
            if step <= 0 { break }
            o += step
        }
        return (out, nextFile, listed)
    }

    /// struct mw_mmsg and its entries; the entries the probe only scanned become one last entry
    /// {msg = {control = <what was found>, rights = N}, scanned = <entries>}.
    static func mmsghdrs(_ b: WireBytes, compat: Bool) -> (value: Value, cut: Bool)? {
        guard let count = b.u32(0), let status = b.u16(4), let scanTypes = b.u8(7), let scanned = b.u16(8),
              let scanRights = b.u16(10) else { return nil }
        var out: [Value] = []
        var cut = status != 0
        out.reserveCapacity(Int(min(count, 64)))
        var o = MemoryLayout<mw_mmsg>.size
        for _ in 0..<min(count, 1024) {
            guard let len = b.u32(o), b.has(o, 8), let rest = b.slice(o + 8, b.count - o - 8),
                  let (msg, size, msgCut) = msghdr(rest, compat: compat) else { break }
            out.append(object(mmsgKeys, [msg ?? .null, .unsigned(UInt64(len))]))
            cut = cut || msgCut
            o += 8 + size
        }
        if scanned > 0 {
            let msg = object(summaryMsgKeys, [.array(summary(types: scanTypes, files: [Value]())), .unsigned(UInt64(scanRights))])
            out.append(object(scannedKeys, [msg, .unsigned(UInt64(scanned))]))
        }
        return (.array(out), cut)
    }

    // MARK: identities and sockets

    static let programKeys = ["path", "ino", "dev", "fs", "deleted"]
    static let sockKeys = ["ino", "family", "type", "local", "remote", "peer"]
    static let endpointKeys = ["addr", "port"]
    static let stdioKeys = ["fd", "type", "path", "ino", "socket"]

    /// The kernel's dev_t (major << 20 | minor) as stat(2) reports it (new_encode_dev).
    static func userDev(_ k: UInt32) -> UInt64 {
        let major = UInt64(k >> 20), minor = UInt64(k & 0xfffff)
        return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
    }

    /// Filesystem names by superblock magic, for the ones that matter to detections.
    static func fsName(_ magic: UInt32) -> String {
        switch magic {
        case 0x01021994: return "tmpfs"
        case 0x858458f6: return "ramfs"
        case 0x958458f6: return "hugetlbfs"
        case 0x794c7630: return "overlay"
        case 0xEF53: return "ext4"
        case 0x58465342: return "xfs"
        case 0x9123683E: return "btrfs"
        case 0x9fa0: return "proc"
        case 0x62656572: return "sysfs"
        case 0x1373: return "devtmpfs"
        case 0x6969: return "nfs"
        case 0x65735546: return "fuse"
        case 0x73717368: return "squashfs"
        case 0x9660: return "iso9660"
        case 0x2fc12fc1: return "zfs"
        case 0x00c36400: return "ceph"
        case 0x53464846: return "wslfs"
        case 0x24051905: return "ubifs"
        case 0xe0f5e1e2: return "erofs"
        case 0x5346544e: return "ntfs"
        case 0x4d44: return "vfat"
        case 0x2011BAB0: return "exfat"
        case 0x6165676C: return "pstorefs"
        case 0x01161970: return "gfs2"
        case 0xde5e81e4: return "efivarfs"
        case 0x137d: return "ext"
        case 0x42465331: return "befs"
        case 0xabba1974: return "xenfs"
        case 0x65735543: return "fusectl"
        case 0x64626720: return "debugfs"
        case 0x74726163: return "tracefs"
        case 0x27e0eb: return "cgroup"
        case 0x63677270: return "cgroup2"
        case 0x50495045: return "pipefs"
        case 0x534F434B: return "sockfs"
        case 0x09041934: return "anon_inode"
        case 0xcafe4a11: return "bpf"
        case 0x19800202: return "mqueue"
        case 0x1cd1: return "devpts"
        case 0x6e736673: return "nsfs"
        default: return hex8(magic)
        }
    }

    /// struct mw_exe and its path: the file's path and identity.
    static func executable(_ b: WireBytes) -> Executable? {
        let size = MemoryLayout<mw_exe>.size
        guard b.count >= size else { return nil }
        let x = b.raw.loadUnaligned(as: mw_exe.self)
        guard let pb = b.slice(size, Int(x.path_len)) else { return nil }
        var path = Self.path(pb)
        if UInt32(x.status) & UInt32(MW_F_DELETED) != 0 { path += " (deleted)" }
        return Executable(path: path, ino: x.ino, dev: userDev(x.dev), fs: fsName(x.magic))
    }

    static func program(_ b: WireBytes) -> Value? {
        guard let e = executable(b) else { return nil }
        let deleted = b.raw.loadUnaligned(as: mw_exe.self).status & UInt8(MW_F_DELETED) != 0
        return object(programKeys, [.string(e.path), .unsigned(e.ino), .unsigned(e.dev), .string(e.fs), .bool(deleted)])
    }

    static func socket(_ s: mw_sockinfo) -> Value {
        let family: Value
        var local: Value = .null, remote: Value = .null
        func ip(_ af: Int32, _ bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8), _ n: Int) -> String {
            withUnsafeBytes(of: bytes) { raw in
                var out = [CChar](repeating: 0, count: 64)
                guard inet_ntop(af, raw.baseAddress, &out, 64) != nil else { return "" }
                return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        switch s.family {
        case AF_INET: family = .string("AF_INET")
        case AF_INET6: family = .string("AF_INET6")
        case AF_UNIX: family = .string("AF_UNIX")
        default: family = .int(Int64(s.family))
        }
        if s.family == AF_INET || s.family == AF_INET6 {
            let af = Int32(s.family)
            local = object(endpointKeys, [.string(ip(af, s.laddr, 16)), .int(Int64(s.lport))])
            remote = s.rport == 0 ? .null : object(endpointKeys, [.string(ip(af, s.raddr, 16)), .int(Int64(s.rport))])
        }
        return object(sockKeys, [.unsigned(s.ino), family, .int(Int64(s.type)), local, remote,
                                 s.peer_ino == 0 ? .null : .unsigned(s.peer_ino)])
    }

    static func sockinfo(_ b: WireBytes) -> Value? {
        guard b.count >= MemoryLayout<mw_sockinfo>.size else { return nil }
        return socket(b.raw.loadUnaligned(as: mw_sockinfo.self))
    }

    /// Three items: struct mw_file and its path, then struct mw_sockinfo for a socket.
    static func stdio(_ b: WireBytes) -> Value? {
        var out: [Value] = []
        var o = 0
        let fileSize = MemoryLayout<mw_file>.size
        for _ in 0..<3 {
            guard let fb = b.slice(o, b.count - o), let one = files(fb, count: 1).first,
                  let plen = b.u16(o + 6), let type = b.u8(o + 4) else { break }
            o += fileSize + round8(Int(plen))
            var sock: Value = .null
            if UInt32(type) == MW_FILE_SOCKET.rawValue {
                guard b.has(o, MemoryLayout<mw_sockinfo>.size) else { break }
                let s = b.raw.loadUnaligned(fromByteOffset: o, as: mw_sockinfo.self)
                sock = socket(s)
                o += MemoryLayout<mw_sockinfo>.size
            }
            guard case .object(let f) = one.value else { break }
            let exists = UInt32(type) != MW_FILE_NONE.rawValue
            out.append(object(stdioKeys, [.int(Int64(one.fd)), exists ? f["type"] ?? .null : .string("closed"),
                                          f["path"] ?? .null, f["ino"] ?? .null, sock]))
        }
        return .array(out)
    }

    // MARK: small ones

    /// A digest the probe appended to a cut value (MW_S_DIGEST): the payload's last bytes.
    static func digest(_ b: WireBytes) -> (rest: WireBytes, marker: String)? {
        let n = MemoryLayout<mw_digest>.size
        guard b.count >= n, let fnv = b.u64(b.count - n), let len = b.u32(b.count - n + 8),
              let flags = b.u32(b.count - n + 12), let rest = b.slice(0, b.count - n) else { return nil }
        let d = LongValue.Digest(length: UInt64(len), fnv: fnv, partial: flags & UInt32(MW_D_PARTIAL) != 0)
        return (rest, LongValue.marker(d))
    }

    static func argv(_ b: WireBytes) -> Value {
        var out: [Value] = []
        var start = 0
        for i in 0..<b.count where b.raw[i] == 0 {
            out.append(.string(b.string(start, i - start)))
            start = i + 1
        }
        if start < b.count { out.append(.string(b.string(start, b.count - start))) } // cut mid-string
        return .array(out)
    }

    static func timespec(_ b: WireBytes) -> Value? {
        guard let s = b.i64(0), let ns = b.i64(8) else { return nil }
        return object(timespecKeys, [.int(s), .int(ns)])
    }

    static func timespec32(_ b: WireBytes) -> Value? {
        guard let s = b.i32(0), let ns = b.i32(4) else { return nil }
        return object(timespecKeys, [.int(Int64(s)), .int(Int64(ns))])
    }

    static func fdPair(_ b: WireBytes) -> Value? {
        guard let a = b.i32(0), let c = b.i32(4) else { return nil }
        return .array([.int(Int64(a)), .int(Int64(c))])
    }

    static func intRef(_ b: WireBytes) -> Value? {
        guard let v = b.u32(0) else { return nil }
        return .int(Int64(v))
    }
}

/// "0x" and eight hex digits.
func hex8(_ v: UInt32) -> String {
    let h = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - h.count)) + h
}
