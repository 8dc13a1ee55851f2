import MoonwatchCore
import MoonwatchSignatures
import XCTest

/// What `signatures lint` finds that a new author gets wrong: globals the sandbox lacks, undeclared
/// params, the scaffold's placeholder, one id in two files.
final class LintTests: XCTestCase {
    func source(_ path: String, id: String = "L-1", params: String = "", body: String, prelude: String = "") -> SignatureSource {
        SignatureSource(path: path, text: """
            \(prelude)
            return { id = "\(id)", version = "1.0.0", name = "n", description = "d", severity = "low",
              events = { "connect" }, \(params)
              on_event = function(event, state)
                \(body)
                report{ message = "m" }
              end }
            """)
    }

    func messages(_ problems: [Authoring.Problem]) -> [String] { problems.map { "\($0.line ?? 0) \($0.level.rawValue): \($0.message)" } }

    func testGlobalsTheSandboxDoesNotHave() {
        let p = Authoring.lint(source("a.lua", body: """
            local f = io.open("/etc/passwd")
            local t = os.time()
            local m = require("socket")
            reportt{ message = "typo" }
            """))
        XCTAssertEqual(messages(p), [
            "5 error: 'io' does not exist in the sandbox: signatures cannot read or write files",
            "6 error: 'os' does not exist in the sandbox: signatures cannot run programs, read the clock or the environment (use event.time)",
            "7 error: 'require' does not exist in the sandbox: signatures cannot load modules; the helper library is the global mw",
            "8 warning: 'reportt' is not a global of the sandbox (nil when read); a typo, or a missing 'local'? (did you mean 'report'?)",
        ])
    }

    func testNamesThatAreNotGlobalsAreLeftAlone() {
        let p = Authoring.lint(source("a.lua", body: """
            local seen <const> = { io = 1, os = 2 }   -- keys, not globals
            for k, v in pairs(seen) do state[k] = v end
            local function helper(x, ...) return x end
            local s = "os.execute('x')" .. [[ io.write ]] --[[ require('y') ]]
            state.os = event.process.comm:upper()
            goto done
            ::done::
            """, prelude: "local SOCK = 3\nlocal mt = {}\nfunction mt:get(k) return self[k] end"))
        XCTAssertEqual(messages(p), [])
    }

    func testParamsReadButNotDeclared() {
        let p = Authoring.lint(source("a.lua", params: "params = { limit = 3, tools = mw.set{ 'a' } },",
                                      body: "if params.limt and params[\"tools\"] then return end"))
        XCTAssertEqual(messages(p), ["5 error: params.limt is not declared in the signature's params (declared: limit, tools) (did you mean 'limit'?)"])
        let none = Authoring.lint(source("b.lua", body: "if params.x then return end"))
        XCTAssertEqual(messages(none), ["5 error: params.x is not declared in the signature's params (it declares none)"])
    }

    func testOneIDInTwoFilesAndTheScaffoldsPlaceholder() {
        let a = source("a.lua", id: "L-DUP", body: ""), b = source("b.lua", id: "L-DUP", body: "")
        let scaffold = SignatureSource(path: "new.lua", text: Authoring.template(id: "L-NEW", name: "new", file: "new.lua", events: ["connect"]))
        let p = Authoring.lint([a, b, scaffold])
        XCTAssertEqual(p.filter { $0.file == "b.lua" }.map(\.message), ["duplicate signature id L-DUP (also in a.lua); only one of them can load"])
        XCTAssertEqual(p.filter { $0.file == "a.lua" }, [])
        XCTAssertEqual(p.filter { $0.file == "new.lua" }.map(\.message),
                       ["the description is still the scaffold's placeholder: say what it detects, its false positives and how to tune it"])
    }

    func testTheBundledSignaturesAreLintClean() {
        let p = Authoring.lint(SignatureLoader.bundledSources)
        XCTAssertEqual(messages(p), [])
    }

    func testAFileThatDoesNotLoadStillGetsTheGlobalChecks() {
        let p = Authoring.lint(source("a.lua", body: "", prelude: "local now = os.time()"))
        XCTAssertEqual(p.first?.level, .error, "the load error first")
        XCTAssertTrue(messages(p).contains("1 error: 'os' does not exist in the sandbox: signatures cannot run programs, read the clock or the environment (use event.time)"),
                      "\(messages(p))")
    }
}
