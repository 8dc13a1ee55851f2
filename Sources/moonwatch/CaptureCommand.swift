import ArgumentParser
import MoonwatchSession

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record live kernel events to a capture file for `moonwatch replay`.",
        discussion: """
            Writes moonwatch's native JSON lines (docs/capture-format.md). It runs no signatures and \
            nothing is filtered in the kernel: every call of the selected event kinds is recorded. \
            Without --events those are the kinds the enabled signatures select, so replaying the file \
            gives the findings a live run would have; --events all records every catalogue event. \
            Environment values (execve's envp) are removed, names kept, unless --capture-env. Needs \
            the same privileges as `run`; stops on Ctrl-C, SIGTERM or after --for; SIGUSR1 reopens the file.
            """)

    @Argument(help: ArgumentHelp("Capture file to write; - writes standard output.", valueName: "file"))
    var file: String

    @OptionGroup var config: ConfigOptions
    @OptionGroup var signatures: SignatureOptions
    @OptionGroup var live: LiveCaptureOptions

    @Flag(help: help("stats")) var stats = false
    @Flag(name: .shortAndLong, help: help("verbose")) var verbose = false

    func run() throws {
        var g = Given()
        signatures.add(to: &g); live.add(to: &g)
        g.flag("stats", stats)
        g.flag("verbose", verbose)
        let source = config.source(g)
        let session = try Session(configuration: try source.resolve(), source: source)
        session.handlesSignals = true
        _ = try session.capture(to: file)
    }
}
