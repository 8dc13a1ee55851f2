#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCapture
import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchProbes
import MoonwatchSignatures

/// One run of moonwatch, wired: the configuration, the signature set it selects, the source, the
/// engine, the finding gate (severity floor, deduplication, rate limit, environment values) and the
/// sinks; reload (SIGHUP, `--watch`), reopen (SIGUSR1) and stop (SIGINT, SIGTERM) between batches;
/// the kernel interest kept equal to what the enabled signatures can accept; the privilege drop;
/// the counters at the end. `run`, `replay` and `capture` are this type with another input; the
/// commands only parse.
public final class Session {
    /// Where events come from.
    public enum Input {
        /// The kernel probes (`run`).
        case live
        /// Capture files (`replay`); "-" is standard input.
        case replay([String])
        /// Any source; `follow` receives the kernel interest whenever it changes (tests).
        case events(EventSource, follow: ((KernelInterest) -> Void)? = nil)
    }

    /// What a run ended with.
    public struct Outcome {
        public var stats: EngineStats
        public var gate: FindingGate.Counters
        public var elapsed: Double
        /// 0, or the status the command should exit with (1: input lost, 128+n: stopped by signal n).
        public var exitStatus: Int32
    }

    public private(set) var configuration: Configuration
    /// Resolved again on a reload; nil: the configuration cannot be reloaded (tests, `config show`).
    public let configurationSource: ConfigurationSource?
    public var log: (String) -> Void
    /// Install the signal handlers (the CLI; never in a test process).
    public var handlesSignals = false
    /// Drop privileges after attach (`run`).
    public var dropsPrivileges = false
    /// Called between batches with the session (issue 12's metrics publish here, per batch).
    public var onBatch: ((Session) -> Void)?

    /// Every signature in effect, enabled or not, in load order.
    public private(set) var loaded: [Signature] = []
    /// Signatures the configuration disabled, and why.
    public private(set) var disabled: [(signature: Signature, reason: String)] = []
    public let engine: Engine
    public let gate: FindingGate
    /// The interest the kernel has now (live runs and `.events` with `follow`).
    public private(set) var interest: KernelInterest?
    /// Reloads done (each SIGHUP or change seen by --watch that got as far as the signatures).
    public private(set) var reloads = 0

    private var stopFlag = false
    private var reloadFlag = false
    private var reopenFlag = false
    private var pendingError: Error?
    private var follow: ((KernelInterest) -> Void)?
    private var runtimeDisabled = 0
    private var lastEventTime: UInt64 = 0
    private var isLive = false
    private var outputs: [StreamSink] = []
    private var captureWriter: CaptureWriter?
    private var opener: FileOpener?
    private var watch: FileWatch?

    /// Loads and selects the signatures the configuration names (the first problem is thrown,
    /// located); nothing starts yet.
    public init(configuration: Configuration, source: ConfigurationSource? = nil,
                log: @escaping (String) -> Void = Engine.stderrLog) throws {
        self.configuration = configuration
        self.configurationSource = source
        self.log = log
        gate = FindingGate(settings: configuration.gateSettings, sinks: [], log: log)
        engine = Engine(signatures: [], sinks: [gate], log: log)
        let sources = try Session.signatureSources(configuration)
        let set = try SignatureSet.assemble(sources, limits: configuration.limits, params: configuration.params, strict: true)
        for r in set.replaced { log("\(r.by) replaces the bundled signature \(r.id) (\(r.bundled))") }
        if set.signatures.isEmpty {
            throw SessionError(configuration.noBundled
                ? "no signatures: --no-bundled leaves only --signatures, and \(configuration.signatures.isEmpty ? "none was given" : "they hold none")"
                : "no signatures found")
        }
        install(set.signatures, announceUnmatched: true)
        gate.log = log
    }

    /// The sources a configuration names: the bundled set (unless `no_bundled`), then the user's.
    public static func signatureSources(_ c: Configuration) throws(SignatureError) -> [SignatureSource] {
        (c.noBundled ? [] : SignatureLoader.bundledSources) + (try SignatureLoader.sources(at: c.signatures))
    }

