/// Single-point mutants of a signature's code, for `moonwatch signatures test --mutate`.
///
/// A mutant changes one thing in the code and nothing else: if the signature's own test cases
/// still pass, no case depends on that thing, and a near-miss case is missing (or the change is
/// equivalent). What counts as code: everything in the file outside the signature table
/// (file-level locals such as allow-lists, helper functions) and the function values inside it
/// (`on_event`, `on_finish`). The table's other fields (`id`, `name`, `description`, `severity`,
/// `tags`, `mitre`, `events`, `filter`, ...) are metadata: validated at load and by `lint`, and not
/// mutated. The signature table is the top-level table constructor that has an `on_event` key.
public struct Mutant: Sendable, Equatable {
    public enum Operator: String, Sendable, CaseIterable {
        case comparison = "flip comparison"
        case logical = "swap and/or"
        case negate = "negate condition"
        case dropCondition = "drop condition"
        case dropNot = "drop not"
        case removeItem = "remove table item"
        case constant = "bump constant"
        case string = "change string"
        case dropStatement = "drop statement"
    }

    public var line: Int
    public var op: Operator
    /// The source text that was replaced, and what replaced it.
    public var original: String
    public var replacement: String
    /// The whole mutated source.
    public var text: String

    /// "'i > 4' -> 'i >= 4'", on one line, long snippets shortened.
    public var change: String {
        func short(_ s: String) -> String {
            let one = s.split(whereSeparator: { $0 == "\n" || $0 == "\t" }).map { $0.trimmingSpaces }.joined(separator: " ")
            return one.count > 70 ? String(one.prefix(67)) + "..." : one
        }
        return replacement.isEmpty || replacement == " " ? "removed '\(short(original))'"
                                                         : "'\(short(original))' -> '\(short(replacement))'"
    }
}

public enum Mutator {
    /// Every mutant of `source`, in source order, without duplicates. Deterministic.
    public static func mutants(of source: String) -> [Mutant] {
        let bytes = Array(source.utf8)
        var parser = MutationSiteParser(source: bytes)
        parser.chunk()
        var seen = Set<String>()
        var out: [Mutant] = []
        for e in parser.edits.sorted(by: { ($0.range.lowerBound, $0.order) < ($1.range.lowerBound, $1.order) }) {
            var text = bytes
            text.replaceSubrange(e.range, with: Array(e.replacement.utf8))
            let mutated = String(decoding: text, as: UTF8.self)
            guard mutated != source, seen.insert(mutated).inserted else { continue }
            out.append(Mutant(line: e.line, op: e.op, original: String(decoding: bytes[e.range], as: UTF8.self),
                              replacement: e.replacement, text: mutated))
        }
        return out
    }
}

// MARK: - Lexer

struct LuaToken {
    enum Kind { case name, keyword, number, string, symbol, eof }
    var kind: Kind
    var text: String
    var start: Int
    var end: Int
    var line: Int
}

