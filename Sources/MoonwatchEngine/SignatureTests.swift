#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import MoonwatchOutput
import MoonwatchSignatures

/// Test cases that live beside a signature: `NAME.lua` is tested by `NAME.test.json`, which is
/// written and edited by hand.
///
/// ```json
/// { "cases": [
///     { "name": "fd passed", "events": [ {native event}, ... ],
///       "expect": [ { "id": "MW-1001", "severity": "low", "message": "tester (pid 1) passed ...",
///                     "data": { "fds": [5] } } ] },
///     { "name": "no control message", "events": [ ... ], "expect": [] } ] }
/// ```
/// A case passes when the signature reports exactly as many findings as `expect` lists and each
/// expectation matches a different finding: same id, `data` a subset of the finding's data
/// (objects: listed keys only; lists: same length, element-wise), optional severity, exact
/// `message` or `message_contains` substring. `"count": N` stands for N identical expectations.
/// An item of `events` may be `{"repeat": N, "increment": ["process.pid", "time"], "event": {...}}`:
/// N copies of the event, copy k with k added to each listed integer field (for bounds on state).
/// A value `{"$identity": ["/bin/sh", "ino"]}` (or `"dev"`) is that file's identity on the machine
/// running the tests, so that cases of identity-based allow-lists need no machine-specific numbers;
/// a case naming a file this machine lacks fails and says so.
public struct SignatureTestFile: Sendable {
    public struct Case: Sendable {
        public var name: String
        public var events: [Event]
        public var expect: [Expectation]
    }
    public struct Expectation: Sendable {
        public var id: String?
        public var severity: Severity?
        public var message: String?
        public var messageContains: String?
        public var data: Value?
    }

    public var path: String
    public var cases: [Case]

    public static func testPath(forSignature path: String) -> String {
        (path.hasSuffix(".lua") ? String(path.dropLast(4)) : path) + ".test.json"
    }

    public static func parse(path: String, text: String) throws(SignatureError) -> SignatureTestFile {
        func fail(_ m: String) -> SignatureError { SignatureError(file: path, line: nil, message: m) }
        let root: Value
        do { root = try JSONParser.parse(text) } catch {
            let line = text.utf8.prefix(error.offset).filter { $0 == 0x0A }.count + 1
            throw SignatureError(file: path, line: line, message: "malformed JSON: \(error.reason)")
        }
        guard case .array(let list)? = root["cases"] else { throw fail("expected {\"cases\": [...]}") }
        var cases: [Case] = []
        for (n, c) in list.enumerated() {
            let name = c["name"]?.string ?? "case \(n + 1)"
            guard case .array(let evs)? = c["events"] else { throw fail("case \"\(name)\": \"events\" must be a list of events") }
            var events: [Event] = []
            for (k, item) in evs.enumerated() {
                do {
                    for ev in try expand(try hostIdentities(item)) { events.append(try EventJSON.decode(ev)) }
                } catch let e as SignatureError {
                    throw fail("case \"\(name)\", event \(k + 1): \(e.message)")
                } catch {
                    throw fail("case \"\(name)\", event \(k + 1): \((error as? EventJSON.DecodeError)?.reason ?? "\(error)")")
                }
            }
            guard case .array(let ex)? = c["expect"] else { throw fail("case \"\(name)\": \"expect\" must be a list (empty for a negative case)") }
            var expect: [Expectation] = []
            for e in ex {
                guard case .object = e else { throw fail("case \"\(name)\": each expectation must be an object") }
                var sev: Severity?
                if let s = e["severity"]?.string {
                    guard let v = Severity(rawValue: s) else { throw fail("case \"\(name)\": unknown severity \"\(s)\"") }
                    sev = v
                }
                var count = 1
                if let n = e["count"] {
                    guard let v = n.int64, v >= 1, v <= 1_000_000 else { throw fail("case \"\(name)\": \"count\" must be a positive integer") }
                    count = Int(v)
                }
                let one = Expectation(id: e["id"]?.string, severity: sev, message: e["message"]?.string,
                                      messageContains: e["message_contains"]?.string, data: e["data"])
                expect += Array(repeating: one, count: count)
            }
            cases.append(Case(name: name, events: events, expect: expect))
        }
        return SignatureTestFile(path: path, cases: cases)
    }

    static let maxRepeat = 100_000

