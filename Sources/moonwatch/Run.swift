import ArgumentParser
import MoonwatchSession

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Live detection: kernel events through the signatures until stopped.",
        discussion: """
            Loads the eBPF probes (root, or CAP_BPF and CAP_PERFMON) and writes findings as they happen: a \
            table on a terminal, JSON lines otherwise. The bundled signatures always run (--no-bundled drops \
            them); --signatures adds files, --disable and --min-severity turn some off, --param tunes them. \
            The signatures decide in the kernel: the enabled ones' `events` and `filter` tables are compiled \
            into the probes, and only calls that some of them could accept leave the kernel (the engine \
            checks every filter again, so findings are what replay would give). \
            Identical findings are written once per --dedup-window, then summarised with a count; \
            environment values are removed from findings unless --keep-env names them.
            Signals: SIGINT or SIGTERM stops (events already captured are processed, findings flushed, \
            counters printed); SIGHUP reloads the configuration file and the signatures (a bad configuration \
            keeps the previous one; --watch does the same when a file changes) and the probes follow the \
            enabled signatures, adding or removing event kinds; SIGUSR1 reopens --out and --capture \
            (logrotate). After attach, run drops every privilege (docs/architecture.md).
            --events limits the kinds to these; a leading + adds kinds (--events +recvmsg,connect). A kind \
            no signature selects is captured whole. --capture writes what reached the engine, not every \
            call: use `moonwatch capture` for a complete recording.
            Configuration: every option is also a key of the configuration file (--config) and of --set; \
            see docs/configuration.md and `moonwatch config show`.
            Environment: MOONWATCH_<KEY> sets a key (MOONWATCH_MIN_SEVERITY=high); MOONWATCH_PROBE_MODE=raw_tp \
            skips the tp_btf programs; MOONWATCH_BPF_OBJECT=FILE loads another compiled bpf/moonwatch.bpf.o.
            """)

    @OptionGroup var config: ConfigOptions
    @OptionGroup var signatures: SignatureOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var live: LiveCaptureOptions
    @OptionGroup var runOnly: RunOnlyOptions

    var given: Given {
        var g = Given()
        signatures.add(to: &g); output.add(to: &g); live.add(to: &g); runOnly.add(to: &g)
        return g
    }

    func run() throws {
        let source = config.source(given)
        let session = try Session(configuration: try source.resolve(), source: source)
        session.handlesSignals = true
        session.dropsPrivileges = true
        let outcome = try session.run(.live)
        if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
    }
}
