/// Renders catalogue entries as terminal text and as Markdown (`docs/events/`).
///
/// Everything here is a pure function of the catalogue: the same catalogue gives byte-identical
/// output, so the generated Markdown can be checked into the repository and compared in CI.
public enum EventDocs {
    /// Target width of the text renderer, in columns.
    public static let textWidth = 100

    public struct Legend: Sendable {
        public let key: String
        public let meaning: String
    }

    /// Meaning of each argument tag, in display order.
    public static let tagLegend: [Legend] = [
        Legend(key: "K", meaning: """
            The value comes from the kernel side: a system call register or kernel memory. \
            It cannot change after it was taken. Exception: a socket call a 32-bit program makes through \
            socketcall (ia32 102) has no arguments in registers. The kernel copies them from an array in \
            user memory, and moonwatch reads that array once at entry, so there they are user memory that \
            another thread could rewrite before the kernel's copy (the socket events' notes say so).
            """),
        Legend(key: "U", meaning: """
            A user-space pointer whose target moonwatch reads and decodes; the reported value \
            is the decoded target, not the address.
            """),
        Legend(key: "TOCTOU", meaning: """
            User memory the kernel reads after moonwatch may have read it. It is read at \
            entry (args) and again at exit (exit_args), and the argument is listed in changed when the reads \
            differ. A difference shows the memory was rewritten during the call; equal reads prove nothing, \
            because a value can be flipped and flipped back between them.
            """),
        Legend(key: "OPT", meaning: """
            Optional: may be NULL or absent, in which case the value is nil in Lua and \
            null in JSON.
            """),
        Legend(key: "AFTER", meaning: """
            User memory the kernel reads at entry (the caller's half of a structure it also \
            writes into, such as a receive's message header) that moonwatch reads only after the call, at \
            exit. The value \
            shown is what the memory held when the call returned: a thread that rewrote it during the call \
            makes it describe other buffers than the ones the kernel used, and nothing marks that, because \
            there is no entry read to compare with.
            """),
    ]

    /// Meaning of each read phase, in display order.
    public static let readLegend: [Legend] = [
        Legend(key: ReadPhase.entry.rawValue, meaning: "Read at sys_enter, before the kernel acts on the call."),
        Legend(key: ReadPhase.exit.rawValue, meaning: """
            Read at sys_exit, after the kernel has written its results. Another thread, or \
            a process sharing the memory, can overwrite them between the kernel's write and this read.
            """),
        Legend(key: ReadPhase.both.rawValue, meaning: """
            Read at sys_enter (args) and again at sys_exit (exit_args); \
            used for TOCTOU arguments.
            """),
    ]

    /// Lua/JSON shapes of the decoded structures, for the index page.
    static let shapeLegend: [Legend] = [
        Legend(key: "sockaddr", meaning: """
            `{family="AF_INET", addr="10.0.0.1", port=80}`, \
            `{family="AF_INET6", addr="::1", port=443}`, `{family="AF_UNIX", path="/run/x.sock"}`; \
            abstract Unix names `{family="AF_UNIX", path="@name", abstract=true}`, unnamed Unix sockets \
            `{family="AF_UNIX", path=""}`, other families `{family=<number>}`.
            """),
        Legend(key: "msghdr", meaning: """
            `{name=sockaddr or nil, iov={len, ...}, iovlen=N, bytes=total, controllen=N, \
            control={...}, flags=N}`. Each control message is `{level="SOL_SOCKET", type="SCM_RIGHTS", \
            fds={3, 4}, files={{fd=3, type="file", path="/etc/shadow"}}}` or `{level="SOL_SOCKET", \
            type="SCM_CREDENTIALS", cred={pid=N, uid=N, gid=N}}`. Payload bytes are never included. \
            Limits, never silent: 512 control bytes are copied and walked; control messages past them \
            are walked in the caller's memory and appear as `{level="SOL_SOCKET", type="SCM_RIGHTS", \
            beyond=true, files={...}}` (or `type="SCM_CREDENTIALS"`/`"other"`). Up to 64 passed \
            descriptors are resolved (with `ino` and `dev`; `path` while the record has room); when not \
            every descriptor is listed, `rights=N` counts them all. A cut message lists its argument \
            in the event's `truncated`.
            """),
        Legend(key: "mmsghdr[]", meaning: """
            `{{msg=msghdr, len=N}, ...}`; len is the byte count the kernel wrote \
            for that message. The first 8 entries are decoded; the rest (up to 1024) are scanned for \
            control messages and summed in one last entry `{msg={control={...}, rights=N}, scanned=N}`.
            """),
        Legend(key: "timespec", meaning: "`{sec=N, nsec=N}`, for both struct timespec and struct old_timespec32."),
        Legend(key: "string[]", meaning: """
            `{\"arg0\", \"arg1\", ...}`, a NULL-terminated array of strings. 32 entries or 1536 bytes \
            are kept; a longer vector ends with a digest of the whole: `"\\0[len=N fnv1a=HEX]"`.
            """),
        Legend(key: "string", meaning: """
            511 bytes are kept; a longer string is the kept prefix followed by a digest of the whole, \
            `"\\0[len=N fnv1a=HEX]"` (FNV-1a 64 over its bytes; a NUL no string can contain starts it), \
            so two reads compare past the cut.
            """),
        Legend(key: "integer[]", meaning: "`{fd0, fd1}`, the two descriptors written by the kernel."),
    ]

