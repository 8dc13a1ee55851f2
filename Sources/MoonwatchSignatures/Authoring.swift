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
            return {
              id = "\(id)",
              version = "0.1.0",
              name = "\(name)",
              description = [[
            What this detects and why it matters. Known false positives: which legitimate programs
            do the same. Tuning: how to allow-list them.]],
              severity = "medium",          -- info | low | medium | high | critical
              tags = { "custom" },
              -- mitre = { tactic = "defense-evasion", technique = "T1562" },
              events = { \(list) },   -- `moonwatch events list`; only these reach on_event
              -- Checked natively before Lua runs (cheap); remove what you do not need.
              filter = { success = true },

              -- event.name, event.time (ns), event.ret, event.process {pid tid ppid uid gid comm exe
              -- container cgroup mntns pidns compat bits}, event.args (by name; \(first): \(argsHint)),
              -- event.exit_args and event.changed (TOCTOU re-reads). `state` persists between calls.
              -- Do not keep `event` itself: copy the fields you need into `state`.
              on_event = function(event, state)
                report{
                  message = string.format("%s did %s", mw.who(event), event.name),
                  data = { pid = event.process.pid, comm = event.process.comm },
                }
              end,
            }

            """
    }

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

    static let eventFields: Set<String> = ["name", "time", "ret", "process", "args", "exit_args", "changed"]
    static let processFields: Set<String> = ["pid", "tid", "ppid", "uid", "gid", "comm", "exe", "container", "cgroup",
                                             "mntns", "pidns", "compat", "bits"]

    /// Loads the signature (syntax, metadata, events, filter) and then reads its source for the
    /// field and argument names it uses, checked against the catalogue for the selected events.
    public static func lint(_ source: SignatureSource, limits: SandboxLimits = .default) -> [Problem] {
        var problems: [Problem] = []
        let meta: SignatureMetadata
        do {
            let (_, m) = try SignatureLoader.compile(source, limits: limits)
            meta = m
        } catch {
            return [Problem(level: .error, file: error.file, line: error.line, message: error.message)]
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
