import ArgumentParser
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSession
import MoonwatchSignatures

struct Signatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signatures",
        abstract: "List and test Lua signatures.",
        subcommands: [List.self, Test.self, New.self, Lint.self, Types.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the signatures: enabled or disabled and why, severity, the events they select.",
            discussion: "Takes the configuration like `run` (--config, --set, --disable, --min-severity, --signatures, --param).")
        @OptionGroup var config: ConfigOptions
        @OptionGroup var signatures: SignatureOptions
        @Flag(help: "Also show each signature's parameters, their values and where each was set.") var params = false
        @Flag(help: "Also show the file each signature comes from.") var files = false

        func run() throws {
            var g = Given()
            signatures.add(to: &g)
            let source = config.source(g)
            let session = try Session(configuration: try source.resolve(), source: source, log: note)
            let off = Dictionary(session.disabled.map { ($0.signature.info.id, $0.reason) }, uniquingKeysWith: { a, _ in a })
            let rows = session.loaded.map { s in
                [s.info.id, s.info.severity.rawValue, off[s.info.id] == nil ? "enabled" : "disabled", s.info.name,
                 s.events.map(\.name).joined(separator: ",")]
            }
            printTable(header: ["ID", "SEVERITY", "STATE", "NAME", "EVENTS"], rows: rows.sorted { $0[0] < $1[0] }, width: 100,
                       shrink: [(4, 16), (3, 24)])
            for s in session.loaded {
                if let why = off[s.info.id] { print("\(s.info.id) is disabled: \(why)".terminalSafe) }
            }
            if files { for s in session.loaded { print("\(s.info.id): \(s.path)\(s.bundled ? " (bundled)" : "")".terminalSafe) } }
            if params {
                for s in session.loaded where !s.params.isEmpty {
                    print("\(s.info.id) parameters:".terminalSafe)
                    for d in s.params.declarations {
                        let value = s.paramValues[d.name].map(SignatureParams.text) ?? ""
                        let origin = s.paramOverrides[d.name]?.origin ?? "default"
                        print("  \(d.name) (\(d.kind.rawValue), \(origin)):".terminalSafe)
                        for line in wrap(value.replacingAll(",", with: ", "), width: 100, indent: 4) { print(line.terminalSafe) }
                    }
                }
            }
            print(Plain.count(UInt64(session.loaded.count), "signature") + ": \(session.engine.signatures.count) enabled, \(session.disabled.count) disabled")
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run signatures' test cases (NAME.test.json beside NAME.lua); exit 1 on any failure.",
            discussion: """
                With no PATH, tests the bundled signatures. See docs/writing-signatures.md for the format.

                --mutate makes single-point changes to each signature's code (flip a comparison, swap \
                and/or, negate or drop a condition, remove a list item, bump a constant, change a \
                string, drop a statement), runs the signature's cases on each, and lists the changes \
                no case noticed (survivors, with FILE:LINE and what changed) and the share killed. A \
                survivor is a near-miss case you have not written yet, or a change that makes no \
                difference. Metadata (id, name, events, filter, ...) is not mutated.
                """)
        @Argument(help: ArgumentHelp("Signature files or folders.", valueName: "path")) var paths: [String] = []
        @Flag(help: "Show every case, not only failures.") var verbose = false
        @Flag(help: "Mutation testing: report the code changes the cases do not catch.") var mutate = false
        @Option(name: .customLong("min-kill"), help: ArgumentHelp(
            "With --mutate: exit 1 when fewer than this percentage of mutants is killed.", valueName: "percent"))
        var minKill: Double?

        func validate() throws {
            if minKill != nil && !mutate { throw ValidationError("--min-kill needs --mutate") }
            if let m = minKill, !(0...100).contains(m) { throw ValidationError("--min-kill takes a percentage from 0 to 100") }
        }

        func run() throws {
            let sources = paths.isEmpty ? SignatureLoader.bundledSources : try SignatureLoader.sources(at: paths)
            guard !sources.isEmpty else { throw ValidationError("no signatures found") }
            if mutate { return try runMutation(sources) }
            var failed = 0
            var rows: [[String]] = []
            var details: [String] = []
            for source in sources {
                let result: SignatureTestResult
                switch testFile(for: source) {
                case .success(let tests): result = SignatureTestRunner.run(source: source, tests: tests)
                case .failure(let error):
                    result = SignatureTestResult(signatureID: "?", signaturePath: source.path,
                                                 testPath: SignatureTestFile.testPath(forSignature: source.path), cases: [],
                                                 loadError: "\(error)")
                }
                let passedCases = result.cases.filter(\.passed).count
                rows.append([result.passed ? "PASS" : "FAIL", result.signatureID,
                             "\(passedCases)/\(result.cases.count)", source.path])
                if !result.passed { failed += 1 }
                if let e = result.loadError { details.append("\(source.path): \(e)") }
                for c in result.cases where !c.passed || verbose {
                    details.append("\(result.passed && c.passed ? "ok  " : "FAIL") \(result.signatureID) \"\(c.name)\"" + (c.detail.isEmpty ? "" : ": \(c.detail)"))
                }
            }
            printTable(header: ["RESULT", "ID", "CASES", "FILE"], rows: rows)
            for d in details { print(d) }
            print("\(sources.count - failed) of \(sources.count) signatures passed")
            if failed > 0 { throw ExitCode(1) }
        }

        /// The cases beside `source` (compiled in for the bundled set), nil when there is no file.
        func testFile(for source: SignatureSource) -> Result<SignatureTestFile?, any Error> {
            let testPath = SignatureTestFile.testPath(forSignature: source.path)
            return Result {
                let text = paths.isEmpty ? Bundled.file(String(testPath.dropFirst("signatures/".count)))
                                         : (FileSystem.exists(testPath) ? try FileSystem.readText(testPath) : nil)
                return try text.map { try SignatureTestFile.parse(path: testPath, text: $0) }
            }
        }

        func runMutation(_ sources: [SignatureSource]) throws {
            var rows: [[String]] = []
            var survivors: [String] = []
            var errors: [String] = []
            var total = 0, killed = 0, notLoaded = 0
            for source in sources {
                let result: MutationResult
                switch testFile(for: source) {
                case .success(let tests): result = MutationRunner.run(source: source, tests: tests)
                case .failure(let error):
                    var r = MutationResult(signatureID: "?", path: source.path)
                    r.error = "\(error)"
                    result = r
                }
                if let e = result.error { errors.append("\(source.path): not mutation-tested: \(e)") }
                total += result.mutants; killed += result.killed; notLoaded += result.notLoaded
                rows.append([result.signatureID, "\(result.mutants)", "\(result.killed)", "\(result.survivors.count)",
                             result.error == nil ? percent(result.killed, result.mutants) : "-", source.path])
                for m in result.survivors {
                    survivors.append("\(source.path):\(m.line): \(m.op.rawValue): \(m.change)")
                }
            }
            printTable(header: ["ID", "MUTANTS", "KILLED", "SURVIVED", "KILLED%", "FILE"], rows: rows)
            if !survivors.isEmpty {
                print("\nSurvivors (no case failed with this change):")
                for s in survivors { print("  " + s) }
            }
            for e in errors { print(e) }
            print("\n\(total) mutants, \(killed) killed (\(percent(killed, total))), \(total - killed) survived; "
                  + "\(notLoaded) did not load (not counted)")
            if !errors.isEmpty { throw ExitCode(1) }
            if let minKill, total > 0, Double(killed) * 100 < minKill * Double(total) {
                print("kill ratio below --min-kill \(minKill)%")
                throw ExitCode(1)
            }
        }

        func percent(_ n: Int, _ of: Int) -> String {
            guard of > 0 else { return "-" }
            let tenths = (n * 1000 + of / 2) / of
            return "\(tenths / 10).\(tenths % 10)%"
        }
    }
}

