#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MoonwatchCapture
import MoonwatchCore
import MoonwatchEngine
import MoonwatchProbes
import Synchronization

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Live detection: kernel events through the signatures until stopped.",
        discussion: """
            Loads the eBPF probes (root, or CAP_BPF and CAP_PERFMON) and prints findings as they happen. \
            The signatures decide in the kernel: their `events` and `filter` tables are compiled into \
            the probes, and only calls that some loaded signature could accept leave the kernel (the \
            engine checks every filter again, so findings are what replay would give). A reload \
            (SIGHUP, --watch) recompiles them, adding or removing event kinds. Ctrl-C (SIGINT) or \
            SIGTERM stops it: events already captured are processed, findings flushed, counters printed \
            (--stats: per event kind, how many calls the kernel saw, filtered, submitted and dropped).
            --events limits the kinds to these; a leading + adds kinds (--events +recvmsg,connect). A kind \
            no signature selects is captured whole. --capture writes what reached the engine, not every \
            call: use `moonwatch capture` for a complete recording.
            Environment: MOONWATCH_PROBE_MODE=raw_tp skips the tp_btf programs; MOONWATCH_BPF_OBJECT=FILE \
            loads another compiled bpf/moonwatch.bpf.o instead of the embedded one.
            """)

    @OptionGroup var signatures: SignatureOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var live: LiveCaptureOptions

    @Option(help: ArgumentHelp("Also write the events that reached the engine to this capture file (JSON lines).", valueName: "file"))
    var capture: String?

    @Flag(help: "Reload signature files when they change (SIGHUP always reloads).")
    var watch = false

    func validate() throws { try live.check() }

    func run() throws {
        let sigs = try signatures.load()
        let interest = try live.interest(KernelInterest(signatures: sigs))
        let source = try live.start(interest, reloadable: true)
        // Outputs are opened last: a start that fails (not root, probes refused) truncates nothing.
        let engine = Engine(signatures: sigs, sinks: [try output.sink()])
        let writer = try capture.map { p throws(SystemError) in try CaptureWriter(path: p) }
        try Privileges.dropAfterAttach(signaturePaths: signatures.paths)
        let reloader = SignatureReloader(paths: signatures.paths, limits: signatures.limits, watch: watch, log: note)
        SignatureReloader.handleHangup()
        var current = interest
        let between = {
            guard reloader.check(engine) != nil else { return }
            // The kernel follows the signatures: kinds a reload added are captured from now on.
            guard let next = try? live.interest(KernelInterest(signatures: engine.signatures)), next != current else { return }
            source.update(interest: next)
            current = next
            for n in source.interestNotes { note("kernel filter: \(n)") }
            note("reload: the probes now capture \(next.kinds.count) event kind(s)")
        }
        var failure: Error?
        do {
            if let writer {
                try engine.run(TeeSource(source, writer), between: between)
                try writer.flush()
            } else {
                try engine.run(source, between: between)
            }
        } catch { failure = error }
        report(engine.stats(source: source.stats), json: output.stats)
        if let failure { throw failure }
    }
}