enum LuaLexer {
    static let keywords: Set<String> = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
                                        "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
                                        "until", "while"]
    static let symbols3 = ["..."]
    static let symbols2 = ["==", "~=", "<=", ">=", "//", "::", "<<", ">>", ".."]

    /// Tokens of a Lua 5.4 chunk. Comments are skipped; anything the lexer does not understand
    /// becomes a one-byte symbol (the loader reports the real syntax error, not this).
    static func tokens(_ b: [UInt8]) -> [LuaToken] {
        var out: [LuaToken] = []
        var i = 0, line = 1
        func isIdent(_ c: UInt8) -> Bool { c == 0x5F || (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) }
        func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
        /// Length of a long bracket opener `[==[` at k (0 if none) and its level.
        func longOpen(_ k: Int) -> (Int, Int)? {
            guard at(k) == 0x5B else { return nil }
            var j = k + 1, level = 0
            while at(j) == 0x3D { level += 1; j += 1 }
            return at(j) == 0x5B ? (j + 1 - k, level) : nil
        }
        func skipLong(from k: Int, level: Int) -> Int {
            var j = k
            while j < b.count {
                if b[j] == 0x0A { line += 1 }
                if b[j] == 0x5D {
                    var m = j + 1, l = 0
                    while at(m) == 0x3D { l += 1; m += 1 }
                    if l == level && at(m) == 0x5D { return m + 1 }
                }
                j += 1
            }
            return b.count
        }
        while i < b.count {
            let c = b[i]
            if c == 0x0A { line += 1; i += 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == 0x2D && at(i + 1) == 0x2D {   // comment
                if let (n, level) = longOpen(i + 2) { i = skipLong(from: i + 2 + n, level: level); continue }
                while i < b.count && b[i] != 0x0A { i += 1 }
                continue
            }
            let start = i, startLine = line
            var kind = LuaToken.Kind.symbol
            if isIdent(c) && !(c >= 0x30 && c <= 0x39) {
                while i < b.count && isIdent(b[i]) { i += 1 }
                kind = .name
            } else if (c >= 0x30 && c <= 0x39) || (c == 0x2E && at(i + 1) >= 0x30 && at(i + 1) <= 0x39) {
                let hex = c == 0x30 && (at(i + 1) | 0x20) == 0x78
                if hex { i += 2 }
                while i < b.count {
                    let d = b[i] | 0x20
                    let exp = hex ? d == 0x70 : d == 0x65
                    if exp && (at(i + 1) == 0x2B || at(i + 1) == 0x2D) { i += 2; continue }
                    if isIdent(b[i]) || b[i] == 0x2E { i += 1 } else { break }
                }
                kind = .number
            } else if c == 0x22 || c == 0x27 {
                i += 1
                while i < b.count && b[i] != c {
                    if b[i] == 0x5C { i += 1 }
                    if i < b.count && b[i] == 0x0A { line += 1 }
                    i += 1
                }
                i = min(i + 1, b.count)
                kind = .string
            } else if let (n, level) = longOpen(i) {
                i = skipLong(from: i + n, level: level)
                kind = .string
            } else {
                let rest = String(decoding: b[i..<min(i + 3, b.count)], as: UTF8.self)
                if symbols3.contains(where: { rest.hasPrefix($0) }) { i += 3 }
                else if symbols2.contains(where: { rest.hasPrefix($0) }) { i += 2 }
                else { i += 1 }
            }
            let text = String(decoding: b[start..<i], as: UTF8.self)
            if kind == .name && keywords.contains(text) { kind = .keyword }
            out.append(LuaToken(kind: kind, text: text, start: start, end: i, line: startLine))
        }
        out.append(LuaToken(kind: .eof, text: "", start: b.count, end: b.count, line: line))
        return out
    }
}

// MARK: - Parser that records mutation sites

struct MutationEdit {
    var range: Range<Int>
    var replacement: String
    var line: Int
    var op: Mutant.Operator
    var order: Int
}

/// A recursive-descent walk of the Lua 5.4 grammar that records, for the code parts only, where
/// each operator can apply. It builds no tree: sites are byte ranges of the source.
struct MutationSiteParser {
    let t: [LuaToken]
    let source: [UInt8]
    var p = 0
    var edits: [MutationEdit] = []
    /// False while inside the signature table's metadata fields.
    var inCode = true
    /// Tokens that are a whole table item (their removal covers them) or a table key.
    var noLiteral = Set<Int>()
    /// Functions the parser is inside; 0 at file level, where `return` hands over the signature.
    var functionDepth = 0

    init(source: [UInt8]) { self.source = source; t = LuaLexer.tokens(source) }

    var tok: LuaToken { t[p] }
    func peek(_ k: Int = 1) -> LuaToken { t[min(p + k, t.count - 1)] }
    func isKw(_ s: String) -> Bool { (tok.kind == .keyword || tok.kind == .symbol) && tok.text == s }
    mutating func accept(_ s: String) -> Bool { if isKw(s) { p += 1; return true }; return false }
    mutating func skip(_ s: String) { _ = accept(s) }   // tolerant: the loader reports real syntax errors

    mutating func add(_ op: Mutant.Operator, tokens r: Range<Int>, _ replacement: String) {
        guard inCode, !r.isEmpty, r.upperBound <= t.count else { return }
        edits.append(MutationEdit(range: t[r.lowerBound].start..<t[r.upperBound - 1].end, replacement: replacement,
                                  line: t[r.lowerBound].line, op: op, order: edits.count))
    }
    mutating func add(_ op: Mutant.Operator, bytes r: Range<Int>, line: Int, _ replacement: String) {
        guard inCode, !r.isEmpty else { return }
        edits.append(MutationEdit(range: r, replacement: replacement, line: line, op: op, order: edits.count))
    }
    /// Byte range of a token range, for replacements built from other parts of the source.
    func bytes(_ r: Range<Int>) -> Range<Int> { t[r.lowerBound].start..<t[r.upperBound - 1].end }

    // MARK: statements

    var blockEnds: Bool { tok.kind == .eof || ["end", "else", "elseif", "until"].contains(tok.text) && tok.kind == .keyword }

    mutating func chunk() {
        block()
    }

    mutating func block() {
        while !blockEnds {
            if isKw("return") { returnStatement(); return }
            let before = p
            statement()
            if p == before { p += 1 }   // never loop on something unexpected
        }
    }

