import ArgumentParser
import MoonwatchSession

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Feed captured events through the signatures.",
        discussion: """
            Reads moonwatch's own capture format (JSON lines, see docs/capture-format.md) or Tracee's JSON \
            event lines (tracee --output json), detected line by line. Bad lines are reported as \
            FILE:LINE: reason and skipped; --strict stops at the first. Events that no signature selects \
            are only counted; Tracee events outside moonwatch's catalogue are counted by name. A file of \
            findings (moonwatch's own output) is named once and skipped. \
            The same signatures, tuning, deduplication (on event time) and formats as `run`. \
            Ctrl-C or SIGTERM stops it with findings written and counters printed (exit 128+signal). \
            Exits 1 when a file could not be read (the others are still replayed) or no line could be read.
            """)

    @Argument(help: ArgumentHelp("Capture files; - reads standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var config: ConfigOptions
    @OptionGroup var signatures: SignatureOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var replayOnly: ReplayOnlyOptions

    func run() throws {
        var g = Given()
        signatures.add(to: &g); output.add(to: &g); replayOnly.add(to: &g)
        let source = config.source(g)
        let session = try Session(configuration: try source.resolve(), source: source)
        session.handlesSignals = true
        let outcome = try session.run(.replay(files))
        if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
    }
}
