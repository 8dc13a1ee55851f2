import MoonwatchCore

/// What stands between the signatures and the sinks: the severity floor, deduplication, the
/// per-signature rate limit and the removal of environment values. Findings arrive in batches
/// from the engine's thread; everything here is per finding (findings are rare next to events),
/// and nothing here is on the per-event path.
///
/// **Deduplication.** Findings of one signature with the same key (the signature's own
/// `report{ dedup = ... }`, by default the process and the message) within `dedupWindow` of event
/// time are written once: the first goes out at once, the others are counted, and when the window
/// closes (event time passed its end, or the run ended) one summary goes out: the last of them,
/// with `repeats` (how many were folded, first and last time). A window closes on event time so
/// that a replay folds exactly as the live run did.
///
/// **Rate limit.** After deduplication, at most `rateLimit` findings of one signature per minute
/// of event time are written; the rest are counted, and when the minute ends one finding of the
/// signature says how many were held back. Summaries are never held back.
public final class FindingGate: FindingSink {
    public struct Settings: Sendable, Equatable {
        /// Nanoseconds; 0 turns deduplication off.
        public var dedupWindow: UInt64 = 60_000_000_000
        /// Findings per signature per minute; 0 turns the limit off.
        public var rateLimit: Int = 0
        /// Findings below this severity are dropped (a signature may report below its default).
        public var minSeverity: Severity?
        /// Environment variables whose values findings keep (names are always kept).
        public var keepEnv: Set<String> = []
        /// Open deduplication windows at most; past this, all are closed (summaries written).
        public var maxWindows = 10_000
        public init() {}
    }

    public struct Counters: Sendable, Equatable {
        /// Findings written to the sinks (summaries included).
        public var written: UInt64 = 0
        /// Findings folded into a window (not written on their own).
        public var folded: UInt64 = 0
        /// Summaries of folded findings written.
        public var summaries: UInt64 = 0
        /// Held back by the rate limit, by signature id.
        public var rateLimited: [String: UInt64] = [:]
        /// Dropped for a severity below `minSeverity`.
        public var belowSeverity: UInt64 = 0
        /// Times the window table was full and every window was closed early.
        public var windowOverflows: UInt64 = 0
        /// Environment values removed from findings.
        public var envValuesRemoved: UInt64 = 0
        public var rateLimitedTotal: UInt64 { rateLimited.values.reduce(0, +) }
        public init() {}
    }

    public var settings: Settings {
        didSet { redaction = EnvRedaction(keep: settings.keepEnv) }
    }
    public private(set) var counters = Counters()
    /// The sinks findings go on to.
    public private(set) var sinks: [FindingSink]
    public var log: (String) -> Void

    private struct Key: Hashable { var signature: String; var key: String }
    private struct Window {
        var first: UInt64
        var count: UInt64 = 0
        var lastTime: UInt64
        var last: Finding?
    }
    private var windows: [Key: Window] = [:]
    /// The earliest time some window ends (recomputed when windows close).
    private var nextDeadline = UInt64.max

    private struct Period { var start: UInt64; var written: Int; var held: UInt64; var info: SignatureInfo }
    private var periods: [String: Period] = [:]
    static let ratePeriod: UInt64 = 60_000_000_000

    private var redaction: EnvRedaction
    private var out: [Finding] = []

    public init(settings: Settings = Settings(), sinks: [FindingSink], log: @escaping (String) -> Void = { _ in }) {
        self.settings = settings
        self.sinks = sinks
        self.log = log
        redaction = EnvRedaction(keep: settings.keepEnv)
    }

    public func replaceSinks(_ sinks: [FindingSink]) { self.sinks = sinks }

    // MARK: FindingSink

    public func write(_ findings: [Finding]) throws {
        out.removeAll(keepingCapacity: true)
        for f in findings { admit(f) }
        try send()
    }

    /// Flushes the sinks (windows stay open: `closeAll` ends them).
    public func flush() throws {
        for s in sinks { try s.flush() }
    }

    // MARK: Time

    /// Closes the windows and rate periods that ended before `now` (event time, ns): the summaries
    /// go out. Called between batches.
    public func advance(to now: UInt64) throws {
        guard now >= nextDeadline || periods.values.contains(where: { $0.held > 0 && now &- $0.start >= FindingGate.ratePeriod }) else { return }
        out.removeAll(keepingCapacity: true)
        closeWindows { now >= $0.first &+ settings.dedupWindow }
        closePeriods { now &- $0.start >= FindingGate.ratePeriod }
        try send()
    }

    /// End of the run (or a change of settings): every window and period closes now.
    public func closeAll() throws {
        out.removeAll(keepingCapacity: true)
        closeWindows { _ in true }
        closePeriods { _ in true }
        try send()
        try flush()
    }

    // MARK: Internals

