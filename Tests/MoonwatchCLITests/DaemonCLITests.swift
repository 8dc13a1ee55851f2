import Foundation
import MoonwatchCore
import XCTest

/// Issue 11 through the built binary: tuning the bundled set, the configuration file, alert
/// volume, secrets, the first ten minutes, and `make install`.
extension CLITests {
    /// Runs the binary with no configuration file unless the arguments name one (so that an
    /// /etc/moonwatch/moonwatch.yaml on this machine cannot change what the tests see).
    func mw(_ args: [String]) throws -> CLITests.Result {
        try moonwatch(args.contains("--config") || args.first == "--version" ? args : args + ["--config", ""])
    }

    func ids(_ r: CLITests.Result) throws -> [String] {
        try jsonLines(r.stdout).compactMap { $0["signature"]?["id"]?.string }.sorted()
    }

    // MARK: tuning (acceptance: replay with --disable, --min-severity, a config file, --signatures)

    func testTuningTheBundledSetOnTheCommandLineAndInAFile() throws {
        let all = try mw(["replay", "examples/demo.jsonl"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(try ids(all), ["MW-1001", "MW-2001", "MW-3001"])

        XCTAssertEqual(try ids(try mw(["replay", "examples/demo.jsonl", "--disable", "MW-1001"])), ["MW-2001", "MW-3001"])
        XCTAssertEqual(try ids(try mw(["replay", "examples/demo.jsonl", "--disable", "toctou"])), ["MW-1001", "MW-3001"], "by tag")
        XCTAssertEqual(try ids(try mw(["replay", "examples/demo.jsonl", "--min-severity", "medium"])), ["MW-2001", "MW-3001"])

        let config = try file("mw.yaml", "disable: [MW-2001]\n")
        let filed = try mw(["replay", "examples/demo.jsonl", "--config", config])
        XCTAssertEqual(try ids(filed), ["MW-1001", "MW-3001"], filed.stderr)
        XCTAssertTrue(filed.stderr.contains("14 signatures enabled, 1 disabled"), filed.stderr)

        let extra = try file("extra.lua", """
            return { id = "LOCAL-EXTRA", version = "1.0.0", name = "extra", description = "every close", severity = "low",
              events = { "close" }, on_event = function(event, state) report{ message = "closed " .. event.args.fd } end }
            """)
        let added = try mw(["replay", "examples/demo.jsonl", "--signatures", extra])
        XCTAssertEqual(try ids(added), ["LOCAL-EXTRA", "MW-1001", "MW-2001", "MW-3001"], "added to the bundled set, not instead of it")
    }

    func testAUserFileWithABundledIDReplacesItAndListSaysWhatIsOff() throws {
        let mine = try file("mine.lua", """
            return { id = "MW-1001", version = "9.0.0", name = "my fd passing", description = "d", severity = "low",
              events = { "sendmsg" }, on_event = function(event, state) report{ message = "mine" } end }
            """)
        let r = try mw(["replay", "examples/demo.jsonl", "--signatures", mine])
        XCTAssertTrue(r.stderr.contains("\(mine) replaces the bundled signature MW-1001 (signatures/ipc/fd_passed_over_unix_socket.lua)"), r.stderr)
        XCTAssertEqual(try jsonLines(r.stdout).filter { $0["signature"]?["id"] == "MW-1001" }.map { $0["message"] }, ["mine"])

        let list = try mw(["signatures", "list", "--disable", "MW-7001", "--min-severity", "medium", "--params"])
        XCTAssertEqual(list.status, 0, list.stderr)
        for line in list.stdout.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 100, String(line)) }
        XCTAssertTrue(list.stdout.contains("MW-7001 is disabled: disabled by id"), list.stdout)
        XCTAssertTrue(list.stdout.contains("MW-1001 is disabled: severity low is below medium"), list.stdout)
        XCTAssertTrue(list.stdout.contains("tools (set of strings, default):\n    /bin/ping, /lib/systemd/systemd-networkd,"), list.stdout)
        XCTAssertTrue(list.stdout.contains(": 12 enabled, 3 disabled"), list.stdout)
    }

