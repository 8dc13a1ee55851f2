#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON syntax error with the byte offset (0-based) inside the parsed text.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "\(reason) at byte \(offset + 1)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes, producing `Value`s. An object with a key given
/// twice is an error (RFC 8259 leaves it to the parser; taking the first or the last silently
/// would let two readers of one line disagree).
///
/// Written for captures: one object per line, hundreds of thousands of lines a second, so it
/// works on raw bytes, builds strings without escapes in one step and never goes through
/// Foundation.
public struct JSONParser: ~Copyable {
    public static let maximumDepth = 128

    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let end: Int
    @usableFromInline var i: Int = 0
    var depth = 0

    public init(_ buffer: UnsafeRawBufferPointer) {
        // An empty buffer still needs a valid pointer; reads are bounds-checked against `end`.
        base = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? JSONParser.emptyByte
        end = buffer.count
    }

    nonisolated(unsafe) private static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    /// Parses one complete document; trailing non-space bytes are an error.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> Value {
        var p = JSONParser(bytes)
        let v = try p.parseValue()
        p.skipSpace()
        if p.i != p.end { throw p.error("unexpected text after the JSON value") }
        return v
    }

    public static func parse(_ text: String) throws(JSONError) -> Value {
        var text = text
        let r = text.withUTF8 { buf in
            Result<Value, JSONError> { () throws(JSONError) -> Value in try parse(UnsafeRawBufferPointer(buf)) }
        }
        return try r.get()
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> Value {
        let r = bytes.withUnsafeBytes { buf in
            Result<Value, JSONError> { () throws(JSONError) -> Value in try parse(buf) }
        }
        return try r.get()
    }

    func error(_ reason: String) -> JSONError { JSONError(offset: i, reason: reason) }

    @inline(__always) mutating func skipSpace() {
        while i < end {
            let c = base[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
        }
    }

    public mutating func parseValue() throws(JSONError) -> Value {
        skipSpace()
        guard i < end else { throw error(i == 0 ? "empty input" : "unexpected end of input (truncated?)") }
        switch base[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(printable(base[i]))'")
        }
    }

    private func printable(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= end else { throw error("unexpected end of input (truncated?)") }
        let w = word.utf8Start
        for k in 0..<n where base[i + k] != w[k] { throw error("invalid literal") }
        i += n
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        if depth > JSONParser.maximumDepth { throw error("nesting deeper than \(JSONParser.maximumDepth)") }
    }

    private mutating func parseObject() throws(JSONError) -> Value {
        try enter(); defer { depth -= 1 }
        i += 1
        var fields = Value.Fields(minimumCapacity: 8)
        var keys: Set<String>?   // for large objects only; small ones are scanned
        skipSpace()
        if i < end, base[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
        while true {
            skipSpace()
            guard i < end else { throw error("unexpected end of input inside an object (truncated?)") }
            guard base[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyStart = i
            let key = try parseString()
            // A key given twice would mean one thing to one reader and another to the next: refused.
            let duplicate: Bool
            if fields.count < 16 {
                duplicate = fields.keys.contains(key)
            } else {
                if keys == nil { keys = Set(fields.keys) }
                duplicate = !keys!.insert(key).inserted
            }
            if duplicate { i = keyStart; throw error("duplicate key \"\(key.prefix(40))\"") }
            skipSpace()
            guard i < end else { throw error("unexpected end of input inside an object (truncated?)") }
            guard base[i] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            i += 1
            let v = try parseValue()
            fields.append(key, v)
            skipSpace()
            guard i < end else { throw error("unexpected end of input inside an object (truncated?)") }
            let c = base[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { return .object(fields) }
            i -= 1
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray() throws(JSONError) -> Value {
        try enter(); defer { depth -= 1 }
        i += 1
        var items: [Value] = []
        skipSpace()
        if i < end, base[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            items.append(try parseValue())
            skipSpace()
            guard i < end else { throw error("unexpected end of input inside an array (truncated?)") }
            let c = base[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { return .array(items) }
            i -= 1
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func parseString() throws(JSONError) -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("control character in a string") }
            i += 1
        }
        guard i < end else { throw error("unterminated string (truncated?)") }
        var bytes = [UInt8](UnsafeBufferPointer(start: base + start, count: i - start))
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: bytes, as: UTF8.self)
            }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            i += 1
            guard i < end else { break }
            let e = base[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // High surrogate: a low one must follow.
                    if i + 6 <= end, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw error("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar, to: &bytes)
            default:
                i -= 1
                throw error("invalid escape '\\\(printable(e))'")
            }
        }
        throw error("unterminated string (truncated?)")
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        guard i + 4 <= end else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func appendUTF8(_ s: UInt32, to bytes: inout [UInt8]) {
        switch s {
        case 0..<0x80: bytes.append(UInt8(s))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (s >> 6))); bytes.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (s >> 12))); bytes.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (s & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (s >> 18))); bytes.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((s >> 6) & 0x3F))); bytes.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    private mutating func parseNumber() throws(JSONError) -> Value {
        let start = i
        var negative = false
        if base[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else { throw error("invalid number") }
        if base[i] == UInt8(ascii: "0"), i + 1 < end, base[i + 1] >= UInt8(ascii: "0"), base[i + 1] <= UInt8(ascii: "9") {
            throw error("leading zero in a number")
        }
        var magnitude: UInt64 = 0
        var overflow = false
        while i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(base[i] - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            magnitude = m2
            i += 1
        }
        var isFloat = false
        if i < end, base[i] == UInt8(ascii: ".") {
            isFloat = true; i += 1
            guard i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else { throw error("invalid number") }
            while i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") { i += 1 }
        }
        if i < end, base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E") {
            isFloat = true; i += 1
            if i < end, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else { throw error("invalid number") }
            while i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") { i += 1 }
        }
        if !isFloat && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
                if magnitude == UInt64(Int64.max) + 1 { return .int(Int64.min) }
            } else {
                return Value.unsigned(magnitude)
            }
        }
        // Floats and out-of-range integers: strtod on a NUL-terminated copy.
        let n = i - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { tmp in
            for k in 0..<n { tmp[k] = CChar(bitPattern: base[start + k]) }
            tmp[n] = 0
            return .double(strtod(tmp.baseAddress!, nil))
        }
    }
}