    /// Replaces every `{"$identity": [path, "ino" | "dev"]}` with the file's stat(2) value here.
    static func hostIdentities(_ v: Value) throws(SignatureError) -> Value {
        switch v {
        case .object(var f):
            if f.keys == ["$identity"] {
                guard case .array(let a)? = f["$identity"], a.count == 2, let path = a[0].string,
                      let field = a[1].string, field == "ino" || field == "dev" else {
                    throw SignatureError(file: "", line: nil, message: "\"$identity\" takes [path, \"ino\" or \"dev\"]")
                }
                var st = stat()
                guard stat(path, &st) == 0 else {
                    throw SignatureError(file: "", line: nil, message: "\"$identity\": \(path) does not exist on this machine")
                }
                return .unsigned(field == "ino" ? UInt64(st.st_ino) : UInt64(st.st_dev))
            }
            for i in f.values.indices { f.values[i] = try hostIdentities(f.values[i]) }
            return .object(f)
        case .array(let a):
            var out = a
            for i in out.indices { out[i] = try hostIdentities(out[i]) }
            return .array(out)
        default:
            return v
        }
    }

    /// An event, or the copies a `repeat` item stands for.
    static func expand(_ item: Value) throws(SignatureError) -> [Value] {
        func fail(_ m: String) -> SignatureError { SignatureError(file: "", line: nil, message: m) }
        guard let n = item["repeat"] else { return [item] }
        guard let count = n.int64, count >= 1, count <= maxRepeat else { throw fail("\"repeat\" must be 1 to \(maxRepeat)") }
        guard case .object? = item["event"] else { throw fail("\"repeat\" needs an \"event\" object") }
        var paths: [[String]] = []
        for p in item["increment"]?.array ?? [] {
            guard let s = p.string else { throw fail("\"increment\" lists field paths such as \"process.pid\"") }
            paths.append(s.split(separator: ".").map(String.init))
        }
        var out: [Value] = []
        for k in 0..<count {
            var ev = item["event"]!
            for path in paths {
                guard let v = ev.at(path), let base = v.int64 else { throw fail("\"increment\": \(path.joined(separator: ".")) is not an integer field of the event") }
                ev.set(path, .int(base + k))
            }
            out.append(ev)
        }
        return out
    }
}

extension Value {
    fileprivate func at(_ path: [String]) -> Value? {
        path.reduce(Optional(self)) { $0?[$1] }
    }
    fileprivate mutating func set(_ path: [String], _ v: Value) {
        guard let first = path.first, case .object(var f) = self else { return }
        if path.count == 1 { f[first] = v } else {
            var inner = f[first] ?? .object([])
            inner.set(Array(path.dropFirst()), v)
            f[first] = inner
        }
        self = .object(f)
    }
}

public struct SignatureTestResult: Sendable {
    public struct CaseResult: Sendable {
        public var name: String
        public var passed: Bool
        public var detail: String
    }
    public var signatureID: String
    public var signaturePath: String
    public var testPath: String?
    public var cases: [CaseResult]
    public var loadError: String?

    public init(signatureID: String, signaturePath: String, testPath: String?, cases: [CaseResult], loadError: String?) {
        self.signatureID = signatureID; self.signaturePath = signaturePath; self.testPath = testPath
        self.cases = cases; self.loadError = loadError
    }

    public var passed: Bool { loadError == nil && !cases.isEmpty && cases.allSatisfy(\.passed) }
}

public enum SignatureTestRunner {
    /// Runs every case of `tests` against fresh instances of the signature in `source`.
    public static func run(source: SignatureSource, tests: SignatureTestFile?, limits: SandboxLimits = .default) -> SignatureTestResult {
        var result = SignatureTestResult(signatureID: "?", signaturePath: source.path, testPath: tests?.path, cases: [], loadError: nil)
        guard let tests else {
            result.loadError = "no test file (expected \(SignatureTestFile.testPath(forSignature: source.path)))"
            if let sig = try? Signature(source: source, limits: limits) { result.signatureID = sig.info.id }
            return result
        }
        for c in tests.cases {
            switch runCase(c, source: source, limits: limits) {
            case .failure(let loadError):
                result.loadError = loadError.description
                return result
            case .success(let (id, outcome)):
                result.signatureID = id
                result.cases.append(outcome)
            }
        }
        return result
    }

    /// One case against a fresh instance of the signature: (its id, the outcome), or why it did not load.
    static func runCase(_ c: SignatureTestFile.Case, source: SignatureSource,
                        limits: SandboxLimits) -> Result<(String, SignatureTestResult.CaseResult), SignatureError> {
        let sig: Signature
        do { sig = try Signature(source: source, limits: limits) } catch { return .failure(error) }
        // mw.process() reads the engine's own table: each case starts from what it shows alone.
        let sink = CollectingSink()
        var problems: [String] = []
        let engine = Engine(signatures: [sig], sinks: [sink], log: { problems.append($0) })
        do {
            try engine.process(c.events)
            try engine.finish(at: c.events.last?.time ?? 0)
        } catch {
            return .success((sig.info.id, .init(name: c.name, passed: false, detail: "engine error: \(error)")))
        }
        let (ok, detail) = compare(expected: c.expect, actual: sink.findings, problems: problems)
        return .success((sig.info.id, .init(name: c.name, passed: ok, detail: detail)))
    }

