/// Values the probes cut to their limits (a path past 511 bytes, an argument vector past its
/// entries or bytes) carry a digest of the whole value, so that two reads compare past the cut:
/// a string ends with the marker, a vector gets it as a last element. The marker starts with a NUL,
/// which no string read from memory can contain, so a value cannot forge one.
public enum LongValue {
    /// FNV-1a 64, the function the probes compute (bpf/lib/digest.h).
    public static func fnv1a<S: Sequence>(_ bytes: S, _ start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where S.Element == UInt8 {
        var h = start
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    public struct Digest: Equatable, Sendable {
        public var length: UInt64
        public var fnv: UInt64
        /// Only a prefix was hashed (longer than the probe's digest limit, or a read failed).
        public var partial: Bool
        public init(length: UInt64, fnv: UInt64, partial: Bool) {
            self.length = length; self.fnv = fnv; self.partial = partial
        }
    }

    /// "\0[len=N fnv1a=HEX]" (partial: "len>=N").
    public static func marker(_ d: Digest) -> String {
        let hex = String(d.fnv, radix: 16)
        return "\u{0}[len\(d.partial ? ">=" : "=")\(d.length) fnv1a=\(String(repeating: "0", count: 16 - hex.count))\(hex)]"
    }

    /// The digest a cut string or vector element ends with, and the text before it.
    public static func split(_ s: String) -> (prefix: Substring, digest: Digest)? {
        guard let nul = s.firstIndex(of: "\u{0}") else { return nil }
        let tail = s[s.index(after: nul)...]
        guard tail.hasPrefix("[len"), tail.hasSuffix("]") else { return nil }
        let body = tail.dropFirst(4).dropLast()
        let partial = body.hasPrefix(">=")
        let rest = body.dropFirst(partial ? 2 : 1)
        let parts = rest.split(separator: " ")
        guard parts.count == 2, let n = UInt64(parts[0]), parts[1].hasPrefix("fnv1a="),
              let h = UInt64(parts[1].dropFirst(6), radix: 16) else { return nil }
        return (s[..<nul], Digest(length: n, fnv: h, partial: partial))
    }

    /// The digest of a string argument: its own marker when it was cut, else computed.
    public static func digest(string s: String) -> Digest {
        if let (_, d) = split(s) { return d }
        let u = Array(s.utf8)
        return Digest(length: UInt64(u.count), fnv: fnv1a(u), partial: false)
    }

    /// The digest of an argument vector (its strings, each with a NUL): the marker element of a cut
    /// vector, else computed.
    public static func digest(vector v: [Value]) -> Digest {
        if case .string(let last)? = v.last, last.first == "\u{0}", let (_, d) = split(last) { return d }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var n: UInt64 = 0
        for case .string(let s) in v {
            h = fnv1a(s.utf8, h)
            h = fnv1a(CollectionOfOne(0), h)
            n += UInt64(s.utf8.count) + 1
        }
        return Digest(length: n, fnv: h, partial: false)
    }

    /// Whether two reads of a string or vector argument are the same input: equal values, or, when
    /// either was cut, equal digests of the whole. Two partial digests compare their common prefix.
    public static func same(_ a: Value, _ b: Value) -> Bool {
        if a == b { return true }
        let da: Digest, db: Digest
        switch (a, b) {
        case (.string(let x), .string(let y)):
            guard split(x) != nil || split(y) != nil else { return false }
            da = digest(string: x); db = digest(string: y)
        case (.array(let x), .array(let y)):
            func cut(_ v: [Value]) -> Bool { if case .string(let s)? = v.last { return s.first == "\u{0}" }; return false }
            guard cut(x) || cut(y) else { return false }
            da = digest(vector: x); db = digest(vector: y)
        default:
            return false
        }
        if da.partial || db.partial { return da.partial && db.partial && da.fnv == db.fnv && da.length == db.length }
        return da == db
    }
}