    mutating func returnStatement() {
        let s = p
        p += 1
        if !blockEnds && !isKw(";") { expressionList() }
        skip(";")
        if functionDepth > 0 { add(.dropStatement, tokens: s..<p, " ") }
    }

    mutating func condition() {
        let s = p
        expression(boolean: true)
        add(.negate, bytes: bytes(s..<p), line: t[s].line, "not (\(sourceText(s..<p)))")
    }

    mutating func statement() {
        let s = p
        switch (tok.kind, tok.text) {
        case (.symbol, ";"): p += 1
        case (.keyword, "if"):
            p += 1; condition(); skip("then"); block()
            while isKw("elseif") { p += 1; condition(); skip("then"); block() }
            if accept("else") { block() }
            skip("end")
        case (.keyword, "while"):
            p += 1; condition(); skip("do"); block(); skip("end")
        case (.keyword, "do"):
            p += 1; block(); skip("end")
        case (.keyword, "for"):
            p += 2
            if accept("=") { expressionList() } else {
                while accept(",") { p += 1 }
                skip("in"); expressionList()
            }
            skip("do"); block(); skip("end")
        case (.keyword, "repeat"):
            p += 1; block(); skip("until"); condition()
        case (.keyword, "function"):
            p += 1
            while tok.kind == .name || isKw(".") || isKw(":") { p += 1 }
            functionBody()
        case (.keyword, "local"):
            p += 1
            if accept("function") { p += 1; functionBody(); return }
            repeat {
                p += 1
                if accept("<") { p += 1; skip(">") }
            } while accept(",")
            if accept("=") { expressionList() }
        case (.keyword, "break"):
            p += 1; add(.dropStatement, tokens: s..<p, " ")
        case (.keyword, "goto"): p += 2
        case (.symbol, "::"): p += 3
        default:
            suffixedExpression()
            if isKw("=") || isKw(",") {
                while accept(",") { suffixedExpression() }
                skip("=")
                expressionList()
            }
            add(.dropStatement, tokens: s..<p, " ")
        }
    }

    mutating func functionBody() {
        functionDepth += 1
        defer { functionDepth -= 1 }
        skip("(")
        while !isKw(")") && tok.kind != .eof { p += 1 }
        skip(")")
        block()
        skip("end")
    }

    // MARK: expressions

    mutating func expressionList() {
        expression(boolean: false)
        while accept(",") { expression(boolean: false) }
    }

    mutating func expression(boolean: Bool) { _ = subexpression(limit: 0, boolean: boolean) }

