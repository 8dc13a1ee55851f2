/// A direct decoder for capture lines as moonwatch writes them: `name` first, keys without escapes.
/// It fills `Event` and `ProcessContext` straight from the bytes and builds `Value`s only for
/// arguments, which is most of replay's parsing time saved. Anything it does not expect (another
/// key order, a wrong type, an unknown name) returns nil, and the caller decodes the line the
/// general way, which also produces the error message.
extension EventJSON {
    public static func decodeFast(_ bytes: UnsafeRawBufferPointer) -> Event? {
        var p = JSONParser(bytes)
        return p.fastEvent()
    }
}

extension JSONParser {
    /// The bytes of a string with no escapes, positioned on its opening quote; nil otherwise.
    @inline(__always)
    mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
        guard i < end, base[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var k = start
        while k < end {
            let c = base[k]
            if c == UInt8(ascii: "\"") {
                i = k + 1
                return UnsafeBufferPointer(start: base + start, count: k - start)
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { return nil }
            k += 1
        }
        return nil
    }

    @inline(__always)
    mutating func expect(_ c: UInt8) -> Bool {
        skipSpace()
        guard i < end, base[i] == c else { return false }
        i += 1
        return true
    }

    /// Reads `"key":`; nil at the end of the object or on anything unexpected.
    @inline(__always)
    mutating func objectKey(first: inout Bool) -> UnsafeBufferPointer<UInt8>? {
        skipSpace()
        guard i < end else { return nil }
        if base[i] == UInt8(ascii: "}") { return nil }
        if !first {
            guard base[i] == UInt8(ascii: ",") else { return nil }
            i += 1
            skipSpace()
        }
        first = false
        guard let k = plainString(), expect(UInt8(ascii: ":")) else { return nil }
        skipSpace()
        return k
    }

    mutating func fastInt() -> Int64? {
        guard let v = try? parseValue() else { return nil }
        if case .int(let n) = v { return n }
        return nil
    }

    mutating func fastString() -> String? {
        skipSpace()
        guard i < end, base[i] == UInt8(ascii: "\"") else { return nil }
        return try? parseString()
    }

    mutating func fastEvent() -> Event? {
        guard expect(UInt8(ascii: "{")) else { return nil }
        var first = true
        guard let k0 = objectKey(first: &first), k0.elementsEqual("name".utf8) else { return nil }
        guard let nameBytes = plainString(),
              let kind = Catalogue.kind(named: String(decoding: nameBytes, as: UTF8.self)) else { return nil }
        let spec = kind.spec
        var e = Event(kind: kind)
        var sawChanged = false
        var seen: UInt16 = 0   // a key given twice goes to the general decoder, which refuses it
        func once(_ bit: UInt16) -> Bool {
            if seen & bit != 0 { return false }
            seen |= bit
            return true
        }
        while let key = objectKey(first: &first) {
            if key.elementsEqual("name".utf8) { return nil }
            if key.elementsEqual("time".utf8) {
                guard once(1) else { return nil }
                guard let n = fastInt(), n >= 0 else { return nil }
                e.time = UInt64(n)
            } else if key.elementsEqual("ret".utf8) {
                guard once(2), let n = fastInt() else { return nil }
                e.ret = n
            } else if key.elementsEqual("process".utf8) {
                guard once(4), fastProcess(&e.process) else { return nil }
            } else if key.elementsEqual("args".utf8) {
                guard once(8), fastArgs(spec, into: &e.args, exit: false) else { return nil }
            } else if key.elementsEqual("exit_args".utf8) {
                guard once(16), fastArgs(spec, into: &e.exitArgs, exit: true) else { return nil }
            } else if key.elementsEqual("changed".utf8) {
                guard once(32), let bits = fastNames(spec) else { return nil }
                e.changed = bits
                sawChanged = true
            } else if key.elementsEqual("late".utf8) {
                guard once(64), let bits = fastNames(spec) else { return nil }
                e.late = bits
            } else if key.elementsEqual("truncated".utf8) {
                guard once(128), let bits = fastNames(spec) else { return nil }
                e.truncated = bits
            } else if key.elementsEqual("via".utf8) {
                guard once(256), let s = fastString(), let via = Event.Via(rawValue: s) else { return nil }
                e.via = via
            } else {
                return nil   // unknown keys are allowed, but the general decoder handles them
            }
        }
        guard expect(UInt8(ascii: "}")) else { return nil }
        skipSpace()
        guard i == end else { return nil }
        if !sawChanged && e.exitArgs.contains(where: { $0 != nil }) { e.computeChanged() }
        return e
    }

    /// A list of argument names, as a bit mask.
    private mutating func fastNames(_ spec: EventSpec) -> UInt64? {
        guard expect(UInt8(ascii: "[")) else { return nil }
        var bits: UInt64 = 0
        var firstItem = true
        while true {
            skipSpace()
            if i < end, base[i] == UInt8(ascii: "]") { i += 1; break }
            if !firstItem { guard expect(UInt8(ascii: ",")) else { return nil }; skipSpace() }
            firstItem = false
            guard let n = plainString(), let idx = argIndex(spec, n) else { return nil }
            bits |= 1 << UInt64(idx)
        }
        return bits
    }

    private func argIndex(_ spec: EventSpec, _ name: UnsafeBufferPointer<UInt8>) -> Int? {
        for (k, a) in spec.args.enumerated() where a.name.utf8.elementsEqual(name) { return k }
        return nil
    }

    private mutating func fastArgs(_ spec: EventSpec, into slots: inout [Value?], exit: Bool) -> Bool {
        guard expect(UInt8(ascii: "{")) else { return false }
        var first = true
        var seen: UInt64 = 0
        while let key = objectKey(first: &first) {
            guard let idx = argIndex(spec, key), seen & (1 << UInt64(idx)) == 0 else { return false }
            seen |= 1 << UInt64(idx)
            let arg = spec.args[idx]
            if exit && !arg.tags.contains(.TOCTOU) { return false }
            guard let v = try? parseValue(), EventJSON.check(v, arg.type) == nil else { return false }
            slots[idx] = v
        }
        return expect(UInt8(ascii: "}"))
    }

    private mutating func fastProcess(_ p: inout ProcessContext) -> Bool {
        guard expect(UInt8(ascii: "{")) else { return false }
        var first = true
        var seen: UInt16 = 0
        func once(_ bit: UInt16) -> Bool {
            if seen & bit != 0 { return false }   // a key given twice: the general decoder refuses the line
            seen |= bit
            return true
        }
        while let key = objectKey(first: &first) {
            switch key.count {
            case 3:
                if key.elementsEqual("pid".utf8) { guard once(1), let n = fastInt(), let v = Int32(exactly: n) else { return false }; p.pid = v }
                else if key.elementsEqual("tid".utf8) { guard once(2), let n = fastInt(), let v = Int32(exactly: n) else { return false }; p.tid = v }
                else if key.elementsEqual("uid".utf8) { guard once(4), let n = fastInt(), let v = UInt32(exactly: n) else { return false }; p.uid = v }
                else if key.elementsEqual("gid".utf8) { guard once(8), let n = fastInt(), let v = UInt32(exactly: n) else { return false }; p.gid = v }
                else if key.elementsEqual("exe".utf8) { guard once(16), let s = fastString() else { return false }; p.exe = s }
                else { return false }
            case 4:
                if key.elementsEqual("ppid".utf8) { guard once(32), let n = fastInt(), let v = Int32(exactly: n) else { return false }; p.ppid = v }
                else if key.elementsEqual("comm".utf8) { guard once(64), let s = fastString() else { return false }; p.comm = s }
                else if key.elementsEqual("bits".utf8) {
                    guard once(128), let n = fastInt(), n == 0 || n == 32 || n == 64 else { return false }
                    p.bits = UInt8(n)
                } else { return false }
            case 5:
                if key.elementsEqual("mntns".utf8) { guard once(256), let n = fastInt(), n >= 0 else { return false }; p.mntns = UInt64(n) }
                else if key.elementsEqual("pidns".utf8) { guard once(512), let n = fastInt(), n >= 0 else { return false }; p.pidns = UInt64(n) }
                else { return false }
            case 6:
                if key.elementsEqual("cgroup".utf8) { guard once(1024), let n = fastInt(), n >= 0 else { return false }; p.cgroup = UInt64(n) }
                else if key.elementsEqual("exe_fs".utf8) { guard once(32768), let s = fastString() else { return false }; p.exeFs = s }
                else if key.elementsEqual("compat".utf8) {
                    guard once(2048), let v = try? parseValue(), case .bool(let b) = v else { return false }
                    p.compat = b
                } else { return false }
            case 7:
                if key.elementsEqual("exe_ino".utf8) { guard once(8192), let n = fastInt(), n >= 0 else { return false }; p.exeIno = UInt64(n) }
                else if key.elementsEqual("exe_dev".utf8) { guard once(16384), let n = fastInt(), n >= 0 else { return false }; p.exeDev = UInt64(n) }
                else { return false }
            case 9:
                guard key.elementsEqual("container".utf8), once(4096), let s = fastString() else { return false }
                p.container = s
            default:
                return false
            }
        }
        return expect(UInt8(ascii: "}"))
    }
}