extension Signatures {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scaffold a signature and its test cases: NAME.lua and NAME.test.json.",
            discussion: "Then edit both, run `moonwatch signatures test NAME.lua`, and load it with --signatures.")
        @Argument(help: "File name without extension, e.g. suspicious_connect (letters, digits, _ and -).") var name: String
        @Option(help: "Comma-separated events the signature selects.") var events: String = "connect"
        @Option(help: "Signature id (default: LOCAL- followed by the name in capitals).") var id: String?
        @Option(help: "Folder to write into.") var dir: String = "."
        @Flag(help: "Overwrite existing files.") var force = false

        func validate() throws {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ValidationError("NAME may contain letters, digits, _ and - only")
            }
            for e in events.split(separator: ",") where Catalogue.kind(named: String(e)) == nil {
                let hint = Catalogue.suggestions(for: String(e))
                throw ValidationError("unknown event \"\(e)\"" + (hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?"))
            }
        }

        func run() throws {
            let list = events.split(separator: ",").map(String.init)
            let sigID = id ?? "LOCAL-" + name.uppercased().replacingAll("_", with: "-")
            let lua = "\(dir)/\(name).lua", test = "\(dir)/\(name).test.json"
            for path in [lua, test] where FileSystem.exists(path) && !force {
                throw ValidationError("\(path) exists (use --force to overwrite)")
            }
            try FileSystem.makeDirectory(dir)
            try FileSystem.write(lua, Array(Authoring.template(id: sigID, name: name.replacingAll("_", with: " "), file: lua, events: list).utf8))
            try FileSystem.write(test, Array(Authoring.testTemplate(id: sigID, events: list).utf8))
            print("wrote \(lua) and \(test)")
            print("next: edit them, then `moonwatch signatures test \(lua)` and `moonwatch signatures lint \(lua)`")
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check signatures without running them: syntax, metadata, events, filter, params, and the names they read.",
            discussion: """
                Checks each file (metadata, events, filter, the params declaration and the params.NAME it reads,                 the argument and field names it reads against the catalogue, globals the sandbox does not have                 such as os, io or require, a scaffold's placeholder description) and the files together (an id                 given twice). Prints FILE:LINE: error|warning: message. Exits 1 when any error is found.
                """)
        @Argument(help: ArgumentHelp("Signature files or folders.", valueName: "path")) var paths: [String]

        func run() throws {
            let sources = try SignatureLoader.sources(at: paths)
            guard !sources.isEmpty else { throw ValidationError("no signatures found in \(paths.joined(separator: ", "))") }
            var errors = 0, warnings = 0
            // Each file's own problems, and ids given twice across the files.
            let all = Authoring.lint(sources)
            for source in sources {
                var problems = all.filter { $0.file == source.path }
                let testPath = SignatureTestFile.testPath(forSignature: source.path)
                if !FileSystem.exists(testPath) {
                    problems.append(.init(level: .warning, file: source.path, line: nil, message: "no test cases (\(testPath))"))
                } else {
                    do { _ = try SignatureTestFile.parse(path: testPath, text: try FileSystem.readText(testPath)) } catch {
                        problems.append(.init(level: .error, file: testPath, line: nil, message: "\(error)"))
                    }
                }
                for p in problems { print(p) }
                errors += problems.filter { $0.level == .error }.count
                warnings += problems.filter { $0.level == .warning }.count
            }
            print("\(sources.count) signature(s): \(errors) error(s), \(warnings) warning(s)")
            if errors > 0 { throw ExitCode(1) }
        }
    }

    struct Types: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the LuaCATS type definitions (for lua-language-server) generated from the catalogue.")
        @Option(help: "Output file (its folders are created); a .luarc.json for lua-language-server is written one folder up.")
        var out: String = TypeStubs.path

        func run() throws {
            // Every folder on the way (mkdir -p).
            let folders = out.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            for n in folders.indices where !folders[n].isEmpty {
                try FileSystem.makeDirectory(folders[...n].joined(separator: "/"))
            }
            try FileSystem.write(out, Array(TypeStubs.generate().utf8))
            var parts = out.split(separator: "/", omittingEmptySubsequences: false)
            parts.removeLast(min(2, parts.count))
            let luarc = (parts.isEmpty ? "" : parts.joined(separator: "/") + "/") + ".luarc.json"
            try FileSystem.write(luarc, Array(TypeStubs.luarc.utf8))
            print("wrote \(out) and \(luarc)")
        }
    }
}

