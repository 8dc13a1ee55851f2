/// A decoded value: an event argument, a finding's data, or a JSON document.
///
/// Objects keep their keys in order (captures and findings print in catalogue order) and are
/// small, so lookups are linear scans rather than hashing.
public enum Value: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    /// Only for unsigned values above `Int64.max` (kernel addresses, some ids).
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([Value])
    case object(Fields)

    /// Ordered key/value pairs.
    public struct Fields: Sendable, Equatable {
        public var keys: [String]
        public var values: [Value]

        public init() { keys = []; values = [] }
        public init(_ pairs: [(String, Value)]) {
            keys = pairs.map(\.0)
            values = pairs.map(\.1)
        }
        public init(minimumCapacity n: Int) {
            keys = []; values = []
            keys.reserveCapacity(n); values.reserveCapacity(n)
        }

        public var count: Int { keys.count }
        public var isEmpty: Bool { keys.isEmpty }

        public subscript(key: String) -> Value? {
            get {
                for i in keys.indices where keys[i] == key { return values[i] }
                return nil
            }
            set {
                if let i = keys.firstIndex(of: key) {
                    if let newValue { values[i] = newValue } else { keys.remove(at: i); values.remove(at: i) }
                } else if let newValue {
                    keys.append(key); values.append(newValue)
                }
            }
        }

        public mutating func append(_ key: String, _ value: Value) {
            keys.append(key); values.append(value)
        }

        public var pairs: Zip2Sequence<[String], [Value]> { zip(keys, values) }
    }

    public static func object(_ pairs: [(String, Value)]) -> Value { .object(Fields(pairs)) }

    // MARK: Accessors

    public subscript(key: String) -> Value? {
        if case .object(let f) = self { return f[key] }
        return nil
    }

    public var int64: Int64? {
        switch self {
        case .int(let v): return v
        case .uint(let v): return v <= UInt64(Int64.max) ? Int64(v) : nil
        case .double(let d): return d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    public var uint64: UInt64? {
        switch self {
        case .int(let v): return v >= 0 ? UInt64(v) : nil
        case .uint(let v): return v
        case .double(let d): return d >= 0 && d.rounded() == d && d < 1.8e19 ? UInt64(d) : nil
        default: return nil
        }
    }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [Value]? { if case .array(let a) = self { return a }; return nil }
    public var fields: Fields? { if case .object(let f) = self { return f }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// Builds an integer value, keeping unsigned values that do not fit `Int64` exact.
    @inlinable public static func unsigned(_ v: UInt64) -> Value {
        v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v)
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
                 ExpressibleByArrayLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
}
