@testable import MoonwatchCore
import XCTest

final class JSONTests: XCTestCase {
    func testScalars() throws {
        XCTAssertEqual(try JSONParser.parse("null"), .null)
        XCTAssertEqual(try JSONParser.parse(" true "), true)
        XCTAssertEqual(try JSONParser.parse("-12"), -12)
        XCTAssertEqual(try JSONParser.parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try JSONParser.parse("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(try JSONParser.parse("18446744073709551615"), .uint(UInt64.max))
        XCTAssertEqual(try JSONParser.parse("1.5e3"), .double(1500))
        XCTAssertEqual(try JSONParser.parse("\"a\\u00e9\\ud83d\\ude00\\n\""), .string("aé😀\n"))
    }

    func testContainersKeepKeyOrder() throws {
        let v = try JSONParser.parse(#"{"b":1,"a":[1,{"c":null}],"e":{}}"#)
        XCTAssertEqual(v.fields?.keys, ["b", "a", "e"])
        XCTAssertEqual(v["a"]?.array?.count, 2)
        XCTAssertEqual(v.jsonText, #"{"b":1,"a":[1,{"c":null}],"e":{}}"#)
    }

    func testErrorsCarryOffsets() {
        let cases: [(String, String)] = [
            (#"{"a":1"#, "unexpected end of input inside an object (truncated?)"),
            (#"{"a" 1}"#, "expected ':' after key \"a\""),
            (#"[1,]"#, "unexpected character ']'"),
            (#"{"a":01}"#, "leading zero in a number"),
            (#""abc"#, "unterminated string (truncated?)"),
            (#"{"a":tru}"#, "invalid literal"),
            (#"{} x"#, "unexpected text after the JSON value"),
            ("", "empty input"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try JSONParser.parse(text), text) { error in
                XCTAssertEqual((error as? JSONError)?.reason, reason, text)
            }
        }
        XCTAssertThrowsError(try JSONParser.parse(#"{"a" 1}"#)) { XCTAssertEqual(($0 as? JSONError)?.offset, 5) }
    }

    func testDepthIsBounded() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { error in
            XCTAssertTrue((error as? JSONError)?.reason.contains("nesting deeper") ?? false)
        }
    }

    func testWriterEscapesAndRoundTrips() throws {
        let v: Value = .object([("s", "q\"\\\n\u{1}é"), ("n", -5), ("d", 0.25), ("u", .uint(UInt64.max)), ("b", false), ("z", .null)])
        let text = v.jsonText
        XCTAssertEqual(text, #"{"s":"q\"\\\n\u0001é","n":-5,"d":0.25,"u":18446744073709551615,"b":false,"z":null}"#)
        XCTAssertEqual(try JSONParser.parse(text), v)
    }

    func testBase64() {
        XCTAssertEqual(Base64.decode("aGVsbG8gd29ybGQ="), Array("hello world".utf8))
        XCTAssertEqual(Base64.decode(""), [])
    }
}
