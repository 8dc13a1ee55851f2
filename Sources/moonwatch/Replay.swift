#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MoonwatchCapture
import MoonwatchCore
import MoonwatchEngine

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Feed captured events through the signatures.",
        discussion: """
            Reads moonwatch's own capture format (JSON lines, see docs/capture-format.md) or Tracee's JSON \
            event lines (tracee --output json), detected line by line. Bad lines are reported as \
            FILE:LINE: reason and skipped; --strict stops at the first. Events that no signature selects \
            are only counted; Tracee events outside moonwatch's catalogue are counted by name. \
            Ctrl-C or SIGTERM stops it with findings written and counters printed (exit 128+signal). \
            Exits 1 when a file could not be read (the others are still replayed) or no line could be read.
            """)

    @Argument(help: ArgumentHelp("Capture files; - reads standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var signatures: SignatureOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Fail on the first bad line instead of skipping it.")
    var strict = false

    @Option(name: .customLong("max-line"), help: ArgumentHelp(
        "Longest input line, in bytes, with an optional K or M suffix; a longer line is skipped and counted.",
        valueName: "size"))
    var maxLine: String = "4M"

    func validate() throws { _ = try Replay.bytes(maxLine) }

    /// "4M", "512K", "65536" (at least 1K, at most 1G).
    static func bytes(_ text: String) throws -> Int {
        let t = text.trimmingSpaces.uppercased()
        var mult = 1, digits = Substring(t)
        if t.hasSuffix("K") { mult = 1 << 10; digits = t.dropLast() } else if t.hasSuffix("M") { mult = 1 << 20; digits = t.dropLast() }
        guard let n = Int(digits), n > 0, n <= (1 << 30) / mult, n * mult >= 1024 else {
            throw ValidationError("--max-line \"\(text)\": use a size between 1K and 1024M, like 4M or 512K")
        }
        return n * mult
    }

    func run() throws {
        let sigs = try signatures.load()
        // An event must leave a signature half its memory cap for its own state.
        let reader = CaptureReader(paths: files, strict: strict, maxLineBytes: try Replay.bytes(maxLine),
                                   maxEventBytes: signatures.limits.memoryBytes / 2, log: note)
        try reader.checkReadable()
        let sink = try output.sink()
        StopSignal.install()
        // Parsing runs on a second thread, ahead of the signatures.
        let source = PrefetchSource(reader)
        let engine = Engine(signatures: sigs, sinks: [sink])
        var failure: Error?
        do { try engine.run(source, shouldStop: { StopSignal.requested }) } catch { failure = error }
        source.stop()
        report(engine.stats(source: source.stats), json: output.stats)
        if let failure { throw outputClosed(failure) ?? failure }
        if StopSignal.requested {
            note("interrupted: \(engine.eventsIn) events replayed before the signal; findings so far were written")
            throw ExitCode(StopSignal.exitStatus)
        }
        // Bad lines are skipped and counted; input lost whole is a failure of the replay.
        let read = source.stats
        if let n = read.skipped["unreadable file"], n > 0 {
            note("\(n) input file(s) could not be read (see above); the events of the others were replayed")
            throw ExitCode(1)
        }
        if read.records > 0 && engine.eventsIn == 0 && read.foreignTotal == 0 {
            note("no line of the input could be read as an event (\(read.records) lines, all skipped)")
            throw ExitCode(1)
        }
    }
}

/// A closed standard output or pipe (EPIPE, SIGPIPE being ignored) as one clear message.
func outputClosed(_ error: Error) -> Error? {
    guard let e = error as? SystemError, e.errno == EPIPE else { return nil }
    note("the output was closed (\(e.path ?? e.call): broken pipe); stopped")
    return ExitCode(1)
}

/// Prints the end-of-run counters: text by default, JSON with --stats.
func report(_ stats: EngineStats, json: Bool) {
    if json {
        var s = stats.json.jsonText
        s += "\n"
        s.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    } else {
        for line in stats.text.split(separator: "\n") { note(String(line)) }
    }
}
