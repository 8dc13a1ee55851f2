import MoonwatchCore
import ArgumentParser

@main
struct Moonwatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moonwatch",
        abstract: "Host detection engine: kernel events through sandboxed Lua signatures.",
        discussion: """
            Live detection needs root (eBPF). Everything else works on capture files:
              moonwatch replay capture.jsonl            replay events through the bundled signatures
              moonwatch events describe sendmsg         what an event carries, with argument tags
              moonwatch signatures test                 run the signatures' test cases
            """,
        subcommands: [Run.self, Capture.self, Replay.self, Events.self, Signatures.self])

    /// ArgumentParser's entry point, with one change: errors that carry text from files, events
    /// or signatures (a file name, a Lua error message) are escaped before they reach the terminal.
    static func main() {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            try command.run()
        } catch {
            // ArgumentParser's own (help, exit codes, usage errors) print as it decides.
            if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { exit(withError: error) }
            exit(withError: TerminalSafeError(text: "\(error)".terminalSafe, underlying: error))
        }
    }
}

/// An error whose text is already escaped for the terminal.
struct TerminalSafeError: Error, CustomStringConvertible {
    var text: String
    var underlying: Error
    var description: String { text }
}
