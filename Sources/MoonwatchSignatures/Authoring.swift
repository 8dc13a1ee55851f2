import MoonwatchCore

/// Scaffolding and static checks for signature authors (`moonwatch signatures new|lint`).
public enum Authoring {
    /// A new signature file selecting `events`, with comments that walk through the contract.
    public static func template(id: String, name: String, file: String, events: [String]) -> String {
        let list = events.map { "\"\($0)\"" }.joined(separator: ", ")
        let first = events.first ?? "sendmsg"
        let argsHint = Catalogue.spec(named: first).map { $0.args.map(\.name).joined(separator: ", ") } ?? ""
        return """
            -- \(name)
            -- Test it:   moonwatch signatures test \(file)
            -- Check it:  moonwatch signatures lint \(file)
            -- Run it:    moonwatch run --signatures \(file)   (or: moonwatch replay CAPTURE --signatures \(file))

            -- The annotation lets lua-language-server type `event` inside on_event (signatures/types).
            ---@type mw.Signature
            return {
              id = "\(id)",
              version = "0.1.0",
              name = "\(name)",
              description = [[
            \(placeholderDescription)]],
              severity = "medium",          -- info | low | medium | high | critical
              tags = { "custom" },
              -- mitre = { tactic = "defense-evasion", technique = "T1562" },
              events = { \(list) },   -- `moonwatch events list`; only these reach on_event
              -- Checked natively before Lua runs (cheap); remove what you do not need.
              filter = { success = true },
              -- Values users may change without editing this file (--param \(id).allowed=a,b, or
              -- params: {\(id): {allowed: [a, b]}} in the configuration). Read them from `params`.
              params = {
                allowed = mw.set{ "systemd" },   -- a set of strings: params.allowed[name] == true
              },

              -- event.name, event.time (ns), event.ret, event.process {pid tid ppid uid gid comm exe
              -- container cgroup mntns pidns compat bits}, event.args (by name; \(first): \(argsHint)),
              -- event.exit_args and event.changed (TOCTOU re-reads). `state` persists between calls.
              -- Do not keep `event` itself: copy the fields you need into `state`.
              on_event = function(event, state)
                if params.allowed[event.process.comm] then return end
                report{
                  message = string.format("%s did %s", mw.who(event), event.name),
                  data = { pid = event.process.pid, comm = event.process.comm },
                }
              end,
            }

            """
    }

    /// The description a scaffold starts with; lint warns while it is still there.
    public static let placeholderDescription = """
        What this detects and why it matters. Known false positives: which legitimate programs
        do the same. Tuning: how to allow-list them.
        """

    /// A test file with one positive and one negative case to edit.
    public static func testTemplate(id: String, events: [String]) -> String {
        let name = events.first ?? "sendmsg"
        return """
            {
              "cases": [
                {
                  "name": "fires on a successful \(name)",
                  "events": [
                    {"name": "\(name)", "ret": 0, "process": {"pid": 100, "comm": "suspect", "uid": 1000}, "args": {}}
                  ],
                  "expect": [ {"id": "\(id)", "data": {"comm": "suspect"}} ]
                },
                {
                  "name": "stays silent when the call failed",
                  "events": [
                    {"name": "\(name)", "ret": -1, "process": {"pid": 100, "comm": "suspect", "uid": 1000}, "args": {}}
                  ],
                  "expect": []
                }
              ]
            }

            """
    }

    /// A lint message. Errors make `lint` exit non-zero; warnings do not.
    public struct Problem: Sendable, CustomStringConvertible, Equatable {
        public enum Level: String, Sendable { case error, warning }
        public var level: Level
        public var file: String
        public var line: Int?
        public var message: String
        public init(level: Level, file: String, line: Int?, message: String) {
            self.level = level; self.file = file; self.line = line; self.message = message
        }
        public var description: String {
            (line.map { "\(file):\($0)" } ?? file) + ": \(level.rawValue): \(message)"
        }
    }

    static let eventFields: Set<String> = ["name", "time", "ret", "process", "args", "exit_args", "changed", "late", "truncated"]
    static let processFields: Set<String> = ["pid", "tid", "ppid", "uid", "gid", "comm", "exe", "container", "cgroup",
                                             "mntns", "pidns", "compat", "bits", "exe_ino", "exe_dev", "exe_fs"]

