import MoonwatchCore
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// Resolution of the configuration: defaults < file < environment < --set < options, lists that
/// options extend, located errors, paths relative to the file.
final class ConfigurationTests: SessionTestCase {
    func testEachLayerOverridesTheOneBelowAndSaysWhereAValueCameFrom() throws {
        let file = try write("mw.yaml", """
            min_severity: low
            rate_limit: 7
            dedup_window: 30s
            output: falco
            verbose: true
            """)
        let c = try resolve(file: file,
                            environment: ["MOONWATCH_RATE_LIMIT": "8", "MOONWATCH_DEDUP_WINDOW": "45s", "MOONWATCH_OUTPUT": "tracee"],
                            sets: ["dedup_window=2m", "output=json"],
                            options: [.init(key: "output", value: .scalar("table"))])
        XCTAssertEqual(c.minSeverity, .low, "file")
        XCTAssertEqual(c.origins["min_severity"], file + ":1")
        XCTAssertEqual(c.rateLimit, 8, "environment over file")
        XCTAssertEqual(c.origins["rate_limit"], "environment MOONWATCH_RATE_LIMIT")
        XCTAssertEqual(c.dedupWindow, 120, "--set over environment")
        XCTAssertEqual(c.origins["dedup_window"], "--set")
        XCTAssertEqual(c.output, .table, "an option over --set")
        XCTAssertEqual(c.origins["output"], "--output")
        XCTAssertTrue(c.verbose)
        XCTAssertEqual(c.budget, SandboxLimits.default.instructionsPerCall, "default")
        XCTAssertNil(c.origins["budget"])
        XCTAssertEqual(c.file, file)
    }

    func testRepeatableOptionsAddToTheListSetReplacesIt() throws {
        let file = try write("mw.yaml", "disable: [MW-1001, MW-2001]\nkeep_env: [PATH]\n")
        var c = try resolve(file: file, options: [.init(key: "disable", value: .list(["MW-3001"]), append: true)])
        XCTAssertEqual(c.disable, ["MW-1001", "MW-2001", "MW-3001"])
        XCTAssertEqual(c.origins["disable"], file + ":1, --disable")
        c = try resolve(file: file, sets: ["disable=[MW-4001]"], options: [.init(key: "disable", value: .list(["MW-3001"]), append: true)])
        XCTAssertEqual(c.disable, ["MW-4001", "MW-3001"], "--set replaced the file's list, the option added to it")
        c = try resolve(file: file, sets: ["disable=[]", "keep_env="])
        XCTAssertEqual(c.disable, [])
        XCTAssertEqual(c.keepEnv, [])
        c = try resolve(file: file, environment: ["MOONWATCH_DISABLE": "a,b"])
        XCTAssertEqual(c.disable, ["a", "b"], "a comma-separated value is a list")
    }

    func testUnknownKeysAreLocatedWithASuggestion() throws {
        let file = try write("mw.yaml", "rate_limit: 5\nmin_severty: high\n")
        XCTAssertThrowsError(try resolve(file: file)) { e in
            XCTAssertEqual("\(e)", "\(file):2: unknown key 'min_severty'; did you mean 'min_severity'? (`moonwatch config show` lists every key)")
        }
        XCTAssertThrowsError(try resolve(sets: ["dedup-windw=5s"])) { e in
            XCTAssertTrue("\(e)".hasPrefix("--set: unknown key 'dedup_windw'; did you mean 'dedup_window'?"), "\(e)")
        }
    }

    func testBadValuesAreLocatedAndExplained() throws {
        func error(_ yaml: String) throws -> String {
            let file = try write("bad.yaml", yaml)
            do { _ = try resolve(file: file); return "no error" } catch { return "\(error)".replacingOccurrences(of: file, with: "F") }
        }
        XCTAssertEqual(try error("\n\nmin_severity: medum\n"), "F:3: min_severity: \"medum\" is not one of info, low, medium, high, critical (did you mean medium?)")
        XCTAssertEqual(try error("rate_limit: lots\n"), "F:1: rate_limit: \"lots\" is not a whole number")
        XCTAssertEqual(try error("memory: 99999\n"), "F:1: memory: 99999 is not between 1 and 4096")
        XCTAssertEqual(try error("dedup_window: soon\n"), "F:1: dedup_window: \"soon\" is not a duration like 30s, 5m or 1h (0 turns it off)")
        XCTAssertEqual(try error("output: xml\n"), "F:1: output: \"xml\" is not one of json, table, falco, tracee")
        XCTAssertTrue(try error("rate_limit: 1\nrate_limit: 2\n").contains("duplicated key(s): 'rate_limit'"))
        XCTAssertEqual(try error("disable: {a: 1}\n"), "F:1: disable: expected a list, not a mapping")
        XCTAssertEqual(try error("events: sendmsgg\n"), "F:1: events: unknown event \"sendmsgg\"; did you mean sendmsg, sendmmsg? (`moonwatch events list` shows them all)")
        XCTAssertEqual(try error("- a\n- b\n"), "F:1: the configuration must be a mapping of keys to values (key: value)")
        let broken = try error("rate_limit: [1,\n")
        XCTAssertTrue(broken.hasPrefix("F: not valid YAML"), broken)
        XCTAssertEqual(try resolve(file: try write("empty.yaml", "# only a comment\n")).rateLimit, 100, "an empty file is no change")
    }

