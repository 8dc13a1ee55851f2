#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MoonwatchCapture
import MoonwatchCore
import MoonwatchEngine
import MoonwatchProbes
import MoonwatchSignatures

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record live kernel events to a capture file for `moonwatch replay`.",
        discussion: """
            Writes moonwatch's native JSON lines (docs/capture-format.md). It runs no signatures and \
            nothing is filtered in the kernel: every call of the selected event kinds is recorded. \
            Without --events those are the kinds the bundled signatures select, so replaying the file \
            gives the findings a live run would have; --events all records every catalogue event. Needs \
            the same privileges as `run`; stops on Ctrl-C, SIGTERM or after --for.
            """)

    @Argument(help: ArgumentHelp("Capture file to write; - writes standard output.", valueName: "file"))
    var file: String

    @OptionGroup var live: LiveCaptureOptions

    @Flag(help: "Print the counters as JSON (on standard error) instead of the text summary.")
    var stats = false

    func validate() throws { try live.check() }

    func run() throws {
        let bundled = try Signature.loadAll(SignatureLoader.bundledSources, limits: .default)
        let base = Set(bundled.flatMap(\.events))
        let kinds = try live.kinds(selected: base)
        let source = try live.start(.everything(kinds))
        let writer = try CaptureWriter(path: file)   // last: a failed start leaves an existing file alone
        // The same pull loop as run and replay, with no signatures: it only counts, the tee writes.
        let engine = Engine(signatures: [], sinks: [])
        try engine.run(TeeSource(source, writer))
        try writer.flush()
        let written = writer.written, perKind = engine.perKind
        let s = source.stats
        if stats {
            var f = Value.Fields()
            f.append("events_written", .unsigned(written))
            f.append("records", .unsigned(s.records))
            f.append("skipped", .unsigned(s.skippedTotal))
            f.append("kernel_drops", .unsigned(s.kernelDrops))
            f.append("extra", .object(Value.Fields(s.extra.sorted { $0.key < $1.key }.map { ($0.key, Value.unsigned($0.value)) })))
            var text = Value.object(f).jsonText
            text += "\n"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        } else {
            note("captured \(written) events to \(file == "-" ? "standard output" : file); \(s.records) records, "
                 + "\(s.skippedTotal) skipped, \(s.kernelDrops) dropped in the kernel")
            let by = Catalogue.kinds.filter { perKind[$0.index] > 0 }.map { "\($0.name)=\(perKind[$0.index])" }
            if !by.isEmpty { note("  by event: " + by.joined(separator: " ")) }
        }
    }
}
