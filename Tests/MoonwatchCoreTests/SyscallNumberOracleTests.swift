import Foundation
import MoonwatchCore
import XCTest

/// The catalogue's syscall numbers, and the generated event pages, against an oracle that does not
/// come from moonwatch: the kernel's own UAPI headers as Debian installs them (linux-libc-dev).
final class SyscallNumberOracleTests: XCTestCase {
    static let headerDir = "/usr/include/x86_64-linux-gnu/asm"

    /// `#define __NR_name number` lines of one header.
    static func numbers(_ file: String) throws -> [String: Int] {
        let path = "\(headerDir)/\(file)"
        var out: [String: Int] = [:]
        for line in try FileSystem.readText(path).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 3, parts[0] == "#define", parts[1].hasPrefix("__NR_"), let n = Int(parts[2]) else { continue }
            out[String(parts[1].dropFirst(5))] = n
        }
        return out
    }

    /// Both headers, or a failure that says how to get them.
    func headers(file: StaticString = #filePath, line: UInt = #line) throws -> (x64: [String: Int], ia32: [String: Int]) {
        for h in ["unistd_64.h", "unistd_32.h"] where !FileSystem.exists("\(Self.headerDir)/\(h)") {
            XCTFail("\(Self.headerDir)/\(h) is missing: the syscall numbers cannot be checked. "
                    + "Install Debian's linux-libc-dev (apt-get install linux-libc-dev).", file: file, line: line)
            throw CancellationError()
        }
        let x64 = try Self.numbers("unistd_64.h"), ia32 = try Self.numbers("unistd_32.h")
        // A header that parsed to almost nothing would make every comparison below vacuous.
        XCTAssertGreaterThan(x64.count, 300, "unistd_64.h parsed to \(x64.count) numbers")
        XCTAssertGreaterThan(ia32.count, 380, "unistd_32.h parsed to \(ia32.count) numbers")
        XCTAssertEqual(x64["read"], 0); XCTAssertEqual(ia32["exit"], 1)
        return (x64, ia32)
    }

    /// The header name of each event's call where it differs from the event name. On ia32 the
    /// name `recvmmsg` belongs to the old 32-bit-time call (our recvmmsg_time32), and the 64-bit-time
    /// one that matches x86_64's recvmmsg is `recvmmsg_time64`.
    static let x64Name: [String: String] = ["recvmmsg_time32": "-"]
    static let ia32Name: [String: String] = ["recvmmsg": "recvmmsg_time64", "recvmmsg_time32": "recvmmsg"]

    func testEverySyscallNumberMatchesTheKernelHeaders() throws {
        let (x64, ia32) = try headers()
        var checked = 0
        for e in Catalogue.events where e.isSyscall {
            let n64 = x64[Self.x64Name[e.name] ?? e.name], n32 = ia32[Self.ia32Name[e.name] ?? e.name]
            XCTAssertEqual(e.x86_64Number, n64, "\(e.name): x86_64 number (header: \(n64.map(String.init) ?? "no such call"))")
            XCTAssertEqual(e.ia32Number, n32, "\(e.name): ia32 number (header: \(n32.map(String.init) ?? "no such call"))")
            XCTAssertTrue(n64 != nil || n32 != nil, "\(e.name) is a syscall on neither ABI")
            checked += 1
        }
        XCTAssertEqual(checked, Catalogue.events.filter(\.isSyscall).count)
        XCTAssertGreaterThanOrEqual(checked, 26)
        // DESIGN's measured facts, against the header too: socketcall is ia32's multiplexer, not an event.
        XCTAssertEqual(ia32["socketcall"], 102)
        XCTAssertNil(Catalogue.kind(ia32: 102))
    }

    /// docs/events/NAME.md states numbers and argument names; read them back from the Markdown and
    /// compare with the headers and the man pages' names, not with the generator that wrote them.
    func testGeneratedEventPagesStateTheKernelsNumbersAndTheManPageArguments() throws {
        let (x64, ia32) = try headers()
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let dir = parts.joined(separator: "/") + "/docs/events"
        for (name, args) in CatalogueTests.expectedArgs {
            let page = try FileSystem.readText("\(dir)/\(name).md")
            var rows: [String: String] = [:]
            var argNames: [String] = []
            var section = ""
            for line in page.split(separator: "\n") {
                if line.hasPrefix("## ") { section = String(line.dropFirst(3)); continue }
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard line.hasPrefix("|"), cells.count >= 2, !cells[0].hasPrefix("---") else { continue }
                if section == "Syscall numbers" { rows[cells[0]] = cells[1] }
                if section == "Arguments", cells[0].hasPrefix("`") { argNames.append(cells[0].trimmingCharacters(in: ["`"])) }
            }
            XCTAssertEqual(argNames, args, "\(name).md arguments")
            guard Catalogue.spec(named: name)?.isSyscall == true else {
                XCTAssertNil(rows["x86_64"], "\(name).md is not a syscall but lists numbers")
                continue
            }
            let n64 = x64[Self.x64Name[name] ?? name].map(String.init) ?? "none"
            let n32 = ia32[Self.ia32Name[name] ?? name].map(String.init) ?? "none"
            XCTAssertEqual(rows["x86_64"], n64, "\(name).md x86_64 number")
            XCTAssertEqual(rows["ia32"], n32, "\(name).md ia32 number")
        }
    }
}
