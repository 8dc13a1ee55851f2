#if canImport(Glibc)
import Glibc
#endif
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
    /// Batches whose findings were written before the batch ended (the pending-bytes bound).
    public var earlyFlushes: UInt64 = 0
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
            f.append("findings_cut", .unsigned(s.counters.findingsCut))
            f.append("runtime_errors", .unsigned(s.counters.runtimeErrors))
            f.append("budget_kills", .unsigned(s.counters.budgetKills))
            f.append("memory_errors", .unsigned(s.counters.memoryErrors))
            f.append("timeouts", .unsigned(s.counters.timeouts))
            f.append("disabled", s.disabled.map { .string($0) } ?? .bool(false))
            f.append("memory_peak_bytes", .int(Int64(s.memoryPeak)))
            sigs.append(.object(f))
        }
        return .object([
            ("events_in", .unsigned(eventsIn)),
            ("events_routed", .unsigned(eventsRouted)),
            ("events", .object(Value.Fields(perEvent.map { ($0.0, Value.unsigned($0.1)) }))),
            ("findings", .unsigned(findings)),
            ("findings_cut", .unsigned(signatures.reduce(0) { $0 + $1.counters.findingsCut })),
            ("findings_dropped", .unsigned(signatures.reduce(0) { $0 + $1.counters.findingsDropped })),
            ("early_flushes", .unsigned(earlyFlushes)),
            ("peak_rss_bytes", .unsigned(EngineStats.peakRSS())),
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

    /// The process's peak resident set so far, in bytes: VmHWM of /proc/self/status, the high-water
    /// mark of this program's own memory image. (getrusage's ru_maxrss also counts the image before
    /// exec: a process spawned by a large parent through vfork starts with the parent's peak.)
    public static func peakRSS() -> UInt64 {
        if let text = try? FileSystem.readText("/proc/self/status") {
            for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let digits = line.dropFirst(6).filter { $0.isNumber }
                if let kb = UInt64(String(digits)) { return kb * 1024 }
            }
        }
        var u = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &u) == 0 else { return 0 }
        return UInt64(max(0, u.ru_maxrss)) * 1024
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
            if s.counters.findingsCut > 0 || s.counters.findingsDropped > 0 {
                l += " (\(s.counters.findingsCut) cut to the size caps, \(s.counters.findingsDropped) over the per-call cap dropped)"
            }
            if s.counters.failures > 0 {
                l += ", \(s.counters.runtimeErrors) errors, \(s.counters.budgetKills) budget kills, \(s.counters.memoryErrors) memory errors, \(s.counters.timeouts) timeouts"
            }
            if let d = s.disabled { l += " — \(d)" }
            lines.append(l)
        }
        return lines.joined(separator: "\n")
    }
}
