import ArgumentParser
import MoonwatchCore
import MoonwatchEngine
import MoonwatchSignatures

struct Signatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signatures",
        abstract: "List and test Lua signatures.",
        subcommands: [List.self, Test.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List loaded signatures and the events they select.")
        @OptionGroup var signatures: SignatureOptions

        func run() throws {
            let sigs = try signatures.load()
            let rows = sigs.map { [$0.info.id, $0.info.severity.rawValue, $0.info.name, $0.events.map(\.name).joined(separator: ","), $0.path] }
            printTable(header: ["ID", "SEVERITY", "NAME", "EVENTS", "FILE"], rows: rows)
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run signatures' test cases (NAME.test.json beside NAME.lua); exit 1 on any failure.",
            discussion: "With no PATH, tests the bundled signatures. See docs/writing-signatures.md for the format.")
        @Argument(help: ArgumentHelp("Signature files or folders.", valueName: "path")) var paths: [String] = []
        @Flag(help: "Show every case, not only failures.") var verbose = false

        func run() throws {
            let sources = paths.isEmpty ? SignatureLoader.bundledSources : try SignatureLoader.sources(at: paths)
            guard !sources.isEmpty else { throw ValidationError("no signatures found") }
            var failed = 0
            var rows: [[String]] = []
            var details: [String] = []
            for source in sources {
                let testPath = SignatureTestFile.testPath(forSignature: source.path)
                var tests: SignatureTestFile?
                var result: SignatureTestResult
                do {
                    if let text = paths.isEmpty ? Bundled.file(String(testPath.dropFirst("signatures/".count)))
                                                : (FileSystem.exists(testPath) ? try FileSystem.readText(testPath) : nil) {
                        tests = try SignatureTestFile.parse(path: testPath, text: text)
                    }
                    result = SignatureTestRunner.run(source: source, tests: tests)
                } catch {
                    result = SignatureTestResult(signatureID: "?", signaturePath: source.path, testPath: testPath, cases: [],
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
    }
}

func printTable(header: [String], rows: [[String]]) {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 2) }.joined()
    }
    print(line(header))
    for r in rows { print(line(r)) }
}
