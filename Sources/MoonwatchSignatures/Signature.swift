import MoonwatchCore

/// Counters of one loaded signature.
public struct SignatureCounters: Sendable, Equatable {
    public var calls: UInt64 = 0
    /// Events routed to the signature that its filter turned away without calling Lua.
    public var filtered: UInt64 = 0
    public var findings: UInt64 = 0
    public var findingsDropped: UInt64 = 0
    /// Findings whose message or data was over the size caps and was cut.
    public var findingsCut: UInt64 = 0
    public var runtimeErrors: UInt64 = 0
    public var budgetKills: UInt64 = 0
    public var memoryErrors: UInt64 = 0
    /// Calls the watchdog stopped (they ran past the time limit, or were still running at shutdown).
    public var timeouts: UInt64 = 0
    public var failures: UInt64 { runtimeErrors + budgetKills + memoryErrors + timeouts }
}

/// A loaded, sandboxed signature. Confined to the pipeline thread.
public final class Signature {
    /// Consecutive failed calls that disable a signature, and failures in total that do.
    public static let consecutiveFailureLimit = 10
    public static let totalFailureLimit: UInt64 = 100

    public let info: SignatureInfo
    public let events: [EventKind]
    public let path: String
    public let hasFinish: Bool
    /// The text it was compiled from (a reload skips files whose text did not change).
    public let sourceText: String
    /// Checked natively before the event reaches Lua.
    public let filter: SignatureFilter
    /// The parameters it declares, and the values in effect (what the global `params` holds).
    public let params: SignatureParams
    public let paramValues: Value
    /// The overrides those values came from (a reload with other overrides makes a new instance).
    public let paramOverrides: [String: ParamOverride]
    /// Compiled into the binary.
    public let bundled: Bool
    let sandbox: LuaSandbox

    public internal(set) var counters = SignatureCounters()
    public private(set) var disabledReason: String?
    public private(set) var lastError: String?
    /// Size of the findings the last call added (message and data bytes), for the engine's
    /// bound on findings waiting to be written.
    public private(set) var lastFindingBytes = 0
    private var consecutiveFailures = 0

    /// Called with (signature, message) for errors and disables; the engine logs them rate-limited.
    public var onProblem: ((Signature, String) -> Void)?
    /// Called with (signature, line) for print() output.
    public var onLog: ((Signature, String) -> Void)?

    /// Compiles `source`; `params` holds overrides by signature id (only this signature's are used).
    public init(source: SignatureSource, limits: SandboxLimits = .default, params: ParamOverrides = [:]) throws(SignatureError) {
        let (sandbox, meta) = try SignatureLoader.compile(source, limits: limits)
        let overrides = params[meta.info.id] ?? [:]
        let values: Value
        do { values = try meta.params.values(with: overrides, signatureID: meta.info.id) } catch {
            throw SignatureError(file: error.origin ?? source.path, line: nil, message: error.message + " (\(source.path))")
        }
        if let failure = sandbox.setGlobal("params", values) {
            throw SignatureError(file: source.path, line: nil, message: "cannot hand over its parameters (\(failure.rawValue)): \(sandbox.lastError)")
        }
        self.sandbox = sandbox
        self.info = meta.info
        self.events = meta.events
        self.hasFinish = meta.hasFinish
        self.filter = meta.filter
        self.params = meta.params
        self.paramValues = values
        self.paramOverrides = overrides
        self.bundled = source.bundled
        self.path = source.path
        self.sourceText = source.text
    }

    /// Points `mw.process()` of this signature at a session's process table.
    public var processTable: ProcessTable? {
        get { sandbox.processTable }
        set { sandbox.processTable = newValue }
    }

    public var isDisabled: Bool { disabledReason != nil }

    /// A reloaded signature continues its predecessor's counters (the stats cover the whole run).
    public func carryCounters(from old: Signature) { counters = old.counters }
    public var memoryUsed: Int { sandbox.memoryUsed }
    public var limits: SandboxLimits { sandbox.limits }
    public var memoryPeak: Int { sandbox.memoryPeak }

    /// Runs on_event for one event (already on `tape`); appends findings.
    /// Native pre-check; counts what it turns away.
    @inline(__always)
    public func accepts(_ event: Event, facts: inout EventFacts) -> Bool {
        if disabledReason != nil { return false }
        if filter.matches(event, facts: &facts) { return true }
        counters.filtered &+= 1
        return false
    }

    @inline(__always)
    public func evaluate(_ event: Event, tape: EventTape, into findings: inout [Finding]) {
        guard disabledReason == nil else { return }
        counters.calls += 1
        let failure = sandbox.onEvent(tape)
        collect(event: event, time: event.time, failure: failure, call: "on_event", into: &findings)
    }

    /// Runs on_finish (end of input or shutdown).
    public func finish(at time: UInt64, into findings: inout [Finding]) {
        guard disabledReason == nil, hasFinish else { return }
        let failure = sandbox.onFinish()
        collect(event: nil, time: time, failure: failure, call: "on_finish", into: &findings)
    }

    private func collect(event: Event?, time: UInt64, failure: SandboxFailure?, call: String, into findings: inout [Finding]) {
        // Findings reported before a failure in the same call still stand: they were reported.
        if sandbox.pendingFindingCount > 0 || sandbox.droppedFindingCount > 0 {
            counters.findingsDropped += UInt64(sandbox.droppedFindingCount)
            counters.findingsCut += UInt64(sandbox.cutFindingCount)
            var bytes = 0
            defer { lastFindingBytes = bytes }
            for raw in sandbox.takeFindings(bytes: &bytes) {
                counters.findings += 1
                findings.append(Finding(signature: info, severity: raw.severity, message: raw.message, data: raw.data,
                                        event: event, time: time, dedupKey: raw.dedupKey))
            }
        }
        if let onLog { for line in sandbox.takeLog() { onLog(self, line) } } else { _ = sandbox.takeLog() }
        guard let failure else { consecutiveFailures = 0; return }
        switch failure {
        case .budget: counters.budgetKills += 1
        case .memory: counters.memoryErrors += 1
        case .timeout: counters.timeouts += 1
        default: counters.runtimeErrors += 1
        }
        consecutiveFailures += 1
        let message = sandbox.lastError
        lastError = message
        onProblem?(self, "\(call) failed (\(failure.rawValue)): \(message)")
        if failure == .timeout {
            // The pipeline already waited the whole time limit once; a signature that can stall it
            // does not get a second chance (and an abandoned state cannot run again anyway).
            disabledReason = "disabled after a call the watchdog had to stop: \(message)"
            onProblem?(self, disabledReason!)
        } else if consecutiveFailures >= Signature.consecutiveFailureLimit || counters.failures >= Signature.totalFailureLimit {
            let why = consecutiveFailures >= Signature.consecutiveFailureLimit
                ? "\(consecutiveFailures) consecutive failed calls" : "\(counters.failures) failed calls"
            disabledReason = "disabled after \(why); last error: \(message)"
            onProblem?(self, disabledReason!)
        }
    }
}

extension Signature {
    /// The error for an id another file already has (start-up and reload say the same).
    public static func duplicateID(_ id: String, in source: SignatureSource, alsoIn other: String) -> SignatureError {
        SignatureError(file: source.path, line: SourceLocator(source.text).line(ofKey: "id"),
                       message: "duplicate signature id \(id) (also in \(other))")
    }
}