    func testAParameterFromTheCommandLineIsCheckedAndApplied() throws {
        let socket = #"{"name":"socket","time":1,"ret":3,"process":{"pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"comm":"agentd","exe":"/opt/agentd"},"args":{"domain":17,"type":3,"protocol":768}}"#
        let input = try file("socket.jsonl", socket + "\n")
        XCTAssertEqual(try ids(try mw(["replay", input])), ["MW-7001"])
        // Replayed input carries no identity: the executable's path decides.
        XCTAssertEqual(try ids(try mw(["replay", input, "--param", "MW-7001.tools=/usr/bin/ping,/opt/agentd"])), [])
        let typo = try mw(["replay", input, "--param", "MW-7001.tool=agentd"])
        XCTAssertNotEqual(typo.status, 0)
        XCTAssertTrue(typo.stderr.contains("--param: MW-7001 has no parameter 'tool'; did you mean 'tools'?"), typo.stderr)
    }

    // MARK: configuration

    func testConfigShowSaysWhereEachValueComesFromAndUnknownKeysAreLocated() throws {
        let config = try file("mw.yaml", "rate_limit: 5\nmin_severity: low\n")
        let r = try mw(["config", "show", "--config", config, "--set", "rate_limit=6", "--min-severity", "high", "--disable", "MW-1001"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        func line(_ key: String) -> String { lines.first { $0.hasPrefix(key + ":") } ?? "" }
        XCTAssertTrue(line("rate_limit").contains("6") && line("rate_limit").hasSuffix("# --set"), line("rate_limit"))
        XCTAssertTrue(line("min_severity").contains("high") && line("min_severity").hasSuffix("# --min-severity"), line("min_severity"))
        XCTAssertTrue(line("disable").contains("[MW-1001]"), line("disable"))
        XCTAssertTrue(line("budget").hasSuffix("# default"), line("budget"))

        let bad = try file("bad.yaml", "rate_limit: 5\nmin_severty: high\n")
        let e = try mw(["replay", "examples/demo.jsonl", "--config", bad])
        XCTAssertNotEqual(e.status, 0)
        XCTAssertTrue(e.stderr.contains("\(bad):2: unknown key 'min_severty'; did you mean 'min_severity'?"), e.stderr)
        XCTAssertEqual(e.stdout, "")
    }

    /// Every long option of the commands that take a configuration is a key of the same name.
    func testEveryLongOptionIsAConfigurationKey() throws {
        let shown = try mw(["config", "show"])
        let keys = Set(shown.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix(" ") }
            .compactMap { $0.split(separator: ":").first.map(String.init) })
        XCTAssertGreaterThan(keys.count, 20)
        // Options about where the configuration comes from, or what a command prints, are not keys.
        let notKeys: Set<String> = ["config", "set", "help", "version", "param", "params", "files"]
        for command in [["run"], ["replay"], ["capture"], ["signatures", "list"], ["config", "show"]] {
            let dump = try moonwatch(command + ["--experimental-dump-help"])
            let root = try JSONParser.parse(dump.stdout)
            for arg in root["command"]?["arguments"]?.array ?? [] {
                for n in arg["names"]?.array ?? [] where n["kind"] == "long" {
                    let name = n["name"]?.string ?? ""
                    if notKeys.contains(name) { continue }
                    XCTAssertTrue(keys.contains(name.replacingOccurrences(of: "-", with: "_")), "\(command) --\(name) has no key")
                }
            }
        }
        XCTAssertTrue(keys.contains("params"), "--param's key")
    }

    func testVersion() throws {
        let r = try mw(["--version"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.first?.isNumber ?? false, r.stdout)
    }

    // MARK: alert volume and secrets (acceptance: 500 TOCTOU repeats, no environment value)

    func testFiveHundredRepeatsOfOneFindingAreAHandfulOfLines() throws {
        let demo = try String(contentsOfFile: CLITests.root + "/examples/demo.jsonl", encoding: .utf8)
        let race = try XCTUnwrap(demo.split(separator: "\n").first { $0.contains("\"changed\":[\"dest_addr\"]") && $0.contains("\"sendto\"") })
        let base: UInt64 = 1_795_245_781_000_400_000
        let lines = (0..<500).map { race.replacingOccurrences(of: "\"time\":1795245781000400000", with: "\"time\":\(base + UInt64($0) * 50_000_000)") }
        let input = try file("race.jsonl", lines.joined(separator: "\n") + "\n")
        let r = try mw(["replay", input, "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let findings = try jsonLines(r.stdout)
        XCTAssertEqual(findings.count, 2, r.stdout)
        XCTAssertEqual(findings.last?["repeats"]?["count"], 499)
        let stats = try JSONParser.parse(String(r.stderr.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        XCTAssertEqual(stats["output"]?["folded"], 499)
        XCTAssertEqual(stats["output"]?["written"], 2)
        let table = try mw(["replay", input, "-o", "table"])
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 3, table.stdout)
        XCTAssertTrue(table.stdout.contains("(499 more times from "), table.stdout)
        XCTAssertEqual(try mw(["replay", input, "--dedup-window", "0", "--rate-limit", "0"]).stdout.split(separator: "\n").count, 500)
    }

    func testNoFindingCarriesAnEnvironmentValueUnlessAsked() throws {
        let sig = try file("exec.lua", """
            return { id = "LOCAL-EXEC", version = "1.0.0", name = "exec", description = "every exec", severity = "low",
              events = { "execve" }, on_event = function(event, state) report{ message = "exec " .. event.args.pathname } end }
            """)
        let exec = #"{"name":"execve","time":1,"ret":0,"process":{"pid":9,"tid":9,"ppid":1,"uid":0,"gid":0,"comm":"sh"},"args":{"pathname":"/bin/sh","argv":["sh","-c","true"],"envp":["API_TOKEN=hunter2","LANG=C"]}}"#
        let input = try file("exec.jsonl", exec + "\n")
        for format in ["json", "falco", "tracee", "table"] {
            let r = try mw(["replay", input, "--no-bundled", "--signatures", sig, "-o", format])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertFalse(r.stdout.contains("hunter2"), "\(format): \(r.stdout)")
            if format == "json" { XCTAssertTrue(r.stdout.contains("API_TOKEN=<redacted>"), r.stdout) }
        }
        let kept = try mw(["replay", input, "--no-bundled", "--signatures", sig, "--keep-env", "API_TOKEN"])
        XCTAssertTrue(kept.stdout.contains("API_TOKEN=hunter2"), kept.stdout)
    }

    // MARK: the first ten minutes

    func testAFindingsFileGivenToReplayIsNamedOnce() throws {
        let findings = try file("findings.json", try mw(["replay", "examples/demo.jsonl"]).stdout)
        let r = try mw(["replay", findings])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.components(separatedBy: "holds findings").count - 1, 1, r.stderr)
        XCTAssertFalse(r.stderr.contains("malformed"), r.stderr)
    }

    func testATerminalGetsATableAndThePlainSummary() throws {
        // script(1) gives the command a terminal.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) is not installed") }
        let r = try moonwatch(["replay", "examples/demo.jsonl", "--config", ""], via: ["/usr/bin/script", "-qec"])
        XCTAssertTrue(r.stdout.contains("TIME                 SEVERITY  SIGNATURE"), r.stdout)
        XCTAssertTrue(r.stdout.contains("findings go to standard output as a table"), r.stdout)
        XCTAssertTrue(r.stdout.contains("events: 8 in over "), r.stdout)
        XCTAssertTrue(r.stdout.contains("findings: 3 written"), r.stdout)
        XCTAssertTrue(r.stdout.contains("signatures saw no event (--verbose lists them)"), r.stdout)
    }

    func testStatsGoToAFile() throws {
        let path = tmp + "/stats.json"
        let r = try mw(["replay", "examples/demo.jsonl", "--stats-file", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let stats = try JSONParser.parse(try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertEqual(stats["events_in"], 8)
        XCTAssertEqual(stats["output"]?["written"], 3)
        XCTAssertTrue(r.stderr.contains("findings: 3 written"), "the text summary still goes to the terminal")
    }

    /// README.md shows the demo's TOCTOU finding in each format: it must be what replay writes.
    func testTheReadmeSamplesAreWhatReplayWrites() throws {
        let readme = try String(contentsOfFile: CLITests.root + "/README.md", encoding: .utf8)
        let blocks = readme.components(separatedBy: "```json\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
        for (format, hostKey) in [("json", "host"), ("falco", "hostname"), ("tracee", "hostName")] {
            let r = try mw(["replay", "examples/demo.jsonl", "-o", format])
            let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains("MW-2001") }.map(String.init))
            let host = try XCTUnwrap(try JSONParser.parse(line)[hostKey]?.string)
            let sample = line.replacingOccurrences(of: "\"\(hostKey)\":\"\(host)\"", with: "\"\(hostKey)\":\"HOST\"")
            XCTAssertTrue(blocks.contains(sample), "README.md's \(format) sample is stale; replay writes:\n\(sample)")
        }
        let table = try mw(["replay", "examples/demo.jsonl", "-o", "table"])
        XCTAssertTrue(readme.contains("```\n" + table.stdout), "README.md's table sample is stale; replay writes:\n\(table.stdout)")
    }

    // MARK: make install

    func testInstallThenRunTheInstalledBinaryWithTheInstalledConfigurationAndVerifyTheUnit() throws {
        /// A tool's exit status and everything it printed.
        func run(_ tool: String, _ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        func make(_ args: [String]) throws -> (Int32, String) {
            try run("/usr/bin/make", ["-s", "-C", CLITests.root, "install", "INSTALL_BIN=\(CLITests.binary)"] + args)
        }
        let dest = tmp + "/dest"
        let (status, text) = try make(["DESTDIR=\(dest)"])
        XCTAssertEqual(status, 0, text)
        let bin = dest + "/usr/local/bin/moonwatch", config = dest + "/etc/moonwatch/moonwatch.yaml"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: bin))
        let r = try moonwatch(["replay", "examples/demo.jsonl", "--config", config], binary: bin)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try jsonLines(r.stdout).count, 3)
        let shown = try moonwatch(["config", "show", "--config", config], binary: bin)
        XCTAssertTrue(shown.stdout.contains("signatures:   [\(dest)/etc/moonwatch/signatures.d]"), shown.stdout)
        // A second install keeps the administrator's configuration.
        try "rate_limit: 3\n".write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try make(["DESTDIR=\(dest)"]).0, 0)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), "rate_limit: 3\n")

        // systemd checks the unit where its paths are real: an install into a scratch prefix.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            throw XCTSkip("systemd-analyze is not installed (make test installs the systemd package)")
        }
        let prefix = tmp + "/prefix"
        XCTAssertEqual(try make(["PREFIX=\(prefix)/usr", "SYSCONFDIR=\(prefix)/etc"]).0, 0)
        let unit = prefix + "/usr/lib/systemd/system/moonwatch.service"
        let unitText = try String(contentsOfFile: unit, encoding: .utf8)
        XCTAssertTrue(unitText.contains("ExecStart=\(prefix)/usr/bin/moonwatch run --config \(prefix)/etc/moonwatch/moonwatch.yaml"), unitText)
        XCTAssertTrue(unitText.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        XCTAssertTrue(unitText.contains("Restart=on-failure"))
        let (verified, said) = try run("/usr/bin/systemd-analyze", ["verify", unit])
        XCTAssertEqual(verified, 0, said)
        XCTAssertFalse(said.contains("moonwatch.service"), "systemd-analyze has something to say about the unit: \(said)")
    }
}
