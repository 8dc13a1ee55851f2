/// The global names a Lua file reads, found by a small tokenizer (comments and strings skipped),
/// for `signatures lint`. Scopes are not followed: a name declared `local` (or as a parameter, a
/// loop variable, a `function NAME`) anywhere in the file counts as declared everywhere, so lint
/// may miss a global but never reports a local. Table constructor keys (`{ name = 1 }`) and fields
/// (`a.name`, `a:name`) are not names.
enum LuaNames {
    static let keywords: Set<String> = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
                                        "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]

    struct Token { var text: String; var line: Int; var isName: Bool }

    static func tokens(_ text: String) -> [Token] {
        let b = Array(text.utf8)
        var out: [Token] = []
        var i = 0, line = 1
        func isNameStart(_ c: UInt8) -> Bool { c == 0x5F || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) || c >= 0x80 }
        func isName(_ c: UInt8) -> Bool { isNameStart(c) || (c >= 0x30 && c <= 0x39) }
        /// At `[`: the level of a long bracket `[==[`, or nil.
        func longLevel(_ at: Int) -> Int? {
            var j = at + 1, level = 0
            while j < b.count, b[j] == 0x3D { level += 1; j += 1 }
            return j < b.count && b[j] == 0x5B ? level : nil
        }
        func skipLong(_ level: Int, from start: Int) -> Int {
            var j = start
            while j < b.count {
                if b[j] == 0x0A { line += 1 }
                if b[j] == 0x5D {
                    var k = j + 1, l = 0
                    while k < b.count, b[k] == 0x3D { l += 1; k += 1 }
                    if l == level, k < b.count, b[k] == 0x5D { return k + 1 }
                }
                j += 1
            }
            return j
        }
        while i < b.count {
            let c = b[i]
            if c == 0x0A { line += 1; i += 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == 0x2D, i + 1 < b.count, b[i + 1] == 0x2D {   // comment
                if i + 2 < b.count, b[i + 2] == 0x5B, let level = longLevel(i + 2) {
                    i = skipLong(level, from: i + 4 + level)
                } else {
                    while i < b.count, b[i] != 0x0A { i += 1 }
                }
                continue
            }
            if c == 0x22 || c == 0x27 {   // quoted string
                var j = i + 1
                while j < b.count, b[j] != c, b[j] != 0x0A { j += b[j] == 0x5C ? 2 : 1 }
                out.append(Token(text: "\"", line: line, isName: false))
                i = j + 1
                continue
            }
            if c == 0x5B, let level = longLevel(i) {   // long string
                let startLine = line
                i = skipLong(level, from: i + 2 + level)
                out.append(Token(text: "\"", line: startLine, isName: false))
                continue
            }
            if c >= 0x30 && c <= 0x39 {   // number (hex, exponents, fractions)
                var j = i + 1
                while j < b.count, isName(b[j]) || b[j] == 0x2E || ((b[j] == 0x2B || b[j] == 0x2D) && (b[j - 1] | 0x20) == 0x65) { j += 1 }
                out.append(Token(text: "0", line: line, isName: false))
                i = j
                continue
            }
            if isNameStart(c) {
                var j = i
                while j < b.count, isName(b[j]) { j += 1 }
                let word = String(decoding: b[i..<j], as: UTF8.self)
                out.append(Token(text: word, line: line, isName: !keywords.contains(word)))
                i = j
                continue
            }
            // Operators: the two-character ones that matter here ("==", "..", "::"), else one.
            if i + 1 < b.count, (c == 0x3D && b[i + 1] == 0x3D) || (c == 0x2E && b[i + 1] == 0x2E) || (c == 0x3A && b[i + 1] == 0x3A)
                || ((c == 0x7E || c == 0x3C || c == 0x3E) && b[i + 1] == 0x3D) {
                out.append(Token(text: String(decoding: b[i...(i + 1)], as: UTF8.self), line: line, isName: false))
                i += 2
                continue
            }
            out.append(Token(text: String(UnicodeScalar(c)), line: line, isName: false))
            i += 1
        }
        return out
    }

    /// Names read or written as globals, each with the line it is first used on.
    static func globals(in text: String) -> [(name: String, line: Int)] {
        let t = tokens(text)
        var declared: Set<String> = ["self"]
        // Declarations: local a, b; local function f; function f(a, b); function(a, b); for a, b in / for i =.
        var k = 0
        while k < t.count {
            let w = t[k].text
            if w == "local" || w == "for" {
                var j = k + 1
                if j < t.count, t[j].text == "function" { j += 1 }
                while j < t.count, t[j].isName {
                    declared.insert(t[j].text)
                    j += 1
                    // `local x <const>` attributes
                    if j + 2 < t.count, t[j].text == "<" { j += 3 }
                    guard j < t.count, t[j].text == "," else { break }
                    j += 1
                }
            } else if w == "function" {
                var j = k + 1
                if j < t.count, t[j].isName, j + 1 < t.count, t[j + 1].text == "(" { declared.insert(t[j].text) }
                while j < t.count, t[j].text != "(" { j += 1 }
                j += 1
                while j < t.count, t[j].text != ")" { if t[j].isName { declared.insert(t[j].text) }; j += 1 }
            }
            k += 1
        }
        var out: [(String, Int)] = []
        var reported = Set<String>()
        var brackets: [String] = []
        for (n, tok) in t.enumerated() {
            if tok.text == "{" || tok.text == "(" || tok.text == "[" { brackets.append(tok.text) }
            if tok.text == "}" || tok.text == ")" || tok.text == "]" { _ = brackets.popLast() }
            guard tok.isName, !declared.contains(tok.text) else { continue }
            let prev = n > 0 ? t[n - 1].text : ""
            if prev == "." || prev == ":" || prev == "::" || prev == "goto" { continue }
            let next = n + 1 < t.count ? t[n + 1].text : ""
            if next == "::" { continue }   // a label
            if prev == "<" && next == ">" { continue }   // an attribute: local x <const>
            if brackets.last == "{" && (prev == "{" || prev == "," || prev == ";") && next == "=" { continue }   // a key
            if reported.insert(tok.text).inserted { out.append((tok.text, tok.line)) }
        }
        return out
    }
}
