import MoonwatchCore
import MoonwatchSession
import ArgumentParser

@main
struct Moonwatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moonwatch",
        abstract: "Host detection engine: kernel events through sandboxed Lua signatures.",
        discussion: """
            Live detection needs root (eBPF). Everything else works on capture files:
              moonwatch run                             live detection with the bundled signatures
              moonwatch replay capture.jsonl            replay events through the same signatures
              moonwatch signatures list                 what runs, what is disabled and why
              moonwatch config show                     the configuration in effect, key by key
              moonwatch events describe sendmsg         what an event carries, with argument tags
            Configuration: /etc/moonwatch/moonwatch.yaml when it exists (--config, --set); see docs/configuration.md.
            """,
        version: MoonwatchVersion.string,
        subcommands: [Run.self, Capture.self, Replay.self, Events.self, Signatures.self, Config.self])

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