    static let binary: [String: (left: Int, right: Int)] = [
        "or": (1, 1), "and": (2, 2),
        "<": (3, 3), ">": (3, 3), "<=": (3, 3), ">=": (3, 3), "~=": (3, 3), "==": (3, 3),
        "|": (4, 4), "~": (5, 5), "&": (6, 6), "<<": (7, 7), ">>": (7, 7), "..": (9, 8),
        "+": (10, 10), "-": (10, 10), "*": (11, 11), "/": (11, 11), "//": (11, 11), "%": (11, 11), "^": (14, 13),
    ]
    static let flips = ["==": "~=", "~=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">", "and": "or", "or": "and"]
    static let unaryPriority = 12

    /// Lua's precedence climbing. `boolean`: the value is used as a truth value (a condition, or
    /// an and/or/not operand of one), where dropping an operand is a meaningful mutation.
    mutating func subexpression(limit: Int, boolean: Bool) -> Range<Int> {
        let s = p
        if (tok.kind == .keyword && tok.text == "not") || (tok.kind == .symbol && ["-", "#", "~"].contains(tok.text)) {
            let isNot = tok.text == "not"
            p += 1
            let operand = subexpression(limit: Self.unaryPriority, boolean: boolean && isNot)
            if isNot { add(.dropNot, bytes: bytes(s..<operand.upperBound), line: t[s].line, sourceText(operand)) }
        } else {
            simpleExpression()
        }
        while (tok.kind == .symbol || tok.kind == .keyword), let prio = Self.binary[tok.text], prio.left > limit {
            let opIndex = p
            let op = tok.text
            let logical = op == "and" || op == "or"
            p += 1
            let right = subexpression(limit: prio.right, boolean: logical && boolean)
            if let flipped = Self.flips[op] {
                add(logical ? .logical : .comparison, tokens: opIndex..<(opIndex + 1), flipped)
            }
            if logical && boolean {
                let whole = bytes(s..<right.upperBound)
                add(.dropCondition, bytes: whole, line: t[s].line, sourceText(s..<opIndex))
                add(.dropCondition, bytes: whole, line: t[s].line, sourceText(right))
            }
        }
        return s..<p
    }

    mutating func simpleExpression() {
        switch tok.kind {
        case .number:
            literal(number: true); p += 1
        case .string:
            literal(number: false); p += 1
        case .keyword where ["nil", "true", "false"].contains(tok.text):
            p += 1
        case .keyword where tok.text == "function":
            p += 1
            functionBody()
        case .symbol where tok.text == "...":
            p += 1
        case .symbol where tok.text == "{":
            table()
        default:
            suffixedExpression()
        }
    }

    mutating func literal(number: Bool) {
        guard !noLiteral.contains(p) else { return }
        let text = tok.text
        if number {
            let hex = text.lowercased().hasPrefix("0x")
            guard let v = hex ? Int(text.dropFirst(2), radix: 16) : Int(text) else { return }   // floats are left alone
            for n in [v + 1, v - 1] where n >= 0 {
                add(.constant, tokens: p..<(p + 1), hex ? "0x" + String(n, radix: 16) : String(n))
            }
        } else {
            let empty = text == "\"\"" || text == "''" || text.hasPrefix("[") && text.filter({ $0 != "[" && $0 != "]" && $0 != "=" }).isEmpty
            add(.string, tokens: p..<(p + 1), empty ? "\"mutant\"" : "\"\"")
        }
    }

    mutating func primaryExpression() {
        if tok.kind == .name { p += 1; return }
        if accept("(") { expression(boolean: false); skip(")"); return }
        p += 1   // unexpected: the loader will say what is wrong
    }

    mutating func suffixedExpression() {
        primaryExpression()
        while true {
            if accept(".") { p += 1 }
            else if accept("[") { expression(boolean: false); skip("]") }
            else if accept(":") { p += 1; arguments() }
            else if isKw("(") || isKw("{") || tok.kind == .string { arguments() }
            else { return }
        }
    }

    mutating func arguments() {
        if isKw("{") { table(); return }
        if tok.kind == .string { literal(number: false); p += 1; return }
        skip("(")
        if !isKw(")") { expressionList() }
        skip(")")
    }

    /// The top-level table that has an `on_event` key is the signature table.
    func isSignatureTable() -> Bool {
        var k = p + 1, depth = 0
        while k < t.count - 1 {
            let x = t[k]
            if x.kind == .symbol && ["{", "(", "["].contains(x.text) { depth += 1 }
            else if x.kind == .symbol && ["}", ")", "]"].contains(x.text) { if depth == 0 { return false }; depth -= 1 }
            else if x.kind == .keyword && ["function", "do", "if", "repeat"].contains(x.text) { depth += 1 }
            else if x.kind == .keyword && ["end", "until"].contains(x.text) { depth -= 1 }
            else if depth == 0 && x.kind == .name && x.text == "on_event" && t[k + 1].text == "=" { return true }
            k += 1
        }
        return false
    }

    mutating func table() {
        let signatureTable = inCode && isSignatureTable()
        let wasCode = inCode
        p += 1   // {
        var fields: [(range: Range<Int>, sep: Int?)] = []
        while !isKw("}") && tok.kind != .eof {
            let fs = p
            if signatureTable {
                // Only function values in the signature table are code.
                let valueStart = tok.kind == .name && peek().text == "=" ? p + 2 : p
                inCode = t[valueStart].kind == .keyword && t[valueStart].text == "function"
            }
            if isKw("[") {
                p += 1
                // A literal key names the item: removing the item is the mutation.
                if (tok.kind == .string || tok.kind == .number) && peek().text == "]" { noLiteral.insert(p) }
                expression(boolean: false)
                skip("]"); skip("=")
            } else if tok.kind == .name && peek().text == "=" {
                p += 2
            }
            // A positional literal item: removing it is the mutation; changing it would repeat that.
            if p == fs && (tok.kind == .string || tok.kind == .number) && [",", ";", "}"].contains(peek().text) { noLiteral.insert(p) }
            expression(boolean: false)
            var sep: Int?
            if isKw(",") || isKw(";") { sep = p; p += 1 }
            fields.append((fs..<(sep ?? p), sep))
            inCode = wasCode
            if sep == nil { break }
        }
        skip("}")
        guard !signatureTable else { return }
        for f in fields {
            add(.removeItem, tokens: f.range.lowerBound..<(f.sep.map { $0 + 1 } ?? f.range.upperBound), " ")
        }
    }

    func sourceText(_ r: Range<Int>) -> String {
        r.isEmpty ? "" : String(decoding: source[bytes(r)], as: UTF8.self)
    }
}