    // MARK: - Per-event text

    /// Plain text for `moonwatch events describe NAME`, wrapped near `textWidth` columns.
    public static func text(_ spec: EventSpec) -> String {
        var out: [String] = []
        out += wrap(plain("\(spec.name) - \(spec.summary)"), indent: "", hanging: "    ")
        out.append("")
        out.append("  Category:  \(spec.category.rawValue)")
        out += wrap(sourceText(spec), indent: "  Source:    ", hanging: "             ")
        section("DESCRIPTION", spec.description, into: &out)

        out.append("")
        out.append("ARGUMENTS")
        if spec.args.isEmpty {
            out.append("  (none)")
        } else {
            let header = ["NAME", "C TYPE", "SHAPE", "TAGS", "READ"]
            let rows = spec.args.map { [$0.name, $0.cType, $0.type.shape, $0.tags.label, $0.read.rawValue] }
            let widths = columnWidths([header] + rows)
            out.append("  " + alignedRow(header, widths))
            for (arg, row) in zip(spec.args, rows) {
                out.append("  " + alignedRow(row, widths))
                out += wrap(plain(arg.description), indent: "      ")
            }
        }

        section("RETURN VALUE", spec.returns, into: &out)
        section("USE CASE", spec.useCase, into: &out)

        if !spec.notes.isEmpty {
            out.append("")
            out.append("NOTES")
            for note in spec.notes { out += wrap(plain(note), indent: "  - ", hanging: "    ") }
        }

        if !spec.related.isEmpty {
            out.append("")
            out.append("RELATED EVENTS")
            out += wrap(spec.related.joined(separator: ", "), indent: "  ")
        }

        out.append("")
        out.append("TAGS")
        let keyWidth = tagLegend.map(\.key.count).max() ?? 0
        for tag in tagLegend {
            let lead = "  " + pad(tag.key, keyWidth) + "  "
            out += wrap(plain(tag.meaning), indent: lead, hanging: String(repeating: " ", count: lead.count))
        }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: - Per-event Markdown

    /// The banner that opens a generated event page.
    public static func banner(for name: String) -> String {
        """
        <!-- Generated by `moonwatch events describe \(name) --format markdown` from the event catalogue. \
        Do not edit by hand: change the catalogue and regenerate. -->
        """
    }

    /// Markdown for `docs/events/NAME.md`.
    public static func markdown(_ spec: EventSpec) -> String {
        var out: [String] = []
        out.append(banner(for: spec.name))
        out.append("")
        out.append("# \(spec.name)")
        out.append("")
        out.append(md(spec.summary))
        out.append("")
        out.append("**Category:** \(spec.category.rawValue)")
        out.append("")
        out.append("## Description")
        out.append("")
        out.append(md(spec.description))
        out.append("")

        switch spec.source {
        case .syscall(let x64, let ia32, let aliases):
            out.append("## Syscall numbers")
            out.append("")
            out.append("| ABI | Number |")
            out.append("| --- | --- |")
            out.append("| x86_64 | \(number(x64)) |")
            out.append("| ia32 | \(number(ia32)) |")
            for n in aliases { out.append("| ia32 alias | \(n) |") }
        case .tracepoint(let tp):
            out.append("## Source")
            out.append("")
            out.append("Not a system call: emitted from the scheduler tracepoint `\(tp)`. Syscall numbers: none.")
        }
        out.append("")

        out.append("## Arguments")
        out.append("")
        if spec.args.isEmpty {
            out.append("None.")
        } else {
            out.append("| Name | C type | Lua/JSON | Tags | Read | Description |")
            out.append("| --- | --- | --- | --- | --- | --- |")
            for arg in spec.args { out.append(markdownRow(arg)) }
        }
        out.append("")

        out.append("## Return value")
        out.append("")
        out.append(md(spec.returns))
        out.append("")
        out.append("## Use case")
        out.append("")
        out.append(md(spec.useCase))
        out.append("")

        if !spec.notes.isEmpty {
            out.append("## Notes")
            out.append("")
            for note in spec.notes { out.append("- " + md(note)) }
            out.append("")
        }

        if !spec.related.isEmpty {
            out.append("## Related events")
            out.append("")
            for name in spec.related {
                if let other = Catalogue.spec(named: name) {
                    out.append("- [\(name)](\(name).md): \(md(other.summary))")
                } else {
                    out.append("- \(name)")
                }
            }
            out.append("")
        }

        out.append("## Tags")
        out.append("")
        out.append("| Tag | Meaning |")
        out.append("| --- | --- |")
        for tag in tagLegend { out.append("| \(tag.key) | \(cell(md(tag.meaning))) |") }
        return out.joined(separator: "\n") + "\n"
    }

    /// One argument row of the Markdown table: name, C type, shape, tags, read phase, description.
    public static func markdownRow(_ arg: ArgSpec) -> String {
        let cells = ["`\(arg.name)`", "`\(arg.cType)`", arg.type.shape, arg.tags.label, arg.read.rawValue,
                     md(arg.description)]
        return "| " + cells.map(cell).joined(separator: " | ") + " |"
    }

    // MARK: - Lists

    /// `moonwatch events list`: a header, then one line per event in catalogue order with aligned columns
    /// (name, category, x86_64 number, ia32 number, summary). "-" marks a missing number.
    public static func listText() -> String {
        let header = ["EVENT", "CATEGORY", "X86_64", "IA32", "SUMMARY"]
        let rows = Catalogue.events.map { e in
            [e.name, e.category.rawValue, e.x86_64Number.map(String.init) ?? "-",
             e.ia32Numbers.isEmpty ? "-" : e.ia32Numbers.map(String.init).joined(separator: ","), plain(e.summary)]
        }
        let widths = columnWidths([header] + rows)
        return ([header] + rows).map { alignedRow($0, widths) }.joined(separator: "\n") + "\n"
    }

    /// `docs/events/README.md`: every event with a link, and the tag, read-phase and shape legends.
    public static func indexMarkdown() -> String {
        var out: [String] = []
        out.append("""
            <!-- Generated from the event catalogue (MoonwatchCore/Catalogue). Do not edit by hand: change \
            the catalogue and regenerate. -->
            """)
        out.append("")
        out.append("# moonwatch events")
        out.append("")
        out.append("""
            Every event moonwatch can deliver to a signature. Names are the ones used in a signature's \
            `events` list, in captures and in `moonwatch events describe NAME`. Syscall events are seen at the raw \
            `sys_enter`/`sys_exit` tracepoints for both the x86_64 and the ia32 (compat) ABI; process events come \
            from scheduler tracepoints.
            """)
        out.append("")
        out.append("| Event | Category | Source | x86_64 | ia32 | Summary |")
        out.append("| --- | --- | --- | --- | --- | --- |")
        for e in Catalogue.events {
            let source: String
            switch e.source {
            case .syscall: source = "syscall"
            case .tracepoint(let tp): source = "tracepoint `\(tp)`"
            }
            let cells = ["[\(e.name)](\(e.name).md)", e.category.rawValue, source, number(e.x86_64Number),
                         ia32Text(e), md(e.summary)]
            out.append("| " + cells.map(cell).joined(separator: " | ") + " |")
        }
        out.append("")
        out.append("## Argument tags")
        out.append("")
        out.append("| Tag | Meaning |")
        out.append("| --- | --- |")
        for tag in tagLegend { out.append("| \(tag.key) | \(cell(md(tag.meaning))) |") }
        out.append("")
        out.append("## Read phases")
        out.append("")
        out.append("| Phase | Meaning |")
        out.append("| --- | --- |")
        for phase in readLegend { out.append("| \(phase.key) | \(cell(md(phase.meaning))) |") }
        out.append("")
        out.append("## Decoded shapes")
        out.append("")
        out.append("The Lua/JSON column of each argument table names one of these shapes, or `integer`/`string`.")
        out.append("")
        out.append("| Shape | Lua/JSON view |")
        out.append("| --- | --- |")
        for shape in shapeLegend { out.append("| \(shape.key) | \(cell(md(shape.meaning))) |") }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: - Helpers

    static func number(_ n: Int?) -> String { n.map(String.init) ?? "none" }

    /// The ia32 number, and the aliases after it: "55 (also 221)".
    static func ia32Text(_ spec: EventSpec) -> String {
        let aliases = spec.ia32Aliases
        return number(spec.ia32Number) + (aliases.isEmpty ? "" : " (also \(aliases.map(String.init).joined(separator: ", ")))")
    }

    static func sourceText(_ spec: EventSpec) -> String {
        switch spec.source {
        case .syscall(let x64, _, _): return "system call, x86_64 \(number(x64)), ia32 \(ia32Text(spec))"
        case .tracepoint(let tp): return "scheduler tracepoint \(tp) (not a system call; syscall numbers: none)"
        }
    }

    private static func section(_ title: String, _ body: String, into out: inout [String]) {
        out.append("")
        out.append(title)
        out += wrap(plain(body), indent: "  ")
    }

    /// Text without Markdown code marks.
    static func plain(_ s: String) -> String { s.filter { $0 != "`" } }

    /// Escapes Markdown emphasis and HTML outside code spans; code spans are kept verbatim.
    static func md(_ s: String) -> String {
        var result = ""
        var inCode = false
        for ch in s {
            if ch == "`" { inCode.toggle(); result.append(ch); continue }
            if !inCode {
                switch ch {
                case "*": result += "\\*"; continue
                case "<": result += "&lt;"; continue
                case ">": result += "&gt;"; continue
                case "\\": result += "\\\\"; continue
                default: break
                }
            }
            result.append(ch)
        }
        return result
    }

    /// A table cell: pipes escaped (also inside code spans, as GFM requires), no line breaks.
    static func cell(_ s: String) -> String {
        var result = ""
        for ch in s {
            switch ch {
            case "|": result += "\\|"
            case "\n": result += " "
            default: result.append(ch)
            }
        }
        return result
    }

    static func columnWidths(_ rows: [[String]]) -> [Int] {
        guard let n = rows.first?.count else { return [] }
        return (0..<n).map { i in rows.map { $0[i].count }.max() ?? 0 }
    }

    /// Columns padded to `widths` with two spaces between; the last column is not padded.
    static func alignedRow(_ row: [String], _ widths: [Int]) -> String {
        var parts: [String] = []
        for (i, value) in row.enumerated() {
            parts.append(i == row.count - 1 ? value : pad(value, widths[i]))
        }
        return parts.joined(separator: "  ")
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// Greedy word wrap at `width` columns. The first line starts with `indent`, the others with
    /// `hanging` (default: `indent`). A word longer than the line stays whole on its own line.
    static func wrap(_ s: String, width: Int = textWidth, indent: String, hanging: String? = nil) -> [String] {
        let rest = hanging ?? indent
        var lines: [String] = []
        var line = indent
        var lineHasWord = false
        for word in s.split(separator: " ", omittingEmptySubsequences: true) {
            if lineHasWord && line.count + 1 + word.count > width {
                lines.append(line)
                line = rest
                lineHasWord = false
            }
            if lineHasWord { line += " " }
            line += word
            lineHasWord = true
        }
        if lineHasWord || lines.isEmpty { lines.append(line) }
        return lines
    }
}
