#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore

/// A problem with a signature file, located as precisely as the file allows.
public struct SignatureError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var message: String
    public init(file: String, line: Int?, message: String) { self.file = file; self.line = line; self.message = message }
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// A signature's source text and where it came from.
public struct SignatureSource: Sendable {
    public var path: String
    public var text: String
    /// Compiled into the binary (a user file with the same id replaces it).
    public var bundled: Bool
    public init(path: String, text: String, bundled: Bool = false) { self.path = path; self.text = text; self.bundled = bundled }
}

/// Metadata a signature file declares, validated.
public struct SignatureMetadata: Sendable {
    public var info: SignatureInfo
    public var events: [EventKind]
    public var hasFinish: Bool
    public var filter: SignatureFilter
    /// The parameters it declares, with their defaults.
    public var params: SignatureParams
    /// Keys the table has that the contract does not know (lint warns about them).
    public var unknownKeys: [String]
}

public enum SignatureLoader {
    static let knownKeys: Set<String> = ["id", "version", "name", "description", "severity", "tags", "mitre", "events",
                                         "on_event", "on_finish", "filter", "params"]

    /// The shared helper library every sandbox gets as global `mw` (compiled in, never read from a path).
    public static let helperLibrary: SignatureSource? = Bundled.file("lib/mw.lua").map { SignatureSource(path: "signatures/lib/mw.lua", text: $0) }

    /// Creates a sandbox, installs the helper library and runs the file.
    public static func compile(_ source: SignatureSource, limits: SandboxLimits) throws(SignatureError) -> (LuaSandbox, SignatureMetadata) {
        guard let sandbox = LuaSandbox(limits: limits) else {
            throw SignatureError(file: source.path, line: nil, message: "cannot create a Lua state (out of memory)")
        }
        if let lib = helperLibrary {
            if let failure = sandbox.installLibrary(named: "mw", source: lib.text, path: lib.path) {
                throw SignatureError(file: lib.path, line: nil, message: "helper library failed (\(failure.rawValue)): \(sandbox.lastError)")
            }
        }
        if let failure = sandbox.load(source: source.text, path: source.path) {
            throw luaError(sandbox.lastError, source: source, kind: failure)
        }
        let meta = try validate(sandbox: sandbox, source: source)
        return (sandbox, meta)
    }

    /// Turns "path:12: message" from Lua into a located error.
    static func luaError(_ message: String, source: SignatureSource, kind: SandboxFailure) -> SignatureError {
        let prefix = source.path + ":"
        if message.hasPrefix(prefix) {
            let rest = message.dropFirst(prefix.count)
            if let colon = rest.firstIndex(of: ":"), let line = Int(rest[..<colon]) {
                let text = rest[rest.index(after: colon)...].drop { $0 == " " }
                return SignatureError(file: source.path, line: line, message: (kind == .syntax ? "syntax error: " : "") + text)
            }
        }
        if message.hasPrefix(prefix) {
            return SignatureError(file: source.path, line: nil, message: String(message.dropFirst(prefix.count)).trimmingSpaces)
        }
        return SignatureError(file: source.path, line: nil, message: message)
    }