/// Words of `text` on lines of at most `width` columns (a longer word gets a line of its own).
func wrap(_ text: String, width: Int, indent: Int) -> [String] {
    let pad = String(repeating: " ", count: indent)
    var lines: [String] = [], line = pad
    for word in text.split(separator: " ") {
        if line.count > indent && line.count + 1 + word.count > width { lines.append(line); line = pad }
        line += (line.count > indent ? " " : "") + word
    }
    if line.count > indent || lines.isEmpty { lines.append(line) }
    return lines
}

/// An aligned table. With `width`, the columns in `shrink` are cut (with …) until a line fits.
func printTable(header: [String], rows: [[String]], width: Int? = nil, shrink: [(column: Int, least: Int)] = []) {
    var rows = rows.map { $0.map(\.terminalSafe) }
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    if let width {
        // Two spaces between columns; the last column needs no padding.
        var total = widths.reduce(0, +) + 2 * (widths.count - 1)
        for (i, least) in shrink where total > width {
            let cut = min(total - width, widths[i] - max(header[i].count, least))
            if cut > 0 { widths[i] -= cut; total -= cut }
        }
        rows = rows.map { r in r.enumerated().map { i, c in c.count > widths[i] ? String(c.prefix(widths[i] - 1)) + "…" : c } }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: max(0, widths[i] - c.count) + 2) }.joined()
    }
    print(line(header))
    for r in rows { print(line(r)) }
}
