import MoonwatchCore
import MoonwatchSignatures

/// Counters of one run, printed at the end (text) or as JSON with --stats.
public struct EngineStats: Sendable {
    public struct SignatureStats: Sendable {
        public var id: String
        public var path: String
        public var counters: SignatureCounters
        public var disabled: String?
        public var memoryPeak: Int
    }

    public var eventsIn: UInt64
    public var eventsRouted: UInt64
    public var perEvent: [(String, UInt64)]
    public var findings: UInt64
    public var signatures: [SignatureStats]
    public var source: SourceStats

    public var json: Value {
        func dict(_ d: [String: UInt64]) -> Value {
            .object(Value.Fields(d.sorted { $0.key < $1.key }.map { ($0.key, Value.unsigned($0.value)) }))
        }
        var sigs: [Value] = []
        for s in signatures {
            var f = Value.Fields()
            f.append("id", .string(s.id))
            f.append("path", .string(s.path))
            f.append("calls", .unsigned(s.counters.calls))
            f.append("filtered", .unsigned(s.counters.filtered))
            f.append("findings", .unsigned(s.counters.findings))
            f.append("findings_dropped", .unsigned(s.counters.findingsDropped))
            f.append("runtime_errors", .unsigned(s.counters.runtimeErrors))
            f.append("budget_kills", .unsigned(s.counters.budgetKills))
            f.append("memory_errors", .unsigned(s.counters.memoryErrors))
            f.append("disabled", s.disabled.map { .string($0) } ?? .bool(false))
            f.append("memory_peak_bytes", .int(Int64(s.memoryPeak)))
            sigs.append(.object(f))
        }
        return .object([
            ("events_in", .unsigned(eventsIn)),
            ("events_routed", .unsigned(eventsRouted)),
            ("events", .object(Value.Fields(perEvent.map { ($0.0, Value.unsigned($0.1)) }))),
            ("findings", .unsigned(findings)),
            ("signature_errors", .unsigned(signatures.reduce(0) { $0 + $1.counters.failures })),
            ("signatures_disabled", .int(Int64(signatures.filter { $0.disabled != nil }.count))),
            ("signatures", .array(sigs)),
            ("source", .object([
                ("records", .unsigned(source.records)),
                ("skipped", .unsigned(source.skippedTotal)),
                ("skipped_by_reason", dict(source.skipped)),
                ("foreign_events", .unsigned(source.foreignTotal)),
                ("foreign_by_name", dict(source.foreign)),
                ("kernel_drops", .unsigned(source.kernelDrops)),
                ("kernel", EngineStats.kernelJSON(source.kernel)),
                ("extra", dict(source.extra)),
            ])),
        ])
    }

    /// Per event kind: what the kernel saw, filtered, submitted and dropped.
    static func kernelJSON(_ kernel: [String: KernelKindCounters]) -> Value {
        .object(Value.Fields(kernel.sorted { $0.key < $1.key }.map { name, c in
            (name, Value.object([("seen", .unsigned(c.seen)), ("filtered", .unsigned(c.filtered)),
                                 ("submitted", .unsigned(c.submitted)), ("dropped", .unsigned(c.dropped))]))
        }))
    }

    /// A short human summary for the end of a run.
    public var text: String {
        var lines: [String] = []
        lines.append("events: \(eventsIn) in, \(eventsRouted) routed to signatures, \(findings) findings")
        if !perEvent.isEmpty {
            lines.append("  by event: " + perEvent.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        }
        let skipped = source.skippedTotal
        lines.append("input: \(source.records) records, \(skipped) skipped" + (skipped > 0 ? " (" + source.skipped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")" : ""))
        if source.foreignTotal > 0 {
            lines.append("  not in the catalogue (counted only): " + source.foreign.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        if source.kernelDrops > 0 || source.extra["live"] != nil {
            lines.append("  kernel drops: \(source.kernelDrops)")
        }
        if !source.kernel.isEmpty {
            let t = source.kernelTotal
            lines.append("kernel: \(t.seen) calls seen, \(t.filtered) filtered in the kernel, \(t.submitted) submitted, \(t.dropped) dropped")
            lines.append("  by event (seen/filtered/submitted/dropped): " + source.kernel.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.seen)/\($0.value.filtered)/\($0.value.submitted)/\($0.value.dropped)" }
                .joined(separator: " "))
        }
        for s in signatures {
            var l = "  \(s.id): \(s.counters.calls) calls (\(s.counters.filtered) filtered natively), \(s.counters.findings) findings"
            if s.counters.failures > 0 {
                l += ", \(s.counters.runtimeErrors) errors, \(s.counters.budgetKills) budget kills, \(s.counters.memoryErrors) memory errors"
            }
            if let d = s.disabled { l += " — \(d)" }
            lines.append(l)
        }
        return lines.joined(separator: "\n")
    }
}
