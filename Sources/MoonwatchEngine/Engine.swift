#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import MoonwatchSignatures

/// The pipeline: routes each event, by kind, to only the signatures that selected it; sends
/// findings to the sinks in batches. It does not know where events come from, so `run` and
/// `replay` share it. Runs on one thread; nothing here crosses threads per event.
public final class Engine {
    public let signatures: [Signature]
    private var routes: [[Signature]]
    private let tape = EventTape()
    private let sinks: [FindingSink]
    private var pending: [Finding] = []

    public private(set) var eventsIn: UInt64 = 0
    public private(set) var eventsRouted: UInt64 = 0
    public private(set) var perKind: [UInt64]
    public private(set) var findingsOut: UInt64 = 0
    /// Problems (signature errors, disables) go here, rate-limited per signature.
    public var log: (String) -> Void
    private var problemsLogged: [String: Int] = [:]
    public static let problemLogLimit = 5

    public init(signatures: [Signature], sinks: [FindingSink], log: @escaping (String) -> Void = Engine.stderrLog) {
        self.signatures = signatures
        self.sinks = sinks
        self.log = log
        perKind = [UInt64](repeating: 0, count: Catalogue.count)
        routes = [[Signature]](repeating: [], count: Catalogue.count)
        for s in signatures {
            for k in s.events { routes[k.index].append(s) }
        }
        for s in signatures {
            s.onProblem = { [unowned self] sig, message in self.problem(sig, message) }
            s.onLog = { [unowned self] sig, line in self.log("[\(sig.info.id)] \(line)") }
        }
    }

    public static func stderrLog(_ line: String) {
        var l = "moonwatch: " + line + "\n"
        l.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    private func problem(_ sig: Signature, _ message: String) {
        let n = problemsLogged[sig.info.id, default: 0]
        problemsLogged[sig.info.id] = n + 1
        if sig.isDisabled && message == sig.disabledReason {
            log("signature \(sig.info.id) (\(sig.path)) \(message)")
        } else if n < Engine.problemLogLimit {
            log("signature \(sig.info.id) (\(sig.path)): \(message)" + (n + 1 == Engine.problemLogLimit ? " (further errors of this signature are only counted)" : ""))
        }
    }

    /// Event kinds at least one signature selected: what the probes need to capture.
    public var selectedKinds: [EventKind] {
        Catalogue.kinds.filter { !routes[$0.index].isEmpty }
    }

    /// Processes one batch. Findings reach the sinks before this returns.
    public func process(_ batch: [Event]) throws { try process(batch[...]) }

    /// Not generic on purpose: a generic batch type called from another module runs unspecialized,
    /// copying every event through value witnesses.
    public func process(_ batch: ArraySlice<Event>) throws {
        var pending = self.pending
        self.pending = []
        defer { self.pending = pending }
        for e in batch {
            eventsIn &+= 1
            perKind[e.kind.index] &+= 1
            ProcessTable.observe(e)
            defer { ProcessTable.retire(e) }
            let sigs = routes[e.kind.index]
            if sigs.isEmpty { continue }
            eventsRouted &+= 1
            // The tape is built once, for the first signature whose filter passes.
            var loaded = false
            var facts = EventFacts()
            for s in sigs where s.accepts(e, facts: &facts) {
                if !loaded { tape.load(e); loaded = true }
                s.evaluate(e, tape: tape, into: &pending)
            }
        }
        try emit(&pending)
    }

    private func emit(_ findings: inout [Finding]) throws {
        guard !findings.isEmpty else { return }
        findingsOut += UInt64(findings.count)
        for sink in sinks { try sink.write(findings) }
        findings.removeAll(keepingCapacity: true)
    }

    /// End of input: on_finish of every signature, then flush.
    public func finish(at time: UInt64 = Engine.now()) throws {
        for s in signatures { s.finish(at: time, into: &pending) }
        try emit(&pending)
        for sink in sinks { try sink.flush() }
    }

    /// Pulls batches until the source ends or `shouldStop` says so, then finishes.
    public func run(_ source: EventSource, shouldStop: () -> Bool = { false }) throws {
        var batch: [Event] = []
        batch.reserveCapacity(1024)
        while !shouldStop() {
            batch.removeAll(keepingCapacity: true)
            let more = try source.next(into: &batch)
            if !batch.isEmpty { try process(batch) }
            if !more { break }
        }
        try finish()
    }

    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public func stats(source: SourceStats?) -> EngineStats {
        EngineStats(eventsIn: eventsIn, eventsRouted: eventsRouted,
                    perEvent: Catalogue.kinds.compactMap { perKind[$0.index] > 0 ? ($0.name, perKind[$0.index]) : nil },
                    findings: findingsOut,
                    signatures: signatures.map {
                        EngineStats.SignatureStats(id: $0.info.id, path: $0.path, counters: $0.counters,
                                                   disabled: $0.disabledReason, memoryPeak: $0.memoryPeak)
                    },
                    source: source ?? SourceStats())
    }
}