    /// Selects the enabled ones and hands them to the engine.
    private func install(_ sigs: [Signature], announceUnmatched: Bool) {
        loaded = sigs
        let sel = SignatureSet.select(sigs, disable: configuration.disable, minSeverity: configuration.minSeverity)
        disabled = sel.disabled
        engine.install(sel.enabled)
        runtimeDisabled = sel.enabled.filter(\.isDisabled).count
        if announceUnmatched {
            for name in sel.unmatched {
                log("disable: \"\(name)\" is neither the id nor a tag of a loaded signature" + Session.closest(name, in: sigs))
            }
            let ids = Set(sigs.map(\.info.id))
            for id in configuration.params.keys.sorted() where !ids.contains(id) {
                let origin = configuration.params[id]!.values.first?.origin ?? "params"
                log("\(origin): parameters for \(id), which no loaded signature has" + Session.closest(id, in: sigs))
            }
        }
    }

    static func closest(_ name: String, in sigs: [Signature]) -> String {
        let names = Set(sigs.map(\.info.id) + sigs.flatMap(\.info.tags))
        let best = names.map { ($0, Catalogue.editDistance(name, $0)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }
        return best.map { " (did you mean \($0.0)?)" } ?? ""
    }

    // MARK: Requests (tests; signals do the same from outside)

    public func requestStop() { stopFlag = true }
    public func requestReload() { reloadFlag = true }
    public func requestReopen() { reopenFlag = true }

    private var stopping: Bool { stopFlag || Signals.stopRequested || pendingError != nil }

    // MARK: Running

    /// Runs until the input ends, a stop is requested, `for` passes (live) or a sink fails.
    /// `sinks`: where findings go; nil opens what the configuration says (standard output or `out`).
    public func run(_ input: Input, sinks custom: [FindingSink]? = nil) throws -> Outcome {
        let started = Signals.monotonicSeconds()
        if handlesSignals {
            let live: Bool = { if case .live = input { return true }; return false }()
            Signals.install(reload: live, reopen: live)
        }
        var live: LiveSource?
        var reader: PrefetchSource?
        let source: EventSource
        var skippedFiles = 0
        switch input {
        case .live:
            isLive = true
            let want = try currentInterest(starting: true)
            let l = try startLive(interest: want)
            live = l
            interest = want
            follow = { [weak l] next in l?.update(interest: next) }
            source = l
        case .replay(let files):
            let (readable, skipped) = Session.excludingFindingFiles(files, log: log)
            skippedFiles = skipped
            // An event must leave a signature half its memory cap for its own state.
            let r = CaptureReader(paths: readable, strict: configuration.strict, maxLineBytes: configuration.maxLine,
                                  maxEventBytes: configuration.limits.memoryBytes / 2, log: log)
            try r.checkReadable()
            reader = PrefetchSource(r)
            source = reader!
        case .events(let s, let f):
            source = s
            follow = f
            if let f { let i = try currentInterest(starting: true); interest = i; f(i) }
        }
        defer { live?.stop(); reader?.stop() }

        // Outputs are opened once the start succeeded: a start that fails truncates nothing.
        let statsFD = try configuration.statsFile.map { p throws(SystemError) in try FileSystem.openForOutput(p) }
        defer { if let statsFD { close(statsFD) } }
        if let custom {
            gate.replaceSinks(custom)
        } else {
            outputs = [try StreamSink(format: configuration.outputFormat(), path: configuration.out)]
            gate.replaceSinks(outputs)
        }
        if let path = configuration.capture, { if case .replay = input { return false }; return true }() {
            captureWriter = try CaptureWriter(path: path)
        }
        log(startLine(live: live, input: input))
        let opener = FileOpener(outputs: outputs.filter(\.isFile).map(\.path) + [captureWriter?.filePath].compactMap { $0 },
                                reads: [configuration.file].compactMap { $0 })
        self.opener = opener
        if isLive && dropsPrivileges {
            // The helper is forked before the drop; the configuration file is read through it.
            try opener.startHelper()
            let (note, warning) = try Privileges.dropAfterAttach(readPaths: configuration.signatures)
            if let warning { log(warning) }
            log(note)
        }
        if configuration.watch { watch = FileWatch(paths: watchedPaths) }

        let tap = Tap(source, session: self)
        var failure: Error?
        do {
            try engine.run(tap, shouldStop: { self.stopping }, between: { self.between() })
            try captureWriter?.flush()
            try gate.closeAll()
        } catch { failure = error }
        if failure == nil, let e = pendingError { failure = e }
        let elapsed = Signals.monotonicSeconds() - started
        let stats = engine.stats(source: source.stats)
        let outcome = Outcome(stats: stats, gate: gate.counters, elapsed: elapsed, exitStatus: 0)
        report(outcome, statsFD: statsFD)
        if let failure {
            if let e = failure as? SystemError, e.errno == EPIPE {
                log("the output was closed (\(e.path ?? e.call): broken pipe); stopped")
                return with(outcome, status: 1)
            }
            throw failure
        }
        if Signals.stopRequested, case .replay = input {
            log("interrupted: " + Plain.count(engine.eventsIn, "event") + " replayed before the signal; findings so far were written")
            return with(outcome, status: Signals.exitStatus)
        }
        if case .replay = input {
            // Bad lines are skipped and counted; input lost whole is a failure of the replay.
            let read = source.stats
            if let n = read.skipped["unreadable file"], n > 0 {
                log("\(Plain.count(n, "input file")) could not be read (see above); the events of the others were replayed")
                return with(outcome, status: 1)
            }
            if skippedFiles > 0 { return with(outcome, status: 1) }
            if read.records > 0 && engine.eventsIn == 0 && read.foreignTotal == 0 {
                log("no line of the input could be read as an event (\(Plain.count(read.records, "line")), all skipped)")
                return with(outcome, status: 1)
            }
        }
        return outcome
    }

    private func with(_ o: Outcome, status: Int32) -> Outcome { var o = o; o.exitStatus = status; return o }

    /// Between batches, on the pipeline thread: signals and requests, the kernel interest, the
    /// deduplication clock, the per-batch hook.
    private func between() {
        if Signals.takeReopen() || reopenFlag { reopenFlag = false; reopenOutputs() }
        var due = reloadFlag || Signals.takeHangup()
        if !due, let w = watch, w.changed() { due = true }
        if due { reloadFlag = false; reload() }
        let nowDisabled = engine.signatures.filter(\.isDisabled).count
        if nowDisabled != runtimeDisabled {
            // A signature the engine disabled (failures) no longer needs its events.
            runtimeDisabled = nowDisabled
            followInterest(reason: "a signature was disabled")
        }
        // Live: event time is the wall clock, less a little for events still on their way up.
        let now = isLive ? Engine.now() &- 2_000_000_000 : lastEventTime
        do { try gate.advance(to: now) } catch { pendingError = error }
        onBatch?(self)
    }

    // MARK: Reload

    /// Re-resolves the configuration (file re-read), reloads the signatures and applies the
    /// tuning. A configuration that does not resolve changes nothing; a signature file that does
    /// not load keeps its previous version running.
    public func reload() {
        var next = configuration
        if let src = configurationSource {
            let read: (String) throws(SystemError) -> String = { [opener] path throws(SystemError) in
                if let opener { return try opener.readText(path) }
                return try FileSystem.readText(path)
            }
            do { next = try src.resolve(readFile: read) } catch {
                log("reload: the configuration is not valid, keeping the previous one: \(error)")
                return
            }
        }
        var restart: [String] = []
        for k in ConfigKey.all where k.restartOnly && next.yamlValue(k.name) != configuration.yamlValue(k.name) {
            restart.append(k.name)
        }
        next = next.keepingRestartOnly(from: configuration)
        if !restart.isEmpty {
            log("reload: \(restart.joined(separator: ", ")) changed; \(restart.count == 1 ? "it takes" : "they take") effect at the next start")
        }
        let sources: [SignatureSource]
        do { sources = try Session.signatureSources(next) } catch {
            log("reload failed, keeping every signature as it was: \(error)")
            return
        }
        let out = (try? SignatureSet.assemble(sources, limits: next.limits, params: next.params, previous: loaded, strict: false))
            ?? SignatureSet.Outcome()
        for (path, reason) in out.failed { log("reload: \(reason) — the previous version of \(path) keeps running") }
        for r in out.replaced where !out.unchanged.contains(r.by) { log("\(r.by) replaces the bundled signature \(r.id) (\(r.bundled))") }
        let before = Set(engine.signatures.map { ObjectIdentifier($0) })
        configuration = next
        gate.settings = next.gateSettings
        install(out.signatures, announceUnmatched: true)
        reloads += 1
        watch?.paths = watchedPaths
        let enabledNow = Set(engine.signatures.map { ObjectIdentifier($0) })
        log("reload: \(out.reloaded.count) reloaded, \(out.added.count) added, \(out.removed.count) removed, "
            + "\(out.unchanged.count) unchanged, \(out.failed.count) failed; "
            + "\(engine.signatures.count) enabled, \(disabled.count) disabled"
            + (before == enabledNow ? "" : " (the enabled set changed)"))
        followInterest(reason: "reload")
    }

    /// The kernel follows the enabled signatures: kinds added are captured from now on, kinds no
    /// enabled signature selects stop leaving the kernel.
    private func followInterest(reason: String) {
        guard let follow, let current = interest else { return }
        let next: KernelInterest
        do { next = try currentInterest(starting: false) } catch {
            log("\(reason): \(error); the probes keep capturing what they did")
            return
        }
        guard next != current else { return }
        follow(next)
        interest = next
        log("\(reason): the probes now capture " + Plain.count(UInt64(next.kinds.count), "event kind"))
    }

    /// What the enabled signatures can accept, limited or extended by `events`: named kinds no
    /// signature selects are captured whole, kinds not named are not captured.
    func currentInterest(starting: Bool) throws -> KernelInterest {
        let sigs = KernelInterest(signatures: engine.signatures.filter { !$0.isDisabled })
        guard let events = configuration.events else {
            if sigs.kinds.isEmpty && starting {
                throw SessionError("no events to capture: the enabled signatures select none; name some with --events")
            }
            return sigs
        }
        let kinds = try Configuration.eventKinds(events, base: Set(sigs.kinds.keys)) { ConfigError("--events", $0) }
        var out = KernelInterest()
        for k in kinds { out.kinds[k] = sigs.kinds[k] ?? .all }
        return out
    }

    var watchedPaths: [String] {
        configuration.signatures + [configuration.file].compactMap { $0 }
    }

    // MARK: Reopen

    /// Opens the output files again at their paths (SIGUSR1 after logrotate); one that cannot be
    /// opened keeps being written where it was, with a message.
    public func reopenOutputs() {
        guard let opener, !opener.outputs.isEmpty else {
            log("reopen: no output file to reopen (findings go to standard output)")
            return
        }
        for (path, result) in opener.reopenOutputs() {
            switch result {
            case .success(let fd):
                do {
                    if let s = outputs.first(where: { $0.path == path }) { try s.replaceDescriptor(fd) }
                    else if let w = captureWriter, w.filePath == path { try w.replaceDescriptor(fd) }
                    else { close(fd) }
                    log("reopened \(path)")
                } catch { pendingError = error }
            case .failure(let e):
                log("reopen: \(e); still writing to the file opened before")
            }
        }
    }

    // MARK: Live

    private func startLive(interest: KernelInterest) throws -> LiveSource {
        var opts = try liveOptions(interest)
        opts.attachAll = true   // a reload can add any kind
        return try startProbes(opts)
    }

    /// The probes' options from the configuration: scope, ring, statistics, and
    /// MOONWATCH_PROBE_MODE=raw_tp, which skips tp_btf (comparing the two, or a kernel where it misbehaves).
    private func liveOptions(_ interest: KernelInterest) throws -> LiveOptions {
        var opts = LiveOptions(interest: interest)
        opts.pids = configuration.pid
        opts.comms = configuration.comm
        opts.uids = configuration.uid
        opts.ringBytes = configuration.ringSize << 20
        opts.programStatistics = configuration.bpfStats
        opts.warn = { Engine.stderrLog($0) }
        if let m = getenv("MOONWATCH_PROBE_MODE").map({ String(cString: $0) }), !m.isEmpty {
            guard m == "tp_btf" || m == "raw_tp" else { throw SessionError("MOONWATCH_PROBE_MODE must be tp_btf or raw_tp, not \(m)") }
            opts.forceMode = m
        }
        return opts
    }

    /// Starts the probes; `for` counts from the moment they are attached (loading, the verifier,
    /// can take a good part of a short duration on a busy machine).
    private func startProbes(_ opts: LiveOptions) throws -> LiveSource {
        let limit = configuration.duration
        var deadline: Double?
        let source = try LiveSource(options: opts) {
            Signals.stopRequested || deadline.map { Signals.monotonicSeconds() >= $0 } ?? false
        }
        deadline = limit.map { Signals.monotonicSeconds() + $0 }
        for n in source.interestNotes { log("kernel filter: \(n)") }
        return source
    }

    // MARK: Capture

    /// `moonwatch capture`: records every call of the selected kinds (nothing is filtered in the
    /// kernel, no signature runs) to `file`. Without `events`, the kinds are those the enabled
    /// signatures select, so replaying the file gives the findings a live run would have.
    public func capture(to file: String) throws -> Outcome {
        let started = Signals.monotonicSeconds()
        if handlesSignals { Signals.install(reload: false, reopen: true) }
        isLive = true
        let base = Set(engine.signatures.flatMap(\.events))
        let kinds = try configuration.events.map { e throws(ConfigError) in
            try Configuration.eventKinds(e, base: base) { ConfigError("--events", $0) }
        } ?? base
        if kinds.isEmpty { throw SessionError("no events to capture: the signatures select none; name some with --events") }
        let source = try startProbes(try liveOptions(.everything(kinds)))
        defer { source.stop() }
        let names = Catalogue.kinds.filter { kinds.contains($0) }.map(\.name)
        // Last: a failed start leaves an existing file alone.
        let writer = try CaptureWriter(path: file)
        captureWriter = writer
        opener = FileOpener(outputs: [writer.filePath].compactMap { $0 }, reads: [])
        log("probes attached (\(source.mode)\(source.fallbackReason.map { "; tp_btf unavailable: \($0)" } ?? "")); capturing "
            + Plain.count(UInt64(names.count), "event kind") + (configuration.verbose ? ": " + names.joined(separator: ", ") : "")
            + "; events go to \(file == "-" ? "standard output" : file)" + (configuration.captureEnv ? "" : " (environment values removed)")
            + "; " + (configuration.duration.map { "for \(Configuration.durationText($0))" } ?? "Ctrl-C stops"))
        // The same pull loop as run and replay, with no signatures: it only counts, the tap writes.
        let counter = Engine(signatures: [], sinks: [], log: log)
        try counter.run(Tap(source, session: self), shouldStop: { self.stopping }, between: {
            if Signals.takeReopen() || self.reopenFlag { self.reopenFlag = false; self.reopenOutputs() }
        })
        try writer.flush()
        if let e = pendingError { throw e }
        let written = writer.written, s = source.stats
        if configuration.stats {
            var f = Value.Fields()
            f.append("events_written", .unsigned(written))
            f.append("records", .unsigned(s.records))
            f.append("skipped", .unsigned(s.skippedTotal))
            f.append("kernel_drops", .unsigned(s.kernelDrops))
            f.append("extra", .object(Value.Fields(s.extra.sorted { $0.key < $1.key }.map { ($0.key, Value.unsigned($0.value)) })))
            var text = Value.object(f).jsonText + "\n"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        } else {
            log("captured \(written) events to \(file == "-" ? "standard output" : file) in \(Plain.duration(Signals.monotonicSeconds() - started)); "
                + "\(Plain.count(s.records, "record")), \(s.skippedTotal) skipped, \(s.kernelDrops) dropped in the kernel")
            let by = Catalogue.kinds.filter { counter.perKind[$0.index] > 0 }.map { "\($0.name) \(counter.perKind[$0.index])" }
            if !by.isEmpty { log("  by event: " + by.joined(separator: ", ")) }
        }
        return Outcome(stats: counter.stats(source: s), gate: FindingGate.Counters(), elapsed: Signals.monotonicSeconds() - started,
                       exitStatus: 0)
    }

    // MARK: Start line and summary

    /// "probes attached (tp_btf); 12 signatures (2 disabled); findings go to standard output as a
    /// table; Ctrl-C stops" — where findings go, how many signatures; the kinds with --verbose.
    func startLine(live: LiveSource?, input: Input) -> String {
        var parts: [String] = []
        if let live {
            parts.append("probes attached (\(live.mode)\(live.fallbackReason.map { "; tp_btf unavailable: \($0)" } ?? ""))")
        } else if case .replay(let files) = input {
            parts.append("replaying " + (files.count == 1 ? (files[0] == "-" ? "standard input" : files[0]) : Plain.count(UInt64(files.count), "file")))
        }
        parts.append(Session.signatureLine(enabled: engine.signatures.count, disabled: disabled.count))
        if let i = interest, live != nil {
            let filtered = i.kinds.values.filter { if case .matching = $0 { return true }; return false }.count
            var k = Plain.count(UInt64(i.kinds.count), "event kind") + (filtered > 0 ? " (\(filtered) filtered in the kernel)" : "")
            if configuration.verbose { k += ": " + Catalogue.kinds.filter { i.kinds[$0] != nil }.map(\.name).joined(separator: ", ") }
            parts.append(k)
        }
        let c = configuration
        var scope: [String] = []
        if !c.pid.isEmpty { scope.append("pid " + c.pid.map(String.init).joined(separator: ",") + " and children") }
        if !c.comm.isEmpty { scope.append("comm " + c.comm.joined(separator: ",")) }
        if !c.uid.isEmpty { scope.append("uid " + c.uid.map(String.init).joined(separator: ",")) }
        if !scope.isEmpty { parts.append("only " + scope.joined(separator: "; ")) }
        if outputs.isEmpty {
            parts.append("findings go to the configured sinks")
        } else {
            let f = outputs[0]
            parts.append("findings go to " + (f.isFile ? f.path : "standard output") + " as " + (f.format == .table ? "a table" : f.format.rawValue))
        }
        if let w = captureWriter { parts.append("events to \(w.filePath ?? "standard output")") }
        if live != nil { parts.append(c.duration.map { "for \(Configuration.durationText($0))" } ?? "Ctrl-C stops") }
        return parts.joined(separator: "; ")
    }

    static func signatureLine(enabled: Int, disabled: Int) -> String {
        Plain.count(UInt64(enabled), "signature") + " enabled" + (disabled > 0 ? ", \(disabled) disabled" : "")
    }

    /// The counters: text on standard error (JSON with `stats`), and JSON to `stats_file`.
    private func report(_ o: Outcome, statsFD: Int32?) {
        let json = statsJSON(o)
        if let statsFD {
            var text = json.jsonText + "\n"
            text.withUTF8 { b in _ = try? FileSystem.writeAll(statsFD, Array(b), path: configuration.statsFile) }
        }
        if configuration.stats {
            var text = json.jsonText + "\n"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            return
        }
        for line in summary(o).split(separator: "\n") { log(String(line)) }
    }

    /// The end-of-run summary in plain words.
    public func summary(_ o: Outcome) -> String {
        var text = o.stats.text(elapsed: o.elapsed, verbose: configuration.verbose)
        let g = o.gate
        var parts: [String] = []
        if g.folded > 0 {
            parts.append(Plain.count(g.folded, "repeat") + " folded into " + Plain.count(g.summaries, "summary", plural: "summaries"))
        }
        if g.rateLimitedTotal > 0 {
            parts.append("\(Plain.number(g.rateLimitedTotal)) held back by the rate limit ("
                         + g.rateLimited.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
        }
        if g.belowSeverity > 0 { parts.append("\(Plain.number(g.belowSeverity)) below --min-severity dropped") }
        if g.envValuesRemoved > 0 { parts.append(Plain.count(g.envValuesRemoved, "environment value") + " removed") }
        text += "\nfindings: " + Plain.number(g.written) + " written" + (parts.isEmpty ? "" : "; " + parts.joined(separator: "; "))
        if !disabled.isEmpty {
            text += "\n" + Plain.count(UInt64(disabled.count), "signature") + " disabled by the configuration: "
                + disabled.map { "\($0.signature.info.id) (\($0.reason))" }.joined(separator: ", ")
        }
        return text
    }

    func statsJSON(_ o: Outcome) -> Value {
        guard case .object(var f) = o.stats.json else { return o.stats.json }
        let g = o.gate
        f.append("signatures_off", .array(disabled.map { .object([("id", .string($0.signature.info.id)), ("reason", .string($0.reason))]) }))
        f.append("elapsed_seconds", .double((o.elapsed * 1000).rounded() / 1000))
        f.append("output", .object([
            ("written", .unsigned(g.written)), ("folded", .unsigned(g.folded)), ("summaries", .unsigned(g.summaries)),
            ("rate_limited", .unsigned(g.rateLimitedTotal)),
            ("rate_limited_by_signature", .object(Value.Fields(g.rateLimited.sorted { $0.key < $1.key }.map { ($0.key, Value.unsigned($0.value)) }))),
            ("below_min_severity", .unsigned(g.belowSeverity)), ("window_overflows", .unsigned(g.windowOverflows)),
            ("env_values_removed", .unsigned(g.envValuesRemoved)),
        ]))
        return .object(f)
    }

    // MARK: Replay input

    /// Findings written by moonwatch are not a capture: a file whose first line is one is named
    /// once and left out (rather than thousands of "malformed event" lines). Tracee-format findings
    /// are Tracee events, which replay reads (and counts as foreign), so they are not refused.
    static func excludingFindingFiles(_ files: [String], log: (String) -> Void) -> (files: [String], skipped: Int) {
        var keep: [String] = [], skipped = 0
        for f in files {
            if f != "-", let kind = findingsFormat(firstLineOf: f) {
                log("\(f) holds findings (moonwatch's \(kind) output), not captured events: replay reads captures "
                    + "(`moonwatch capture`, `run --capture`, `tracee --output json`); skipped")
                skipped += 1
            } else {
                keep.append(f)
            }
        }
        return (keep, skipped)
    }

    static func findingsFormat(firstLineOf path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let line = buf[..<n].prefix { $0 != 0x0A }
        guard let v = try? JSONParser.parse(Array(line)), case .object = v else { return nil }
        if v["signature"]?["id"] != nil && v["message"] != nil && v["event"] != nil { return "json" }
        if v["rule"] != nil && v["priority"] != nil && v["output_fields"] != nil { return "falco" }
        return nil
    }

    // MARK: The source seen by the engine

    /// Passes the source's batches through: writes them to the capture file (environment values
    /// removed unless `capture_env`), and notes the latest event time (the deduplication clock of
    /// a replay). Per batch, not per event, except for the copy of events that carry an environment.
    final class Tap: EventSource {
        let inner: EventSource
        unowned let session: Session
        private var scratch: [Event] = []

        init(_ inner: EventSource, session: Session) { self.inner = inner; self.session = session }

        func next(into batch: inout [Event]) throws -> Bool {
            let more = try inner.next(into: &batch)
            guard let last = batch.last else { return more }
            session.lastEventTime = max(session.lastEventTime, last.time)
            if let w = session.captureWriter {
                if session.configuration.captureEnv || !batch.contains(where: { EnvRedaction.carriesEnvironment($0.kind) }) {
                    try w.write(batch)
                } else {
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(contentsOf: batch)
                    let r = EnvRedaction(keep: Set(session.configuration.keepEnv))
                    for i in scratch.indices where EnvRedaction.carriesEnvironment(scratch[i].kind) { r.apply(&scratch[i]) }
                    try w.write(scratch)
                }
            }
            return more
        }

        var stats: SourceStats { inner.stats }
    }
}

public struct SessionError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

extension Configuration {
    /// This configuration with the keys that only take effect at start taken from `old`.
    func keepingRestartOnly(from old: Configuration) -> Configuration {
        var c = self
        c.output = old.output; c.out = old.out; c.stats = old.stats; c.statsFile = old.statsFile
        c.strict = old.strict; c.maxLine = old.maxLine; c.duration = old.duration
        c.pid = old.pid; c.comm = old.comm; c.uid = old.uid; c.ringSize = old.ringSize; c.bpfStats = old.bpfStats
        c.capture = old.capture; c.watch = old.watch
        for k in ConfigKey.all where k.restartOnly { c.origins[k.name] = old.origins[k.name] }
        return c
    }
}

/// `--watch`: modification times of the signature files and the configuration file.
final class FileWatch {
    var paths: [String] { didSet { fingerprint = current() } }
    private var fingerprint: [String: Int64] = [:]
    private var lastPoll: UInt64 = 0
    static let interval: UInt64 = 1_000_000_000

    init(paths: [String]) { self.paths = paths; fingerprint = current() }

    func changed() -> Bool {
        let now = Engine.now()
        guard now &- lastPoll >= FileWatch.interval else { return false }
        lastPoll = now
        let f = current()
        guard f != fingerprint else { return false }
        fingerprint = f
        return true
    }

    private func current() -> [String: Int64] {
        var f: [String: Int64] = [:]
        var files = (try? SignatureLoader.sources(at: paths.filter { FileSystem.isDirectory($0) }).map(\.path)) ?? []
        files += paths.filter { !FileSystem.isDirectory($0) }
        for p in files {
            var st = stat()
            if stat(p, &st) == 0 { f[p] = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec) }
        }
        return f
    }
}