    /// Loads the signature (syntax, metadata, events, filter) and then reads its source for the
    /// field and argument names it uses, checked against the catalogue for the selected events.
    public static func lint(_ source: SignatureSource, limits: SandboxLimits = .default) -> [Problem] {
        var problems: [Problem] = []
        let meta: SignatureMetadata
        do {
            let (_, m) = try SignatureLoader.compile(source, limits: limits)
            meta = m
        } catch {
            // The static checks still say what they can (a global the sandbox lacks often is why it failed).
            return [Problem(level: .error, file: error.file, line: error.line, message: error.message)] + globalProblems(source)
        }
        let locate = SourceLocator(source.text)
        for key in meta.unknownKeys {
            problems.append(Problem(level: .warning, file: source.path, line: locate.line(ofKey: key),
                                    message: "unknown field '\(key)' in the signature table (ignored)"))
        }
        let argNames = Set(meta.events.flatMap { $0.spec.args.map(\.name) })
        let toctou = Set(meta.events.flatMap { spec in spec.spec.toctouArgs.map { spec.spec.args[$0].name } })
        let eventList = meta.events.map(\.name).joined(separator: ", ")
        // The event parameter's name as on_event declares it ("event" by convention).
        let ev = eventParameter(source.text) ?? "event"
        for (n, line) in locate.lines.enumerated() {
            let code = stripComment(line)
            for ref in fieldReferences(in: code, after: ev + ".args.") + fieldReferences(in: code, after: ev + ".args[\"") where !argNames.contains(ref) {
                problems.append(Problem(level: .error, file: source.path, line: n + 1,
                                        message: "\(ev).args.\(ref): none of the selected events (\(eventList)) has an argument '\(ref)'"
                                            + suggestion(ref, in: argNames)))
            }
            for ref in fieldReferences(in: code, after: ev + ".exit_args.") where !toctou.contains(ref) {
                problems.append(Problem(level: .error, file: source.path, line: n + 1,
                                        message: "\(ev).exit_args.\(ref): only TOCTOU-tagged arguments have exit re-reads"
                                            + (toctou.isEmpty ? " and the selected events have none" : " (\(toctou.sorted().joined(separator: ", ")))")))
            }
            for ref in fieldReferences(in: code, after: ev + ".process.") where !processFields.contains(ref) {
                problems.append(Problem(level: .error, file: source.path, line: n + 1,
                                        message: "\(ev).process.\(ref) does not exist" + suggestion(ref, in: processFields)))
            }
            for ref in fieldReferences(in: code, after: ev + ".") where !eventFields.contains(ref) {
                problems.append(Problem(level: .error, file: source.path, line: n + 1,
                                        message: "\(ev).\(ref) does not exist (fields: \(eventFields.sorted().joined(separator: ", ")))"))
            }
        }
        for ref in paramReferences(locate) where meta.params.declaration(ref.name) == nil {
            let declared = meta.params.names
            problems.append(Problem(level: .error, file: source.path, line: ref.line,
                                    message: "params.\(ref.name) is not declared in the signature's params"
                                        + (declared.isEmpty ? " (it declares none)" : " (declared: \(declared.joined(separator: ", ")))")
                                        + suggestion(ref.name, in: Set(declared))))
        }
        problems += globalProblems(source)
        if meta.info.description.trimmingSpaces == placeholderDescription.trimmingSpaces {
            problems.append(Problem(level: .warning, file: source.path, line: locate.line(ofKey: "description"),
                                    message: "the description is still the scaffold's placeholder: say what it detects, its false positives and how to tune it"))
        }
        if !source.text.contains("report") {
            problems.append(Problem(level: .warning, file: source.path, line: locate.line(ofKey: "on_event"),
                                    message: "the signature never calls report{}, so it can never produce a finding"))
        }
        if meta.events.count > 3 && meta.filter.isEmpty {
            problems.append(Problem(level: .warning, file: source.path, line: locate.line(ofKey: "events"),
                                    message: "\(meta.events.count) events and no filter: every one of them enters Lua; a filter makes the common case native"))
        }
        return problems
    }

    /// Lint over several files: each file's problems, then ids given twice across the files.
    public static func lint(_ sources: [SignatureSource], limits: SandboxLimits = .default) -> [Problem] {
        var problems: [Problem] = []
        var seen: [String: String] = [:]
        for source in sources {
            problems += lint(source, limits: limits)
            guard let (_, meta) = try? SignatureLoader.compile(source, limits: limits) else { continue }
            if let first = seen[meta.info.id] {
                problems.append(Problem(level: .error, file: source.path, line: SourceLocator(source.text).line(ofKey: "id"),
                                        message: "duplicate signature id \(meta.info.id) (also in \(first)); only one of them can load"))
            } else {
                seen[meta.info.id] = source.path
            }
        }
        return problems
    }