/// Scope and duration options shared by `run` and `capture`.
struct LiveCaptureOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Comma-separated event names to capture (see `moonwatch events list`), or all. \
        A leading + adds them to the default set instead of replacing it.
        """, valueName: "list"))
    var events: String?

    @Option(name: .customLong("for"), help: ArgumentHelp("Stop after this long: 30s, 5m, 1h (default: until Ctrl-C).", valueName: "duration"))
    var duration: String?

    @Option(help: ArgumentHelp("Only this process and its children (repeatable).", valueName: "pid"))
    var pid: [Int32] = []

    @Option(help: ArgumentHelp("Only tasks with this comm, 15 bytes at most (repeatable, up to 8).", valueName: "name"))
    var comm: [String] = []

    @Option(help: ArgumentHelp("Only this uid (repeatable, up to 8).", valueName: "uid"))
    var uid: [UInt32] = []

    @Option(name: .customLong("ring-size"), help: ArgumentHelp("Kernel ring buffer size in MiB (a power of two).", valueName: "mib"))
    var ringMiB: Int = 16

    @Flag(name: .customLong("bpf-stats"), help: ArgumentHelp(
        "Have the kernel time every run of the probes and report it with the counters (costs two clock reads per run)."))
    var bpfStats = false

    func check() throws {
        if let duration { _ = try LiveCaptureOptions.seconds(duration) }
        if let events { _ = try LiveCaptureOptions.parseEvents(events, base: []) }
        if comm.count > LiveOptions.maxScopeValues { throw ValidationError("at most \(LiveOptions.maxScopeValues) --comm values") }
        if uid.count > LiveOptions.maxScopeValues { throw ValidationError("at most \(LiveOptions.maxScopeValues) --uid values") }
        for c in comm where c.isEmpty || c.utf8.count > 15 {
            throw ValidationError("--comm \"\(c)\": a comm is 1 to 15 bytes long (the kernel cuts longer program names to 15)")
        }
        for p in pid where p <= 0 || (kill(p, 0) != 0 && errno == ESRCH) {
            throw ValidationError("--pid \(p): no such process")
        }
        guard ringMiB >= 1, ringMiB <= 1024, ringMiB & (ringMiB - 1) == 0 else {
            throw ValidationError("--ring-size must be a power of two between 1 and 1024 (MiB)")
        }
    }

    /// The default set (`base`), replaced or extended by --events.
    func kinds(selected base: Set<EventKind>) throws -> Set<EventKind> {
        let k = try events.map { try LiveCaptureOptions.parseEvents($0, base: base) } ?? base
        if k.isEmpty { throw ValidationError("no events to capture: the signatures select none; name some with --events") }
        return k
    }

    /// The signatures' interest, limited or extended by --events: named kinds no signature selects
    /// are captured whole, kinds not named are not captured.
    func interest(_ signatures: KernelInterest) throws -> KernelInterest {
        guard let events else {
            if signatures.kinds.isEmpty { throw ValidationError("no events to capture: the signatures select none; name some with --events") }
            return signatures
        }
        let kinds = try LiveCaptureOptions.parseEvents(events, base: Set(signatures.kinds.keys))
        var out = KernelInterest()
        for k in kinds { out.kinds[k] = signatures.kinds[k] ?? .all }
        return out
    }

    static func parseEvents(_ text: String, base: Set<EventKind>) throws -> Set<EventKind> {
        var s = text.trimmingSpaces
        var out: Set<EventKind> = []
        if s.hasPrefix("+") { out = base; s.removeFirst() }
        for part in s.split(separator: ",") {
            let name = String(part).trimmingSpaces
            if name.isEmpty { continue }
            if name == "all" { out.formUnion(Catalogue.kinds); continue }
            guard let k = Catalogue.kind(named: name) else {
                let hint = Catalogue.suggestions(for: name)
                throw ValidationError("unknown event \"\(name)\" in --events" + (hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?")
                                      + " (`moonwatch events list` shows them all)")
            }
            out.insert(k)
        }
        if out.isEmpty { throw ValidationError("--events \"\(text)\" names no event") }
        return out
    }

    /// "30s", "5m", "1h", "250ms", or plain seconds.
    static func seconds(_ text: String) throws -> Double {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, mult) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)), v > 0 { return v * mult }
            break
        }
        if let v = Double(t), v > 0 { return v }
        throw ValidationError("--for \"\(text)\": use a duration like 30s, 5m or 1h")
    }

    /// Installs the stop signals and starts the probes. `reloadable`: attach every program, so
    /// that a later interest can add any kind.
    func start(_ interest: KernelInterest, reloadable: Bool = false) throws -> LiveSource {
        var opts = LiveOptions(interest: interest)
        opts.attachAll = reloadable
        opts.pids = pid
        opts.comms = comm
        opts.uids = uid
        opts.ringBytes = ringMiB << 20
        opts.programStatistics = bpfStats
        opts.warn = { note($0) }
        // MOONWATCH_PROBE_MODE=raw_tp skips tp_btf (for comparing the two, or a kernel where it misbehaves).
        if let m = getenv("MOONWATCH_PROBE_MODE").map({ String(cString: $0) }), !m.isEmpty {
            guard m == "tp_btf" || m == "raw_tp" else { throw ValidationError("MOONWATCH_PROBE_MODE must be tp_btf or raw_tp, not \(m)") }
            opts.forceMode = m
        }
        // --for counts from the moment the probes are attached: loading (the verifier) can take
        // a good part of a short duration on a busy machine.
        let limit = try duration.map { try LiveCaptureOptions.seconds($0) }
        var deadline: Double?
        StopSignal.install()
        let source = try LiveSource(options: opts) {
            StopSignal.requested || deadline.map { StopSignal.monotonicSeconds() >= $0 } ?? false
        }
        deadline = limit.map { StopSignal.monotonicSeconds() + $0 }
        let names = Catalogue.kinds.filter { interest.kinds[$0] != nil }.map(\.name)
        let filtered = interest.kinds.values.filter { if case .matching = $0 { return true }; return false }.count
        var scope: [String] = []
        if !pid.isEmpty { scope.append("pid " + pid.map(String.init).joined(separator: ",") + " and children") }
        if !comm.isEmpty { scope.append("comm " + comm.joined(separator: ",")) }
        if !uid.isEmpty { scope.append("uid " + uid.map(String.init).joined(separator: ",")) }
        note("probes attached (\(source.mode)\(source.fallbackReason.map { "; tp_btf unavailable: \($0)" } ?? "")), "
             + "capturing \(names.count) event kind(s)" + (filtered > 0 ? " (\(filtered) filtered in the kernel)" : "")
             + ": \(names.joined(separator: ", "))"
             + (scope.isEmpty ? "" : "; only \(scope.joined(separator: "; "))")
             + (duration.map { "; for \($0)" } ?? "; Ctrl-C stops"))
        for n in source.interestNotes { note("kernel filter: \(n)") }
        return source
    }
}
