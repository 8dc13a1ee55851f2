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
            are only counted; Tracee events outside moonwatch's catalogue are counted by name.
            """)

    @Argument(help: ArgumentHelp("Capture files; - reads standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var signatures: SignatureOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Fail on the first bad line instead of skipping it.")
    var strict = false

    func run() throws {
        let sigs = try signatures.load()
        let reader = CaptureReader(paths: files, strict: strict, log: note)
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