    private func admit(_ f: Finding) {
        if let min = settings.minSeverity, f.severity < min { counters.belowSeverity &+= 1; return }
        guard settings.dedupWindow > 0 else { limit(f); return }
        let key = Key(signature: f.signature.id, key: f.dedupKey ?? FindingGate.defaultKey(f))
        if var w = windows[key] {
            let age = f.time >= w.first ? f.time - w.first : w.first - f.time
            if age < settings.dedupWindow {
                w.count &+= 1
                w.lastTime = max(w.lastTime, f.time)
                w.last = f
                windows[key] = w
                counters.folded &+= 1
                return
            }
            windows[key] = nil
            summarize(w)
        }
        if windows.count >= settings.maxWindows {
            counters.windowOverflows &+= 1
            closeWindows { _ in true }
        }
        windows[key] = Window(first: f.time, lastTime: f.time)
        nextDeadline = min(nextDeadline, f.time &+ settings.dedupWindow)
        limit(f)
    }

    /// The default "same finding": same process, same message.
    static func defaultKey(_ f: Finding) -> String {
        "\(f.event?.process.pid ?? 0)\u{0}" + f.message
    }

    private func limit(_ f: Finding) {
        guard settings.rateLimit > 0 else { emit(f); return }
        let id = f.signature.id
        var p = periods[id] ?? Period(start: f.time, written: 0, held: 0, info: f.signature)
        if f.time &- p.start >= FindingGate.ratePeriod && f.time >= p.start {
            heldBack(p)
            p = Period(start: f.time, written: 0, held: 0, info: f.signature)
        }
        if p.written < settings.rateLimit {
            p.written += 1
            emit(f)
        } else {
            p.held &+= 1
            counters.rateLimited[id, default: 0] &+= 1
        }
        periods[id] = p
    }

    private func heldBack(_ p: Period) {
        guard p.held > 0 else { return }
        let n = p.held, limit = settings.rateLimit
        let message = "\(n) more \(n == 1 ? "finding" : "findings") of this signature in the minute from "
            + FindingFormatter.rfc3339(p.start, fraction: 0) + " were not written (rate limit: \(limit) a minute)"
        log("\(p.info.id): " + message)
        var data = Value.Fields()
        data.append("held_back", .unsigned(n))
        data.append("rate_limit_per_minute", .int(Int64(limit)))
        emit(Finding(signature: p.info, message: message, data: .object(data), event: nil, time: p.start &+ FindingGate.ratePeriod))
    }

    private func summarize(_ w: Window) {
        guard w.count > 0, var f = w.last else { return }
        f.repeats = Repeats(count: w.count, first: w.first, last: w.lastTime)
        counters.summaries &+= 1
        emit(f)
    }

    private func closeWindows(_ due: (Window) -> Bool) {
        var next = UInt64.max
        for (k, w) in windows {
            if due(w) { windows[k] = nil; summarize(w) } else { next = min(next, w.first &+ settings.dedupWindow) }
        }
        nextDeadline = next
    }

    private func closePeriods(_ due: (Period) -> Bool) {
        for (id, p) in periods where due(p) {
            heldBack(p)
            periods[id] = nil
        }
    }

    private func emit(_ f: Finding) {
        var f = f
        counters.envValuesRemoved &+= UInt64(redaction.apply(&f))
        out.append(f)
    }

    private func send() throws {
        guard !out.isEmpty else { return }
        // Summaries close in no particular order; the sinks get them in time order.
        if out.count > 1 { out.sort { $0.time < $1.time } }
        counters.written &+= UInt64(out.count)
        for s in sinks { try s.write(out) }
        out.removeAll(keepingCapacity: true)
    }
}

/// Removes environment values from events (findings, captures): `NAME=value` becomes
/// `NAME=<redacted>` unless NAME is kept. Names stay, so "it ran with LD_PRELOAD set" is still
/// visible; the value (a token, a password) is not. Arguments named `envp` are environments.
public struct EnvRedaction: Sendable {
    public static let marker = "<redacted>"
    public var keep: Set<String>
    public init(keep: Set<String> = []) { self.keep = keep }

    /// Per event kind, the indexes of its environment arguments.
    static let envArgs: [[Int]] = Catalogue.kinds.map { k in k.spec.args.indices.filter { k.spec.args[$0].name == "envp" } }

    /// Whether events of `kind` can carry an environment.
    public static func carriesEnvironment(_ kind: EventKind) -> Bool { !envArgs[kind.index].isEmpty }

    /// Redacts the finding's event; returns how many values were removed.
    @discardableResult
    public func apply(_ f: inout Finding) -> Int {
        guard var e = f.event, EnvRedaction.carriesEnvironment(e.kind) else { return 0 }
        let n = apply(&e)
        if n > 0 { f.event = e }
        return n
    }

    /// Redacts one event in place; returns how many values were removed.
    @discardableResult
    public func apply(_ e: inout Event) -> Int {
        var removed = 0
        for i in EnvRedaction.envArgs[e.kind.index] {
            if i < e.args.count, let v = e.args[i] { e.args[i] = redact(v, &removed) }
            if i < e.exitArgs.count, let v = e.exitArgs[i] { e.exitArgs[i] = redact(v, &removed) }
        }
        return removed
    }

    private func redact(_ v: Value, _ removed: inout Int) -> Value {
        guard case .array(let items) = v else { return v }
        return .array(items.map { item in
            guard case .string(let s) = item, let eq = s.firstIndex(of: "=") else { return item }
            let name = String(s[..<eq])
            if keep.contains(name) || s[s.index(after: eq)...] == EnvRedaction.marker { return item }
            removed += 1
            return .string(name + "=" + EnvRedaction.marker)
        })
    }
}
