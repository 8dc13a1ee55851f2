#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import MoonwatchSignatures

/// The pipeline: routes each event, by kind, to only the signatures that selected it; sends
/// findings to the sinks in batches. It does not know where events come from, so `run` and
/// `replay` share it. Runs on one thread; nothing here crosses threads per event.
public final class Engine {
    public private(set) var signatures: [Signature]
    /// What `mw.process()` reads: this engine's own, fed from the events it processes.
    public let processTable = ProcessTable()
    private var routes: [[Signature]]
    private let tape = EventTape()
    private let sinks: [FindingSink]
    private var pending: [Finding] = []
    private var pendingBytes = 0
    /// Findings wait for the end of their batch to be written, unless their size (message and
    /// data as the sandbox kept them) passes this: then they are written at once, mid-batch, so
    /// host memory stays bounded however much the signatures report.
    public var pendingByteLimit = 8 << 20
    /// Times pending findings were written early because of `pendingByteLimit`.
    public private(set) var earlyFlushes: UInt64 = 0

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
        routes = []
        install(signatures)
    }

    /// Makes `sigs` the active set, between batches: routes by kind, problem and print() logging,
    /// and this engine's process table for `mw.process()`.
    public func install(_ sigs: [Signature]) {
        for s in signatures where !sigs.contains(where: { $0 === s }) { s.onProblem = nil; s.onLog = nil }
        signatures = sigs
        routes = [[Signature]](repeating: [], count: Catalogue.count)
        for s in sigs {
            for k in s.events { routes[k.index].append(s) }
            s.processTable = processTable
            s.onProblem = { [unowned self] sig, message in self.problem(sig, message) }
            s.onLog = { [unowned self] sig, line in self.log("[\(sig.info.id)] \(line)") }
        }
    }

    deinit {
        // A signature may outlive its engine (a session's set keeps disabled ones, tests keep theirs).
        for s in signatures { s.onProblem = nil; s.onLog = nil }
    }

    public typealias ReloadOutcome = SignatureSet.Outcome

    /// Replaces the signature set between batches, so no event is lost or seen twice, reusing
    /// the instances of files that did not change (see `SignatureSet.assemble`).
    @discardableResult
    public func reload(_ sources: [SignatureSource], limits: SandboxLimits, params: ParamOverrides = [:]) -> ReloadOutcome {
        // Not strict: nothing is thrown.
        let out = (try? SignatureSet.assemble(sources, limits: limits, params: params, previous: signatures, strict: false)) ?? ReloadOutcome()
        install(out.signatures)
        return out
    }

    /// One line on standard error. Messages carry file names, process names and signature text
    /// that others choose: control characters are escaped, so a line cannot drive the terminal
    /// or pretend to be two lines.
    public static func stderrLog(_ line: String) {
        var l = "moonwatch: " + line.terminalSafe + "\n"
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
            processTable.observe(e)
            defer { processTable.retire(e) }
            let sigs = routes[e.kind.index]
            if sigs.isEmpty { continue }
            eventsRouted &+= 1
            // The tape is built once, for the first signature whose filter passes.
            var loaded = false
            var facts = EventFacts()
            for s in sigs where s.accepts(e, facts: &facts) {
                if !loaded { tape.load(e); loaded = true }
                let before = pending.count
                s.evaluate(e, tape: tape, into: &pending)
                if pending.count != before {
                    pendingBytes += s.lastFindingBytes
                    if pendingBytes >= pendingByteLimit { earlyFlushes &+= 1; try emit(&pending) }
                }
            }
        }
        try emit(&pending)
    }

    private func emit(_ findings: inout [Finding]) throws {
        pendingBytes = 0
        guard !findings.isEmpty else { return }
        findingsOut += UInt64(findings.count)
        for sink in sinks { try sink.write(findings) }
        findings.removeAll(keepingCapacity: true)
    }

    /// End of input: on_finish of every signature, then flush.
    public func finish(at time: UInt64 = Engine.now()) throws {
        for s in signatures {
            let before = pending.count
            s.finish(at: time, into: &pending)
            if pending.count != before {
                pendingBytes += s.lastFindingBytes
                if pendingBytes >= pendingByteLimit { earlyFlushes &+= 1; try emit(&pending) }
            }
        }
        try emit(&pending)
        for sink in sinks { try sink.flush() }
    }

    /// Pulls batches until the source ends or `shouldStop` says so, then finishes. `between`
    /// runs before each batch (hot reload, periodic warnings) on this same thread. When the
    /// source fails, the events it delivered before the failure are still processed and the
    /// signatures still finish; then the source's error is thrown. A sink's error ends the run
    /// at once (there is nowhere left to write findings to).
    public func run(_ source: EventSource, shouldStop: () -> Bool = { false }, between: () -> Void = {}) throws {
        var batch: [Event] = []
        batch.reserveCapacity(1024)
        var sourceError: Error?
        while !shouldStop() {
            between()
            batch.removeAll(keepingCapacity: true)
            var more = false
            do { more = try source.next(into: &batch) } catch { sourceError = error }
            if !batch.isEmpty { try process(batch) }
            if !more { break }
        }
        try finish()
        if let sourceError { throw sourceError }
    }

    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public func stats(source: SourceStats?) -> EngineStats {
        EngineStats(eventsIn: eventsIn, eventsRouted: eventsRouted, earlyFlushes: earlyFlushes,
                    perEvent: Catalogue.kinds.compactMap { perKind[$0.index] > 0 ? ($0.name, perKind[$0.index]) : nil },
                    findings: findingsOut,
                    signatures: signatures.map {
                        EngineStats.SignatureStats(id: $0.info.id, path: $0.path, counters: $0.counters,
                                                   disabled: $0.disabledReason, memoryPeak: $0.memoryPeak)
                    },
                    source: source ?? SourceStats())
    }
}
