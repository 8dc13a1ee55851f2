import MoonwatchCore

/// What a signature lets its users tune without editing it: allow-lists, thresholds, names.
///
/// ```lua
/// params = {
///   tools = mw.set{ "tcpdump", "ping" },   -- a set of strings: params.tools[name] == true
///   ports = { 22, 2222 },                  -- a list of integers
///   threshold = 5,                         -- an integer
/// },
/// ```
/// The type of each parameter is its default's: boolean, integer, number, string, a list of
/// strings, integers or numbers, or a set of strings (`mw.set{...}`). A configuration
/// (`params: {MW-7001: {tools: [...]}}`) or `--param MW-7001.tools=a,b` replaces a default whole;
/// values are checked against the type when the signature loads. The signature reads the values in
/// effect from the global `params` inside `on_event` and `on_finish` (the file has to have returned
/// its table before the defaults exist, so `params` cannot be read at the top of the file).
/// Why values replace rather than extend: what is in effect stays visible in one place
/// (`moonwatch signatures list --params`), and a default can be emptied.
public struct SignatureParams: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case boolean, integer, number, string
        case strings = "list of strings", integers = "list of integers", numbers = "list of numbers"
        case set = "set of strings"
    }

    public struct Declaration: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var defaultValue: Value
    }

    /// Sorted by name.
    public private(set) var declarations: [Declaration] = []

    public init() {}

    public var isEmpty: Bool { declarations.isEmpty }
    public var names: [String] { declarations.map(\.name) }
    public func declaration(_ name: String) -> Declaration? { declarations.first { $0.name == name } }

    /// The declaration in a signature table's `params`; the error names the parameter at fault.
    static func parse(_ v: Value) -> Result<SignatureParams, ParamError> {
        guard case .object(let f) = v else { return .failure(ParamError("'params' must be a table of name = default value")) }
        var out = SignatureParams()
        for (name, value) in f.pairs.sorted(by: { $0.0 < $1.0 }) {
            guard isIdentifier(name) else {
                return .failure(ParamError("params.\(name): a parameter name is a Lua identifier (letters, digits and _)"))
            }
            switch kind(of: value) {
            case .success(let k): out.declarations.append(Declaration(name: name, kind: k, defaultValue: value))
            case .failure(let e): return .failure(ParamError("params.\(name): \(e.message)"))
            }
        }
        return .success(out)
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == 0x5F || (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A else { return false }
        return s.utf8.allSatisfy { $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A) }
    }

    static func kind(of v: Value) -> Result<Kind, ParamError> {
        switch v {
        case .bool: return .success(.boolean)
        case .int: return .success(.integer)
        case .uint, .double: return .success(.number)
        case .string(let s) where s == "<function>":
            // How the sandbox describes a function.
            return .failure(ParamError("a parameter's default is a value, not a function"))
        case .string: return .success(.string)
        case .array(let items) where !items.isEmpty:
            if items.allSatisfy({ $0.string != nil }) { return .success(.strings) }
            if items.allSatisfy({ if case .int = $0 { return true }; return false }) { return .success(.integers) }
            if items.allSatisfy({ switch $0 { case .int, .uint, .double: true; default: false } }) { return .success(.numbers) }
            return .failure(ParamError("a list default must hold only strings, only integers or only numbers"))
        case .object(let f) where !f.isEmpty:
            if f.values.allSatisfy({ $0 == .bool(true) }) { return .success(.set) }
            return .failure(ParamError("a table default is a list ({ \"a\", \"b\" }) or a set (mw.set{ \"a\", \"b\" }), not a map"))
        case .array, .object:
            return .failure(ParamError("an empty table has no type: give at least one default value (a list, or mw.set{...} for a set)"))
        case .null:
            return .failure(ParamError("a parameter needs a default value"))
        }
    }

    /// The values in effect: the defaults with `overrides` (by parameter name) applied, as the
    /// table the signature sees. Throws for an unknown name or a value of the wrong type.
    public func values(with overrides: [String: ParamOverride], signatureID id: String) throws(ParamError) -> Value {
        for (name, o) in overrides.sorted(by: { $0.key < $1.key }) where declaration(name) == nil {
            let known = names.isEmpty ? "it declares no parameters" : "it has " + names.joined(separator: ", ")
            throw ParamError(at: o.origin, "\(id) has no parameter '\(name)'" + SignatureParams.suggestion(name, in: names) + " (\(known))")
        }
        var f = Value.Fields(minimumCapacity: declarations.count)
        for d in declarations {
            if let o = overrides[d.name] {
                f.append(d.name, try SignatureParams.convert(o, to: d.kind, name: "\(id).\(d.name)"))
            } else {
                f.append(d.name, d.defaultValue)
            }
        }
        return .object(f)
    }

    /// A value from a configuration file or the command line, typed by the declaration.
    static func convert(_ o: ParamOverride, to kind: Kind, name: String) throws(ParamError) -> Value {
        func fail(_ why: String) -> ParamError { ParamError(at: o.origin, "\(name): \(why) (the parameter is a \(kind.rawValue))") }
        func items() -> [String] {
            switch o.raw {
            case .list(let l): return l
            case .scalar(let s):
                // --param ID.tools=a,b: a comma-separated scalar is a list; an empty one is an empty list.
                return s.trimmingSpaces.isEmpty ? [] : s.split(separator: ",").map { String($0).trimmingSpaces }
            }
        }
        func scalar() throws(ParamError) -> String {
            guard case .scalar(let s) = o.raw else { throw fail("expected one value, got a list") }
            return s.trimmingSpaces
        }
        switch kind {
        case .boolean:
            switch try scalar().lowercased() {
            case "true", "yes", "on", "1": return .bool(true)
            case "false", "no", "off", "0": return .bool(false)
            case let s: throw fail("\"\(s)\" is not true or false")
            }
        case .integer:
            let s = try scalar()
            guard let n = Int64(s) else { throw fail("\"\(s)\" is not an integer") }
            return .int(n)
        case .number:
            let s = try scalar()
            guard let d = Double(s), d.isFinite else { throw fail("\"\(s)\" is not a number") }
            return .double(d)
        case .string:
            return .string(try scalar())
        case .strings:
            return .array(items().map { .string($0) })
        case .set:
            var f = Value.Fields()
            for s in items() where f[s] == nil { f.append(s, .bool(true)) }
            return .object(f)
        case .integers:
            var out: [Value] = []
            for s in items() {
                guard let n = Int64(s) else { throw fail("\"\(s)\" is not an integer") }
                out.append(.int(n))
            }
            return .array(out)
        case .numbers:
            var out: [Value] = []
            for s in items() {
                guard let d = Double(s), d.isFinite else { throw fail("\"\(s)\" is not a number") }
                out.append(.double(d))
            }
            return .array(out)
        }
    }

    static func suggestion(_ name: String, in candidates: [String]) -> String {
        let close = candidates.map { ($0, Catalogue.editDistance(name, $0)) }.filter { $0.1 <= 2 }.sorted { $0.1 < $1.1 }
        return close.first.map { "; did you mean '\($0.0)'?" } ?? ""
    }

    /// A value as a user writes it (lists comma-separated; sets as their members, sorted).
    public static func text(_ v: Value) -> String {
        switch v {
        case .array(let items): return items.map { text($0) }.joined(separator: ",")
        case .object(let f): return f.keys.sorted().joined(separator: ",")
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .uint(let n): return String(n)
        case .double(let d): return String(d)
        case .null: return ""
        }
    }
}

/// A parameter value given from outside a signature (a configuration file, `--param`, `--set`),
/// not yet typed, and where it was given.
public struct ParamOverride: Sendable, Equatable {
    public enum Raw: Sendable, Equatable {
        case scalar(String)
        case list([String])
    }
    public var raw: Raw
    /// "moonwatch.yaml:12", "--param", ...
    public var origin: String
    public init(_ raw: Raw, origin: String) { self.raw = raw; self.origin = origin }
}

/// Parameter overrides of every signature: id -> parameter name -> value.
public typealias ParamOverrides = [String: [String: ParamOverride]]

public struct ParamError: Error, Sendable, CustomStringConvertible, Equatable {
    public var origin: String?
    public var message: String
    init(_ message: String) { self.message = message }
    init(at origin: String, _ message: String) { self.origin = origin; self.message = message }
    public var description: String { (origin.map { "\($0): " } ?? "") + message }
}
