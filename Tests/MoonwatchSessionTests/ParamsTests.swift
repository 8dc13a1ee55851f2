import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSession
import MoonwatchSignatures
import XCTest

/// Signature parameters: declared with defaults, overridden from the configuration, typed,
/// visible to the signature as the global `params`.
final class ParamsTests: SessionTestCase {
    let declaring = signatureText(id: "T-PAR", events: "\"connect\"", extra: """
        params = { names = mw.set{ "ok" }, limit = 2, ratio = 0.5, label = "x", on = true, ports = { 22 }, tags = { "a" } },
        """, message: """
        string.format("%s %s %s %s %s %s %s", tostring(params.names[event.process.comm] == true), params.limit, params.ratio,
                      params.label, tostring(params.on), table.concat(params.ports, "+"), table.concat(params.tags, "+"))
        """)

    func signature(_ text: String, _ params: ParamOverrides = [:]) throws -> Signature {
        try Signature(source: SignatureSource(path: tmp + "/p.lua", text: text), params: params)
    }

    func message(_ sig: Signature, comm: String = "tester") throws -> String {
        let sink = CollectingSink()
        let engine = Engine(signatures: [sig], sinks: [sink], log: { _ in })
        var p = testProcess
        p.comm = comm
        try engine.process([event("connect", process: p)])
        return sink.findings.first?.message ?? "none"
    }

    func testDefaultsAndOverridesAreWhatTheSignatureSees() throws {
        let plain = try signature(declaring)
        XCTAssertEqual(plain.params.declarations.map { "\($0.name):\($0.kind.rawValue)" },
                       ["label:string", "limit:integer", "names:set of strings", "on:boolean", "ports:list of integers",
                        "ratio:number", "tags:list of strings"])
        XCTAssertEqual(try message(plain, comm: "ok"), "true 2 0.5 x true 22 a")
        let o: [String: ParamOverride] = [
            "names": .init(.list(["tester", "other"]), origin: "f:1"), "limit": .init(.scalar("7"), origin: "f:2"),
            "ratio": .init(.scalar("1.25"), origin: "f:3"), "label": .init(.scalar("y z"), origin: "f:4"),
            "on": .init(.scalar("off"), origin: "f:5"), "ports": .init(.scalar("1,2,3"), origin: "--param"),
            "tags": .init(.list([]), origin: "f:7"),
        ]
        let tuned = try signature(declaring, ["T-PAR": o, "OTHER": ["limit": .init(.scalar("no"), origin: "x")]])
        XCTAssertEqual(try message(tuned), "true 7 1.25 y z false 1+2+3 ")
        XCTAssertEqual(tuned.paramOverrides, o)
    }

    func testUnknownNamesAndWrongTypesFailTheLoadWithTheOrigin() throws {
        func error(_ name: String, _ raw: ParamOverride.Raw) -> String {
            do { _ = try signature(declaring, ["T-PAR": [name: ParamOverride(raw, origin: "mw.yaml:9")]]); return "loaded" } catch {
                return "\(error)".replacingOccurrences(of: tmp, with: "T")
            }
        }
        XCTAssertEqual(error("limt", .scalar("3")), "mw.yaml:9: T-PAR has no parameter 'limt'; did you mean 'limit'? (it has label, limit, names, on, ports, ratio, tags) (T/p.lua)")
        XCTAssertEqual(error("limit", .scalar("many")), "mw.yaml:9: T-PAR.limit: \"many\" is not an integer (the parameter is a integer) (T/p.lua)")
        XCTAssertEqual(error("limit", .list(["1"])), "mw.yaml:9: T-PAR.limit: expected one value, got a list (the parameter is a integer) (T/p.lua)")
        XCTAssertEqual(error("on", .scalar("perhaps")), "mw.yaml:9: T-PAR.on: \"perhaps\" is not true or false (the parameter is a boolean) (T/p.lua)")
        XCTAssertEqual(error("ports", .list(["22", "ssh"])), "mw.yaml:9: T-PAR.ports: \"ssh\" is not an integer (the parameter is a list of integers) (T/p.lua)")
    }

    func testDeclarationsAreChecked() throws {
        func error(_ params: String) -> String {
            do { _ = try signature(signatureText(id: "T-D", extra: "params = \(params),")); return "loaded" } catch {
                return (error as? SignatureError)?.message ?? "\(error)"
            }
        }
        XCTAssertEqual(error("{ empty = {} }"), "params.empty: an empty table has no type: give at least one default value (a list, or mw.set{...} for a set)")
        XCTAssertEqual(error("{ mixed = { 1, \"a\" } }"), "params.mixed: a list default must hold only strings, only integers or only numbers")
        XCTAssertEqual(error("{ map = { a = 1 } }"), "params.map: a table default is a list ({ \"a\", \"b\" }) or a set (mw.set{ \"a\", \"b\" }), not a map")
        XCTAssertEqual(error("5"), "'params' must be a table of name = default value")
        XCTAssertEqual(error("{ f = function() end }"), "params.f: a parameter's default is a value, not a function")
    }

    func testReadingParamsWhileTheFileRunsSaysWhy() throws {
        XCTAssertThrowsError(try signature("local t = params.tools\n" + signatureText(id: "T-E"))) { e in
            XCTAssertEqual("\(e)".replacingOccurrences(of: tmp, with: "T"),
                           "T/p.lua:1: params are set once the file has returned its table: read them inside on_event or on_finish")
        }
    }

    /// MW-7001's allow-list is its `tools` parameter: a configuration can add a monitoring agent.
    func testTheBundledRawSocketSignatureTakesItsToolsFromTheConfiguration() throws {
        var p = testProcess
        p.comm = "agentd"
        p.exe = "/opt/agent/agentd"
        let socket = event("socket", ret: 5, process: p, args: ["domain": 17, "type": 3, "protocol": 768])
        let plain = try session(try resolve())
        XCTAssertEqual(try run(plain, [[socket]]).findings.map(\.signature.id), ["MW-7001"])
        let file = try write("mw.yaml", "params:\n  MW-7001:\n    tools: [/usr/sbin/tcpdump, /opt/agent/agentd]\n")
        let tuned = try session(try resolve(file: file))
        XCTAssertEqual(try run(tuned, [[socket]]).findings.count, 0, "agentd is allowed now")
        let sig = try XCTUnwrap(tuned.loaded.first { $0.info.id == "MW-7001" })
        XCTAssertEqual(sig.paramValues["tools"], .object([("/usr/sbin/tcpdump", true), ("/opt/agent/agentd", true)]))
        XCTAssertEqual(sig.paramOverrides["tools"]?.origin, file + ":3")
        // The default list is still there without the configuration.
        let def = try XCTUnwrap(plain.loaded.first { $0.info.id == "MW-7001" })
        XCTAssertEqual(def.paramValues["tools"]?["/usr/sbin/tcpdump"], true)
        XCTAssertNil(def.paramValues["tools"]?["/opt/agent/agentd"])
    }

    func testAParameterForASignatureNobodyLoadedIsNamed() throws {
        _ = try session(try resolve(options: [.init(key: "params", value: .list(["MW-7010.tools=a"]), append: true, origin: "--param")]))
        XCTAssertTrue(logged.contains("--param: parameters for MW-7010, which no loaded signature has (did you mean MW-7001?)"), "\(logged)")
    }
}
