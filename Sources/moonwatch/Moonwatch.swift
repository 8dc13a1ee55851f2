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
}