    static func validate(sandbox: LuaSandbox, source: SignatureSource) throws(SignatureError) -> SignatureMetadata {
        guard let table = sandbox.describe(), case .object(let f) = table else {
            throw SignatureError(file: source.path, line: nil, message: "the file must return a table describing the signature")
        }
        let locate = SourceLocator(source.text)
        func fail(_ key: String?, _ message: String, near literal: String? = nil) -> SignatureError {
            let line = literal.flatMap { locate.line(ofLiteral: $0) } ?? key.flatMap { locate.line(ofKey: $0) } ?? locate.returnLine
            return SignatureError(file: source.path, line: line, message: message)
        }
        func requiredString(_ key: String) throws(SignatureError) -> String {
            guard let v = f[key] else { throw fail(nil, "missing required field '\(key)'") }
            guard case .string(let s) = v, !s.trimmingSpaces.isEmpty else { throw fail(key, "'\(key)' must be a non-empty string") }
            return s
        }
        let id = try requiredString("id")
        if id.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) { throw fail("id", "'id' must not contain spaces") }
        let version = try requiredString("version")
        if !isVersion(version) { throw fail("version", "'version' must look like 1.2.3 (got \"\(version)\")") }
        let name = try requiredString("name")
        let description = try requiredString("description")
        let sevText = try requiredString("severity")
        guard let severity = Severity(rawValue: sevText) else {
            throw fail("severity", "severity \"\(sevText)\" is not one of info, low, medium, high, critical")
        }
        var tags: [String] = []
        // An empty Lua table reads as an empty object: no tags.
        if let t = f["tags"], t != .object(Value.Fields()) {
            guard case .array(let items) = t else { throw fail("tags", "'tags' must be a list of strings") }
            for item in items {
                guard case .string(let s) = item else { throw fail("tags", "'tags' must be a list of strings") }
                tags.append(s)
            }
        }
        var mitre: Mitre?
        if let m = f["mitre"] {
            guard case .object(let mf) = m, case .string(let tactic)? = mf["tactic"], case .string(let technique)? = mf["technique"] else {
                throw fail("mitre", "'mitre' must be a table { tactic = \"...\", technique = \"T....\" }")
            }
            if !technique.hasPrefix("T") { throw fail("mitre", "mitre.technique must be an ATT&CK id like T1055 (got \"\(technique)\")") }
            mitre = Mitre(tactic: tactic, technique: technique)
        }
        guard let ev = f["events"] else { throw fail(nil, "missing required field 'events' (the catalogue events this signature selects)") }
        guard case .array(let names) = ev, !names.isEmpty else { throw fail("events", "'events' must be a non-empty list of event names") }
        var kinds: [EventKind] = []
        for n in names {
            guard case .string(let s) = n else { throw fail("events", "'events' must list event names as strings") }
            guard let k = Catalogue.kind(named: s) else {
                let hint = Catalogue.suggestions(for: s)
                throw fail("events", "unknown event \"\(s)\" in 'events'" + (hint.isEmpty ? "" : " (did you mean \(hint.joined(separator: ", "))?)")
                           + "; `moonwatch events list` shows the catalogue", near: "\"\(s)\"")
            }
            if !kinds.contains(k) { kinds.append(k) }
        }
        guard sandbox.hasFunction("on_event") else {
            throw fail(f["on_event"] == nil ? nil : "on_event", "'on_event' must be a function(event, state)")
        }
        if f["on_finish"] != nil && !sandbox.hasFunction("on_finish") {
            throw fail("on_finish", "'on_finish' must be a function(state)")
        }
        var filter = SignatureFilter()
        if let fv = f["filter"] {
            switch SignatureFilter.parse(fv, events: kinds) {
            case .success(let parsed): filter = parsed
            case .failure(let e): throw fail("filter", e.description)
            }
        }
        var params = SignatureParams()
        if let pv = f["params"] {
            switch SignatureParams.parse(pv) {
            case .success(let parsed): params = parsed
            case .failure(let e): throw fail("params", e.message)
            }
        }
        let unknown = f.keys.filter { !knownKeys.contains($0) }
        let info = SignatureInfo(id: id, name: name, version: version, severity: severity, tags: tags, mitre: mitre,
                                 description: description)
        return SignatureMetadata(info: info, events: kinds, hasFinish: sandbox.hasFunction("on_finish"), filter: filter,
                                 params: params, unknownKeys: unknown)
    }

    static func isVersion(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return (1...3).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    // MARK: Finding sources on disk

    /// Expands files and folders into signature sources. Folders are searched recursively for
    /// `*.lua`, skipping `lib/`, `types/` and `*.d.lua` (helpers and type stubs, not signatures).
    public static func sources(at paths: [String]) throws(SignatureError) -> [SignatureSource] {
        var out: [SignatureSource] = []
        for path in paths {
            var st = stat()
            guard stat(path, &st) == 0 else {
                throw SignatureError(file: path, line: nil, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for file in FileSystem.files(under: path) where isSignatureFile(file, under: path) {
                    out.append(try read(file))
                }
            } else {
                out.append(try read(path))
            }
        }
        return out
    }

    static func isSignatureFile(_ file: String, under root: String) -> Bool {
        guard file.hasSuffix(".lua"), !file.hasSuffix(".d.lua") else { return false }
        let rel = file.hasPrefix(root) ? String(file.dropFirst(root.count)) : file
        let parts = rel.split(separator: "/")
        return !parts.dropLast().contains { $0 == "lib" || $0 == "types" }
    }

    static func read(_ path: String) throws(SignatureError) -> SignatureSource {
        do { return SignatureSource(path: path, text: try FileSystem.readText(path)) } catch {
            throw SignatureError(file: path, line: nil, message: "\(error)")
        }
    }

    /// The signatures compiled into the binary.
    public static var bundledSources: [SignatureSource] {
        Bundled.files.filter { isSignatureFile($0.path, under: "") }.map {
            SignatureSource(path: "signatures/" + $0.path, text: $0.text, bundled: true)
        }
    }
}

/// Finds the line a metadata key or literal is written on, for file:line messages.
struct SourceLocator {
    let lines: [Substring]
    init(_ text: String) { lines = text.split(separator: "\n", omittingEmptySubsequences: false) }

    /// First line with `key =` (not `==`), the key standing alone (not the end of a longer name).
    func line(ofKey key: String) -> Int? {
        let k = Array(key.utf8)
        func isIdent(_ c: UInt8) -> Bool { c == 0x5F || (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) }
        for (n, l) in lines.enumerated() {
            let b = Array(l.utf8)
            var i = 0
            while i + k.count <= b.count {
                if b[i..<(i + k.count)].elementsEqual(k), i == 0 || !isIdent(b[i - 1]) {
                    var j = i + k.count
                    while j < b.count, b[j] == 0x20 || b[j] == 0x09 { j += 1 }
                    if j < b.count, b[j] == 0x3D, j + 1 >= b.count || b[j + 1] != 0x3D { return n + 1 }
                }
                i += 1
            }
        }
        return nil
    }

    func line(ofLiteral literal: String) -> Int? {
        lines.firstIndex { $0.contains(literal) }.map { $0 + 1 }
    }

    /// The last top-level `return`, where the signature table starts.
    var returnLine: Int? {
        lines.lastIndex { $0.hasPrefix("return") }.map { $0 + 1 }
    }
}

extension Signature {
    /// Loads every source, failing on the first invalid file or duplicate id (located file:line).
    public static func loadAll(_ sources: [SignatureSource], limits: SandboxLimits = .default,
                               params: ParamOverrides = [:]) throws(SignatureError) -> [Signature] {
        var sigs: [Signature] = []
        var seen: [String: String] = [:]
        for source in sources {
            let sig = try Signature(source: source, limits: limits, params: params)
            if let other = seen[sig.info.id] { throw Signature.duplicateID(sig.info.id, in: source, alsoIn: other) }
            seen[sig.info.id] = source.path
            sigs.append(sig)
        }
        return sigs
    }
}