    /// Globals the code uses that the sandbox does not have.
    static func globalProblems(_ source: SignatureSource) -> [Problem] {
        LuaNames.globals(in: source.text).filter { !sandboxGlobals.contains($0.name) }.map { g in
            if let why = missingGlobals[g.name] {
                return Problem(level: .error, file: source.path, line: g.line, message: "'\(g.name)' does not exist in the sandbox: \(why)")
            }
            return Problem(level: .warning, file: source.path, line: g.line,
                           message: "'\(g.name)' is not a global of the sandbox (nil when read); a typo, or a missing 'local'?"
                               + suggestion(g.name, in: sandboxGlobals))
        }
    }

    /// `params.NAME` and `params["NAME"]` read by the code, with their lines.
    static func paramReferences(_ locate: SourceLocator) -> [(name: String, line: Int)] {
        var out: [(String, Int)] = []
        for (n, line) in locate.lines.enumerated() {
            let code = stripComment(line)
            for ref in fieldReferences(in: code, after: "params.") + fieldReferences(in: code, after: "params[\"") { out.append((ref, n + 1)) }
        }
        return out
    }

    /// Globals a signature can read: what a fresh sandbox holds (the stock libraries it keeps,
    /// report, print, mw) and `params`.
    public static let sandboxGlobals: Set<String> = {
        let probe = SignatureSource(path: "(globals)", text: "local n = {} for k in pairs(_G) do n[#n + 1] = k end return { names = n }")
        guard let sandbox = LuaSandbox(), sandbox.installLibrary(named: "mw", source: SignatureLoader.helperLibrary?.text ?? "return {}",
                                                                path: "mw") == nil,
              sandbox.load(source: probe.text, path: probe.path) == nil,
              case .array(let names)? = sandbox.describe()?["names"] else { return ["params"] }
        return Set(names.compactMap(\.string)).union(["params"])
    }()

    /// Standard Lua globals the sandbox leaves out on purpose, and why.
    static let missingGlobals: [String: String] = [
        "os": "signatures cannot run programs, read the clock or the environment (use event.time)",
        "io": "signatures cannot read or write files",
        "require": "signatures cannot load modules; the helper library is the global mw",
        "dofile": "signatures cannot load code", "loadfile": "signatures cannot load code", "load": "signatures cannot load code",
        "loadstring": "signatures cannot load code", "package": "signatures cannot load modules",
        "debug": "the debug library would break the sandbox", "collectgarbage": "the host manages memory",
        "coroutine": "coroutines are not available (the host runs each call on its own)",
    ]

    /// "on_event = function(e, state)" -> "e".
    static func eventParameter(_ text: String) -> String? {
        guard let r = text.firstRange(of: "on_event") else { return nil }
        let after = text[r.upperBound...]
        guard let f = after.firstRange(of: "function"), let open = after[f.upperBound...].firstIndex(of: "(") else { return nil }
        let name = after[after.index(after: open)...].drop { $0 == " " }.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return name.isEmpty ? nil : String(name)
    }

    static func stripComment(_ line: Substring) -> Substring {
        // Good enough for lint: a "--" outside a string ends the code.
        var inString: Character?
        var prev: Character = " "
        for idx in line.indices {
            let c = line[idx]
            if let q = inString {
                if c == q && prev != "\\" { inString = nil }
            } else if c == "\"" || c == "'" {
                inString = c
            } else if c == "-" && prev == "-" {
                return line[line.startIndex..<line.index(before: idx)]
            }
            prev = c
        }
        return line
    }

    /// Identifiers right after `prefix` ("event.args." -> "msg"), ignoring longer dotted names
    /// that only start with it ("event.args.msg.control" -> "msg").
    static func fieldReferences(in line: Substring, after prefix: String) -> [String] {
        var out: [String] = []
        var rest = line[...]
        while let r = rest.firstRange(of: prefix) {
            // Only whole references: "myevent.args." does not count.
            if r.lowerBound > line.startIndex {
                let before = line[line.index(before: r.lowerBound)]
                if before.isLetter || before.isNumber || before == "_" || before == "." { rest = rest[r.upperBound...]; continue }
            }
            let ident = rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !ident.isEmpty { out.append(String(ident)) }
            rest = rest[r.upperBound...]
        }
        return out
    }

    static func suggestion(_ name: String, in candidates: Set<String>) -> String {
        let close = candidates.map { ($0, Catalogue.editDistance(name, $0)) }.filter { $0.1 <= 2 }.sorted { $0.1 < $1.1 }
        return close.first.map { " (did you mean '\($0.0)'?)" } ?? ""
    }
}