    static func compare(expected: [SignatureTestFile.Expectation], actual: [Finding], problems: [String]) -> (Bool, String) {
        if !problems.isEmpty { return (false, "signature failed: " + problems.joined(separator: "; ")) }
        if expected.count != actual.count {
            let got = actual.map { "\($0.signature.id): \($0.message) \($0.data.jsonText)" }.joined(separator: "\n      ")
            return (false, "expected \(expected.count) finding(s), got \(actual.count)" + (got.isEmpty ? "" : ":\n      " + got))
        }
        var unused = Array(actual.indices)
        for (n, e) in expected.enumerated() {
            guard let k = unused.firstIndex(where: { matches(e, actual[$0]) }) else {
                let got = actual.map { "\($0.signature.id) \($0.severity.rawValue): \($0.message) \($0.data.jsonText)" }.joined(separator: "\n      ")
                return (false, "expectation \(n + 1) matched no finding; findings were:\n      " + got)
            }
            unused.remove(at: k)
        }
        return (true, "")
    }

    static func matches(_ e: SignatureTestFile.Expectation, _ f: Finding) -> Bool {
        if let id = e.id, id != f.signature.id { return false }
        if let s = e.severity, s != f.severity { return false }
        if let m = e.message, m != f.message { return false }
        if let m = e.messageContains, !f.message.contains(m) { return false }
        if let d = e.data, !isSubset(d, of: f.data) { return false }
        return true
    }

    /// Expected ⊆ actual: objects by listed keys, lists element-wise with equal length, numbers by value.
    public static func isSubset(_ expected: Value, of actual: Value) -> Bool {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            for (k, v) in e.pairs {
                guard let av = a[k], isSubset(v, of: av) else { return false }
            }
            return true
        case (.array(let e), .array(let a)):
            return e.count == a.count && zip(e, a).allSatisfy { isSubset($0, of: $1) }
        case (.null, .null): return true
        // An empty Lua table has no shape: it serializes as {} and stands for [] as well.
        case (.array(let e), .object(let a)) where e.isEmpty && a.isEmpty: return true
        case (.object(let e), .array(let a)) where e.isEmpty && a.isEmpty: return true
        default:
            if let x = expected.int64, let y = actual.int64, expected.bool == nil, actual.bool == nil { return x == y }
            if case .double(let x) = expected, case .double(let y) = actual { return x == y }
            return expected == actual
        }
    }
}

/// What `signatures test --mutate` found for one signature.
public struct MutationResult: Sendable {
    public var signatureID: String
    public var path: String
    /// Mutants that loaded and were run against the cases.
    public var mutants: Int = 0
    public var killed: Int = 0
    /// Mutants that did not load (not counted in the ratio).
    public var notLoaded: Int = 0
    /// Mutants every case passed on, in source order.
    public var survivors: [Mutant] = []
    /// Why the signature could not be mutation-tested (its own cases fail, or it has none).
    public var error: String?

    public init(signatureID: String, path: String) { self.signatureID = signatureID; self.path = path }
}

public enum MutationRunner {
    /// Runs the signature's cases on each single-point mutant of its code (see `Mutator`). A mutant
    /// is killed by the first case that fails on it. The unmutated signature must pass first.
    public static func run(source: SignatureSource, tests: SignatureTestFile?, limits: SandboxLimits = .default) -> MutationResult {
        let baseline = SignatureTestRunner.run(source: source, tests: tests, limits: limits)
        var result = MutationResult(signatureID: baseline.signatureID, path: source.path)
        guard let tests, baseline.passed else {
            let failing = baseline.cases.filter { !$0.passed }.map { "\"\($0.name)\"" }
            result.error = baseline.loadError
                ?? "its own cases fail (\(failing.joined(separator: ", "))); fix them before mutation testing"
            return result
        }
        for mutant in Mutator.mutants(of: source.text) {
            let mutated = SignatureSource(path: source.path, text: mutant.text)
            var killed = false, loaded = true
            for c in tests.cases {
                switch SignatureTestRunner.runCase(c, source: mutated, limits: limits) {
                case .failure: loaded = false
                case .success(let (_, outcome)): killed = !outcome.passed
                }
                if killed || !loaded { break }
            }
            if !loaded { result.notLoaded += 1; continue }
            result.mutants += 1
            if killed { result.killed += 1 } else { result.survivors.append(mutant) }
        }
        return result
    }
}
