import ArgumentParser
import MoonwatchSession

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The configuration: what a run would use, and where each value comes from.",
        subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the configuration in effect (YAML), each key with where its value came from.",
            discussion: """
                Takes the options of `run`, so `moonwatch config show --min-severity high` shows what that \
                command line would run with. Precedence, lowest first: defaults, the configuration file, \
                MOONWATCH_<KEY> variables, --set, the command line's options; a repeatable option adds to a \
                list instead of replacing it. The output is a valid configuration file.
                """)

        @OptionGroup var config: ConfigOptions
        @OptionGroup var signatures: SignatureOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var live: LiveCaptureOptions
        @OptionGroup var runOnly: RunOnlyOptions
        @OptionGroup var replayOnly: ReplayOnlyOptions

        func run() throws {
            var g = Given()
            signatures.add(to: &g); output.add(to: &g); live.add(to: &g); runOnly.add(to: &g); replayOnly.add(to: &g)
            print(try config.source(g).resolve().yaml, terminator: "")
        }
    }
}
