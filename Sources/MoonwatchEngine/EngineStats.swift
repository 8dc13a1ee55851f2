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
        public init(id: String, path: String, counters: SignatureCounters, disabled: String?, memoryPeak: Int) {
            self.id = id; self.path = path; self.counters = counters; self.disabled = disabled; self.memoryPeak = memoryPeak
        }
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
    public var text: String { text(elapsed: nil, verbose: true) }

    /// The end-of-run summary in plain words: how long, how many events and how fast, what the
    /// input and the kernel did, and (with `verbose`, or when they did something) each signature.
    public func text(elapsed: Double?, verbose: Bool) -> String {
        var lines: [String] = []
        var first = "events: \(Plain.number(eventsIn)) in"
        if let elapsed {
            first += " over \(Plain.duration(elapsed))"
            if elapsed > 0.05, eventsIn > 0 { first += " (\(Plain.number(UInt64(Double(eventsIn) / elapsed))) a second)" }
        }
        first += ", \(Plain.number(eventsRouted)) checked by signatures, " + Plain.count(findings, "finding") + " reported"
        lines.append(first)
        if !perEvent.isEmpty && (verbose || perEvent.count <= 8) {
            lines.append("  by event: " + perEvent.map { "\($0.0) \(Plain.number($0.1))" }.joined(separator: ", "))
        }
        let skipped = source.skippedTotal
        if source.extra["live"] == nil || skipped > 0 {
            lines.append("input: " + Plain.count(source.records, "record") + " read, \(Plain.number(skipped)) skipped"
                         + (skipped > 0 ? " (" + source.skipped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")" : ""))
        }
        if source.foreignTotal > 0 {
            lines.append("  not in the catalogue (counted only): " + source.foreign.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if !source.kernel.isEmpty || source.extra["live"] != nil {
            let t = source.kernelTotal
            lines.append("kernel: " + Plain.count(t.seen, "call") + " seen, \(Plain.number(t.filtered)) filtered out in the kernel, "
                         + "\(Plain.number(t.submitted)) sent up; kernel drops: \(source.kernelDrops)")
            if verbose && !source.kernel.isEmpty {
                lines.append("  by event (seen/filtered/sent/dropped): " + source.kernel.sorted { $0.key < $1.key }
                    .map { "\($0.key) \($0.value.seen)/\($0.value.filtered)/\($0.value.submitted)/\($0.value.dropped)" }
                    .joined(separator: ", "))
            }
        }
        var quiet = 0
        for s in signatures {
            let busy = s.counters.calls > 0 || s.counters.findings > 0 || s.counters.failures > 0 || s.disabled != nil
            if !busy && !verbose { quiet += 1; continue }
            var l = "  \(s.id): " + Plain.count(s.counters.calls, "call")
            if s.counters.filtered > 0 { l += " (\(Plain.number(s.counters.filtered)) more turned away by its filter)" }
            l += ", " + Plain.count(s.counters.findings, "finding")
            if s.counters.findingsCut > 0 || s.counters.findingsDropped > 0 {
                l += " (\(s.counters.findingsCut) cut to the size caps, \(s.counters.findingsDropped) over the per-call cap dropped)"
            }
            if s.counters.failures > 0 {
                l += "; failures: \(s.counters.runtimeErrors) errors, \(s.counters.budgetKills) over the instruction budget, "
                    + "\(s.counters.memoryErrors) over the memory cap, \(s.counters.timeouts) stopped by the watchdog"
            }
            if let d = s.disabled { l += " — \(d)" }
            lines.append(l)
        }
        if quiet > 0 {
            lines.append("  " + Plain.count(UInt64(quiet), "signature") + " saw no event (--verbose lists them)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Numbers and durations for people: "1 event", "12,345 events", "2 min 5 s".
public enum Plain {
    public static func number(_ n: UInt64) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// "1 finding", "0 findings", "2,000 findings".
    public static func count(_ n: UInt64, _ noun: String, plural: String? = nil) -> String {
        "\(number(n)) " + (n == 1 ? noun : plural ?? noun + "s")
    }

    public static func duration(_ s: Double) -> String {
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        if s < 60 { return s < 10 ? "\((s * 10).rounded() / 10) s" : "\(Int(s.rounded())) s" }
        let total = Int(s.rounded())
        if total < 3600 { return "\(total / 60) min" + (total % 60 > 0 ? " \(total % 60) s" : "") }
        return "\(total / 3600) h" + ((total % 3600) / 60 > 0 ? " \((total % 3600) / 60) min" : "")
    }
}
