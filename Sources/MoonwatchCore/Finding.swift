public enum Severity: String, Sendable, CaseIterable, Comparable {
    case info, low, medium, high, critical

    public var rank: Int { Severity.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }

    /// Falco priority names, as falcosidekick expects them.
    public var falcoPriority: String {
        switch self {
        case .info: return "Informational"
        case .low: return "Notice"
        case .medium: return "Warning"
        case .high: return "Error"
        case .critical: return "Critical"
        }
    }
}

public struct Mitre: Sendable, Equatable {
    public var tactic: String
    public var technique: String
    public init(tactic: String, technique: String) { self.tactic = tactic; self.technique = technique }
}

/// What a finding says about the signature that produced it.
public struct SignatureInfo: Sendable, Equatable {
    public var id: String
    public var name: String
    public var version: String
    public var severity: Severity
    public var tags: [String]
    public var mitre: Mitre?
    public var description: String

    public init(id: String, name: String, version: String, severity: Severity, tags: [String] = [], mitre: Mitre? = nil,
                description: String = "") {
        self.id = id; self.name = name; self.version = version; self.severity = severity; self.tags = tags
        self.mitre = mitre; self.description = description
    }
}

/// A signature matched. Carries the whole triggering event (nil only for findings raised from
/// `on_finish`, which no single event triggered).
public struct Finding: Sendable, Equatable {
    public var signature: SignatureInfo
    public var severity: Severity
    public var message: String
    public var data: Value
    public var event: Event?
    /// Nanoseconds since the epoch: the triggering event's time, or when on_finish ran.
    public var time: UInt64
    /// What makes two findings of one signature "the same" for deduplication: the signature's own
    /// key (`report{ dedup = ... }`), or nil for the default (the process and the message).
    public var dedupKey: String?
    /// Set on the summary written when a window of identical findings closes.
    public var repeats: Repeats?

    public init(signature: SignatureInfo, severity: Severity? = nil, message: String, data: Value = .object(Value.Fields()),
                event: Event?, time: UInt64, dedupKey: String? = nil) {
        self.signature = signature; self.severity = severity ?? signature.severity; self.message = message
        self.data = data; self.event = event; self.time = time; self.dedupKey = dedupKey
    }
}

/// How many findings identical to this one were folded into it, and over what time (event time).
public struct Repeats: Sendable, Equatable {
    /// Findings folded after the first one was written.
    public var count: UInt64
    /// Times (ns since the epoch) of the first finding of the window and of the last one folded.
    public var first: UInt64
    public var last: UInt64
    public init(count: UInt64, first: UInt64, last: UInt64) { self.count = count; self.first = first; self.last = last }
}

/// Where findings go. Sinks are used from one thread (the pipeline's) and receive batches.
public protocol FindingSink: AnyObject {
    func write(_ findings: [Finding]) throws
    func flush() throws
}

/// Where events come from: live probes or a capture. `next` appends a batch to `batch` (which the
/// caller empties) and returns false at end of input. Bad records are counted in `stats`, not
/// thrown; a throw is fatal (I/O failure, or the first bad record under --strict).
public protocol EventSource: AnyObject {
    func next(into batch: inout [Event]) throws -> Bool
    var stats: SourceStats { get }
}

/// What a source saw besides the events it delivered. Every lost or rejected record is here.
public struct SourceStats: Sendable, Equatable {
    /// Records read (lines of a capture, ring-buffer records live).
    public var records: UInt64 = 0
    /// Records rejected and skipped, by reason ("malformed JSON", "unknown event", …).
    public var skipped: [String: UInt64] = [:]
    /// Valid records of events outside the catalogue (e.g. Tracee's own events), by name.
    public var foreign: [String: UInt64] = [:]
    /// Records the kernel could not deliver (ring buffer full), summed over CPUs.
    public var kernelDrops: UInt64 = 0
    /// Other source-specific counters.
    public var extra: [String: UInt64] = [:]
    /// Live sources: what the kernel did with each event kind, by name.
    public var kernel: [String: KernelKindCounters] = [:]

    public init() {}
    public var skippedTotal: UInt64 { skipped.values.reduce(0, +) }
    public var kernelTotal: KernelKindCounters { kernel.values.reduce(KernelKindCounters()) { $0 + $1 } }
    public var foreignTotal: UInt64 { foreign.values.reduce(0, +) }
}

/// What the kernel probes did with the calls of one event kind.
public struct KernelKindCounters: Sendable, Equatable {
    /// Calls of the kind the probes looked at (in scope).
    public var seen: UInt64 = 0
    /// Turned away in the kernel: no loaded signature could accept them.
    public var filtered: UInt64 = 0
    /// Records written to the ring buffer for user space.
    public var submitted: UInt64 = 0
    /// Records lost (ring buffer full, no per-task buffer, entry missed).
    public var dropped: UInt64 = 0

    public init(seen: UInt64 = 0, filtered: UInt64 = 0, submitted: UInt64 = 0, dropped: UInt64 = 0) {
        self.seen = seen; self.filtered = filtered; self.submitted = submitted; self.dropped = dropped
    }

    public static func + (a: KernelKindCounters, b: KernelKindCounters) -> KernelKindCounters {
        KernelKindCounters(seen: a.seen &+ b.seen, filtered: a.filtered &+ b.filtered, submitted: a.submitted &+ b.submitted,
                           dropped: a.dropped &+ b.dropped)
    }
}