    func testPathsInAFileAreTakenFromItsFolder() throws {
        let file = try write("etc/mw.yaml", "signatures: [rules.d, /abs/x.lua]\nout: findings.json\n")
        let c = try resolve(file: file, options: [.init(key: "signatures", value: .list(["rel.lua"]), append: true)])
        XCTAssertEqual(c.signatures, [tmp + "/etc/rules.d", "/abs/x.lua", "rel.lua"], "command-line paths stay as given")
        XCTAssertEqual(c.out, tmp + "/etc/findings.json")
    }

    func testWhichFileIsRead() throws {
        let a = try write("a.yaml", "rate_limit: 1\n"), b = try write("b.yaml", "rate_limit: 2\n")
        XCTAssertEqual(try resolve(file: nil, environment: ["MOONWATCH_CONFIG": a]).rateLimit, 1, "$MOONWATCH_CONFIG")
        XCTAssertEqual(try resolve(file: b, environment: ["MOONWATCH_CONFIG": a]).rateLimit, 2, "--config wins")
        XCTAssertNil(try resolve(file: "", environment: ["MOONWATCH_CONFIG": a]).file, "an empty --config reads no file")
        XCTAssertNil(try resolve(file: nil, environment: ["MOONWATCH_CONFIG": ""]).file, "an empty variable reads no file")
        XCTAssertThrowsError(try resolve(file: tmp + "/missing.yaml")) { e in
            XCTAssertTrue("\(e)".contains("cannot read the configuration file"), "\(e)")
        }
        // Variables that are not keys (developer switches, test settings) are not configuration.
        XCTAssertNoThrow(try resolve(environment: ["MOONWATCH_REQUIRE_LIVE": "1", "MOONWATCH_SOMETHING_ELSE": "x"]))
    }

    func testParamsFromTheFileTheCommandLineAndSet() throws {
        let file = try write("mw.yaml", """
            params:
              MW-7001:
                tools: [ping, tcpdump]
              X-1.Y:
                limit: 5
            """)
        let c = try resolve(file: file, sets: ["params.MW-7001.extra=1"],
                            options: [.init(key: "params", value: .list(["X-1.Y.limit=9", "Z-2.names=a,b"]), append: true, origin: "--param")])
        XCTAssertEqual(c.params["MW-7001"]?["tools"], ParamOverride(.list(["ping", "tcpdump"]), origin: file + ":3"))
        XCTAssertEqual(c.params["MW-7001"]?["extra"]?.raw, .scalar("1"))
        XCTAssertEqual(c.params["X-1.Y"]?["limit"], ParamOverride(.scalar("9"), origin: "--param"), "ids may hold dots; the option wins")
        XCTAssertEqual(c.params["Z-2"]?["names"]?.raw, .scalar("a,b"))
        XCTAssertThrowsError(try resolve(options: [.init(key: "params", value: .list(["no-equals-sign"]), append: true, origin: "--param")])) { e in
            XCTAssertTrue("\(e)".contains("write a parameter as ID.NAME=VALUE"), "\(e)")
        }
    }

    /// `config show` prints a file that resolves to the same configuration.
    func testShownConfigurationReadsBackTheSame() throws {
        let file = try write("mw.yaml", """
            signatures: [a.lua, "b c.lua"]
            disable: [MW-1001, "x:y"]
            min_severity: high
            dedup_window: 250ms
            rate_limit: 0
            keep_env: [PATH]
            for: 90s
            pid: [1, 2]
            max_line: 512K
            output: falco
            params: {MW-7001: {tools: [a, b]}}
            """)
        let c = try resolve(file: file)
        let shown = try write("shown.yaml", c.yaml)
        let back = try resolve(file: shown)
        XCTAssertEqual(back.signatures, [tmp + "/a.lua", tmp + "/b c.lua"])
        for k in ConfigKey.all where k.name != "params" {
            XCTAssertEqual(back.yamlValue(k.name), c.yamlValue(k.name), k.name)
        }
        XCTAssertEqual(back.params["MW-7001"]?["tools"]?.raw, .list(["a", "b"]))
    }

    func testTheFindingFormatFollowsTheTerminal() throws {
        var c = Configuration()
        XCTAssertEqual(c.outputFormat(stdoutIsTerminal: true), .table)
        XCTAssertEqual(c.outputFormat(stdoutIsTerminal: false), .json)
        c.out = "findings.json"
        XCTAssertEqual(c.outputFormat(stdoutIsTerminal: true), .json, "a file gets JSON")
        c.output = .falco
        XCTAssertEqual(c.outputFormat(stdoutIsTerminal: true), .falco)
    }

    func testEveryKeyHasHelpAndAnOptionName() {
        for k in ConfigKey.all {
            XCTAssertFalse(k.help.isEmpty, k.name)
            XCTAssertEqual(k.option, "--" + k.name.replacingOccurrences(of: "_", with: "-"))
            XCTAssertNotEqual(Configuration().yamlValue(k.name), "", k.name)
        }
        XCTAssertEqual(Set(ConfigKey.all.map(\.name)).count, ConfigKey.all.count)
    }
}