// MARK: - Writing

/// Appends compact JSON to a byte buffer. Used for captures, findings and stats.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }
    public mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    public mutating func int(_ v: Int64) {
        if v >= 0 && v < 10 { bytes.append(UInt8(ascii: "0") + UInt8(v)); return }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        withUnsafeMutableBytes(of: &tmp) { buf in
            var n = 0
            var m = v < 0 ? UInt64(bitPattern: 0 &- v) : UInt64(v)
            if v == Int64.min { m = UInt64(Int64.max) + 1 }
            repeat {
                buf[23 - n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10; n += 1
            } while m > 0
            if v < 0 { buf[23 - n] = UInt8(ascii: "-"); n += 1 }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(24 - n)...]))
        }
    }

    public mutating func uint(_ v: UInt64) {
        if v <= UInt64(Int64.max) { int(Int64(v)) } else { raw(String(v)) }
    }

    public mutating func double(_ d: Double) {
        if !d.isFinite { raw("null"); return }
        if d == d.rounded(), abs(d) < 1e15 { int(Int64(d)); return }
        raw(d.description)
    }

    public mutating func bool(_ b: Bool) { b ? raw("true") : raw("false") }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(bytes: $0) }
    }

    /// JSON string text. Besides what JSON requires, DEL and the C1 controls (U+0080-U+009F) are
    /// escaped too: JSON lines end up on terminals, where those still act.
    public mutating func string(bytes buf: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var k = 0
        while k < buf.count {
            let c = buf[k]
            if c >= 0x20 && c != 0x22 && c != 0x5C && c != 0x7F && c != 0xC2 { k += 1; continue }
            if c == 0xC2 {
                // U+0080-U+009F are C2 80..C2 9F in UTF-8; every other C2 sequence stays as it is.
                guard k + 1 < buf.count, buf[k + 1] >= 0x80, buf[k + 1] <= 0x9F else { k += 1; continue }
                if k > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<k])) }
                raw("\\u00")
                bytes.append(JSONWriter.hex[Int(buf[k + 1] >> 4)]); bytes.append(JSONWriter.hex[Int(buf[k + 1] & 0xF)])
                k += 2
                runStart = k
                continue
            }
            if k > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<k])) }
            k += 1
            runStart = k
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                raw("\\u00")
                bytes.append(JSONWriter.hex[Int(c >> 4)]); bytes.append(JSONWriter.hex[Int(c & 0xF)])
            }
        }
        if buf.count > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes `"key":` (the key is assumed to need no escaping when it is a StaticString).
    @inlinable public mutating func key(_ k: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(k)
        bytes.append(UInt8(ascii: "\"")); bytes.append(UInt8(ascii: ":"))
    }

    public mutating func key(_ k: String) {
        string(k)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func value(_ v: Value) {
        switch v {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .int(let n): int(n)
        case .uint(let n): uint(n)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            for (k, item) in a.enumerated() {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                value(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let f):
            bytes.append(UInt8(ascii: "{"))
            for k in 0..<f.keys.count {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                key(f.keys[k])
                value(f.values[k])
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

extension Value {
    /// Compact JSON text of this value.
    public var jsonText: String {
        var w = JSONWriter()
        w.value(self)
        return w.text
    }
}

// MARK: - Text for terminals and logs

extension String {
    /// The text made safe to print on a terminal or in a line-based log. C0 controls (ESC, CR,
    /// LF and TAB included), DEL, the C1 controls and the bidirectional-override characters become
    /// visible escapes (`\e`, `\n`, `\x7f`, `\u{202e}`) and a backslash becomes `\\`, so what an
    /// unprivileged user puts in a file name, a process name or an argument, or a signature in its
    /// message, can neither drive the terminal nor start a forged log line.
    public var terminalSafe: String {
        if utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) { return self }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for u in unicodeScalars {
            switch u.value {
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x1B: out += "\\e"
            case 0x00..<0x20, 0x7F:
                out += "\\x" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
            case 0x80..<0xA0, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
                out += "\\u{" + String(u.value, radix: 16) + "}"
            default:
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
