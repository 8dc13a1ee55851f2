/// Bounds-checked little-endian reads over one ring-buffer record. Every accessor returns nil
/// instead of reading outside the record, so a malformed size or offset from the wire costs a
/// skipped record, never a crash.
struct WireBytes {
    let raw: UnsafeRawBufferPointer

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    var count: Int { raw.count }

    @inline(__always) func has(_ offset: Int, _ n: Int) -> Bool {
        offset >= 0 && n >= 0 && offset <= raw.count &- n
    }

    @inline(__always) func u8(_ o: Int) -> UInt8? { has(o, 1) ? raw[o] : nil }
    @inline(__always) func u16(_ o: Int) -> UInt16? {
        has(o, 2) ? UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)) : nil
    }
    @inline(__always) func u16be(_ o: Int) -> UInt16? {
        has(o, 2) ? UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)) : nil
    }
    @inline(__always) func u32(_ o: Int) -> UInt32? {
        has(o, 4) ? UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)) : nil
    }
    @inline(__always) func i32(_ o: Int) -> Int32? { u32(o).map { Int32(bitPattern: $0) } }
    @inline(__always) func u64(_ o: Int) -> UInt64? {
        has(o, 8) ? UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)) : nil
    }
    @inline(__always) func i64(_ o: Int) -> Int64? { u64(o).map { Int64(bitPattern: $0) } }

    /// A sub-range, or nil when it does not fit.
    func slice(_ o: Int, _ n: Int) -> WireBytes? {
        has(o, n) ? WireBytes(UnsafeRawBufferPointer(rebasing: raw[o..<(o + n)])) : nil
    }

    /// Bytes up to the first NUL (or the end), as UTF-8 with replacement of invalid sequences.
    func cString(_ o: Int = 0, max n: Int? = nil) -> String {
        guard o >= 0, o <= raw.count else { return "" }
        let end = n.map { Swift.min(raw.count, o + Swift.max(0, $0)) } ?? raw.count
        var i = o
        while i < end && raw[i] != 0 { i += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[o..<i]), as: UTF8.self)
    }

    /// Bytes [o, o+n) as UTF-8, NULs included (abstract socket names may contain them).
    func string(_ o: Int, _ n: Int) -> String {
        guard has(o, n) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[o..<(o + n)]), as: UTF8.self)
    }
}

@inline(__always) func round8(_ n: Int) -> Int { (n &+ 7) & ~7 }
@inline(__always) func round4(_ n: Int) -> Int { (n &+ 3) & ~3 }
