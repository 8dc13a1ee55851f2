#if canImport(Glibc)
import Glibc
#endif
import CMoonwatchWire
import Libbpf
import MoonwatchCore
import Synchronization

/// Kernel-side counters, summed over CPUs (struct mw_stats and struct mw_kind_stats).
public struct KernelCounters: Sendable, Equatable {
    public var dropRing: UInt64 = 0
    public var dropStorage: UInt64 = 0
    public var faults: UInt64 = 0
    public var lostExit: UInt64 = 0
    public var socketcall: UInt64 = 0
    /// Per event kind, by catalogue kind.
    public var kinds: [EventKind: KernelKindCounters] = [:]

    /// Records the kernel could not deliver.
    public var drops: UInt64 { dropRing + dropStorage }

    /// Per kind, by event name.
    public var byName: [String: KernelKindCounters] {
        Dictionary(uniqueKeysWithValues: kinds.map { ($0.key.name, $0.value) })
    }
}

/// Live events from the kernel probes.
///
/// A reader thread drains the ring buffer (woken by the kernel once an eighth of it is full,
/// otherwise every `pollMilliseconds`), decodes records straight from the shared pages into
/// events, and hands them over in batches through a small bounded queue; the engine's thread
/// takes whole batches in `next(into:)`. Batch arrays are recycled, so the hand-off allocates
/// nothing per event. When the queue is full the reader waits and the kernel's ring absorbs the
/// burst; what does not fit there is dropped and counted, per CPU, in the kernel. A monitor
/// thread reads those counters on its own clock, so a drop is reported while it happens even
/// when the reader is stuck behind a slow engine.
public final class LiveSource: EventSource {
    /// "tp_btf" or "raw_tp": how the syscall probes are attached.
    public var mode: String { probes.mode }
    /// Why tp_btf was not used, when it was not.
    public var fallbackReason: String? { probes.fallbackReason }
    /// What the current interest could not express exactly in the kernel (checked in user space).
    public var interestNotes: [String] { probes.interestNotes }

    private let probes: Probes
    private let reader: RingReader
    private let monitor: DropMonitor
    private var threads: [pthread_t] = []
    private let stopWhen: (() -> Bool)?

    /// Loads and attaches the probes and starts the reader. `stopWhen` is polled from `next`
    /// (the engine's thread); once it returns true the source drains what the kernel already
    /// delivered and ends.
    public init(options: LiveOptions, stopWhen: (() -> Bool)? = nil) throws(ProbeError) {
        probes = try Probes.start(options)
        let cpus: Int
        do { cpus = try possibleCPUs() } catch { throw .system(error.description) }
        let counters = CounterReader(probes: probes, cpus: cpus)
        reader = RingReader(options: options, counters: counters)
        do { try reader.open(probes.events) } catch { throw .system(error.description) }
        monitor = DropMonitor(counters: counters, every: options.dropCheckMilliseconds, warn: options.warn)
        self.stopWhen = stopWhen
        let r = reader, m = monitor
        guard let t1 = startThread({ r.run() }), let t2 = startThread({ m.run() }) else {
            throw .system("cannot start the ring buffer reader threads")
        }
        threads = [t1, t2]
    }

    deinit {
        stop()
        for t in threads { pthread_join(t, nil) }
    }

    /// Ends the source: the reader drains the ring one last time and `next` returns false once
    /// everything is handed over. Callable from any thread.
    public func stop() {
        reader.stopRequested.store(true, ordering: .releasing)
        monitor.stop()
    }

    public func next(into batch: inout [Event]) throws -> Bool {
        if let stopWhen, stopWhen() { stop() }
        return try reader.take(into: &batch, waitMilliseconds: 100)
    }

    public var stats: SourceStats {
        var s = reader.sourceStats()
        // With LiveOptions.programStatistics: runs and total ns of each program, by name.
        for p in programStatistics() where p.runs > 0 {
            s.extra["bpf_\(p.program)_runs"] = p.runs
            s.extra["bpf_\(p.program)_ns"] = p.nanoseconds
        }
        return s
    }

    /// The kernel's counters right now.
    public func kernelCounters() -> KernelCounters { reader.counters.read() }

    /// Replaces what may leave the kernel (a signature reload): kinds can be added and removed.
    /// Call from one thread at a time (the engine's).
    public func update(interest: KernelInterest) { probes.update(interest) }

    /// Adds a process (and, from now on, its children) to the --pid scope.
    public func addToScope(pid: Int32) throws(ProbeError) {
        do { try probes.scope.update(key: UInt32(bitPattern: pid), value: UInt8(1)) } catch {
            throw .system("cannot add pid \(pid) to the scope: \(error)")
        }
    }

    /// Time spent in each attached program since load (only with
    /// `LiveOptions.programStatistics`, which makes the kernel time every run).
    public func programStatistics() -> [(program: String, runs: UInt64, nanoseconds: UInt64)] {
        probes.programs.compactMap { p in
            (try? p.runStatistics()).map { (p.name, $0.runs, $0.runTimeNanoseconds) }
        }
    }
}

/// Reads and sums the per-CPU counter maps. Used by the reader and the monitor threads; the
/// buffers are per call, so it is safe from both.
final class CounterReader: Sendable {
    private let stats: BPFMap
    private let kindStats: BPFMap
    private let cpus: Int

    init(probes: Probes, cpus: Int) {
        stats = probes.stats
        kindStats = probes.kindStats
        self.cpus = cpus
    }

    func read() -> KernelCounters {
        var k = KernelCounters()
        var buf: [UInt8] = []
        if (try? stats.lookupPerCPU(key: 0, cpus: cpus, valueSize: MemoryLayout<mw_stats>.size, into: &buf)) != nil {
            let stride = (MemoryLayout<mw_stats>.size + 7) & ~7
            buf.withUnsafeBytes { b in
                for c in 0..<cpus {
                    let s = b.loadUnaligned(fromByteOffset: c * stride, as: mw_stats.self)
                    k.dropRing &+= s.drop_ring
                    k.dropStorage &+= s.drop_storage
                    k.faults &+= s.faults
                    k.lostExit &+= s.lost_exit
                    k.socketcall &+= s.socketcall
                }
            }
        }
        let size = MemoryLayout<mw_kind_stats>.stride * Int(MW_MAX_KINDS)
        if (try? kindStats.lookupPerCPU(key: 0, cpus: cpus, valueSize: size, into: &buf)) != nil {
            let stride = (size + 7) & ~7
            buf.withUnsafeBytes { b in
                for kind in Catalogue.kinds where kind.index < Int(MW_MAX_KINDS) {
                    var sum = KernelKindCounters()
                    for c in 0..<cpus {
                        let s = b.loadUnaligned(fromByteOffset: c * stride + kind.index * MemoryLayout<mw_kind_stats>.stride,
                                                as: mw_kind_stats.self)
                        sum = sum + KernelKindCounters(seen: s.seen, filtered: s.filtered, submitted: s.submitted, dropped: s.dropped)
                    }
                    if sum != KernelKindCounters() { k.kinds[kind] = sum }
                }
            }
        }
        return k
    }
}

/// Warns while the kernel drops records: checked on its own thread every `every` ms, so the
/// first warning comes within that time of drops starting, and again at every check while
/// they go on (at most once a second).
final class DropMonitor: @unchecked Sendable {
    private let counters: CounterReader
    private let every: Int
    private let warn: (@Sendable (String) -> Void)?
    private let cond = Condition()
    private var stopped = false

    init(counters: CounterReader, every: Int, warn: (@Sendable (String) -> Void)?) {
        self.counters = counters
        self.every = max(50, every)
        self.warn = warn
    }

    func stop() { cond.withLock { stopped = true; cond.broadcast() } }

    func run() {
        var last = counters.read()
        var lastWarn: UInt64 = 0
        var pending: UInt64 = 0
        var since = RingReader.nowMillis()
        while true {
            let done = cond.withLock { () -> Bool in
                if !stopped { cond.wait(milliseconds: every) }
                return stopped
            }
            if done { return }
            let now = counters.read()
            pending &+= now.drops &- last.drops
            let t = RingReader.nowMillis()
            if pending > 0, t &- lastWarn >= 1000, let warn {
                var kinds: [(String, UInt64)] = []
                for (k, c) in now.kinds {
                    let d = c.dropped &- (last.kinds[k]?.dropped ?? 0)
                    if d > 0 { kinds.append((k.name, d)) }
                }
                let which = kinds.isEmpty ? "" : " (" + kinds.sorted { $0.1 > $1.1 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + ")"
                warn("""
                    the kernel dropped \(pending) events in the last \(String(format1: Double(t &- since) / 1000))s\(which), \
                    \(now.drops) in all: user space is not keeping up. Narrow the scope (--pid, --comm, --uid) or the \
                    signatures' filters, or enlarge the ring (--ring-size).
                    """)
                pending = 0
                lastWarn = t
                since = t
            } else if pending == 0 {
                since = t
            }
            last = now
        }
    }
}

/// The reader thread's state. Everything but the hand-off queue (guarded by `cond`) and the
/// atomics is touched only by the reader thread.
final class RingReader: RingBufferConsumer, @unchecked Sendable {
    let stopRequested = Atomic<Bool>(false)
    let counters: CounterReader

    private let options: LiveOptions
    private var ring: RingBuffer?
    private var decoder = WireDecoder()

    // Reader-thread only.
    private var current: [Event] = []
    private var records: UInt64 = 0
    private var skipped: [String: UInt64] = [:]
    private var truncated: UInt64 = 0
    private var lastCheck: UInt64 = 0
    private var kernel = KernelCounters()

    // Shared, under `cond`.
    private let cond = Condition()
    private var ready: [[Event]] = []
    private var free: [[Event]] = []
    private var finished = false
    private var failure: BPFCallError?
    private var shared = SourceStats()
    static let maxQueued = 16

    init(options: LiveOptions, counters: CounterReader) {
        self.options = options
        self.counters = counters
        current.reserveCapacity(options.batchSize)
    }

    /// The ring buffer on the events map, with this reader as the consumer.
    func open(_ events: BPFMap) throws(BPFCallError) {
        ring = try RingBuffer(map: events, consumer: self)
    }

    /// One record, straight from the ring's pages.
    func record(_ raw: UnsafeRawBufferPointer) {
        records &+= 1
        options.recordObserver?(raw)
        // mw_event_hdr.flags at offset 4: MW_EV_TRUNC marks a record cut to the probe's limits.
        if raw.count >= 6, raw.loadUnaligned(fromByteOffset: 4, as: UInt16.self) & UInt16(MW_EV_TRUNC) != 0 { truncated &+= 1 }
        do {
            current.append(try decoder.decode(raw))
        } catch {
            skipped[error.category, default: 0] += 1
        }
        if current.count >= options.batchSize { publish() }
    }

    func run() {
        guard let ring else { return }
        lastCheck = RingReader.nowMillis()
        do throws(BPFCallError) {
            while !stopRequested.load(ordering: .acquiring) {
                // Sleeps until the kernel forces a wake-up (the ring is filling) or the timeout;
                // then drains everything, including records that did not trigger a wake-up.
                try ring.poll(milliseconds: options.pollMilliseconds)
                try ring.consume()
                if !current.isEmpty { publish() }
                let now = RingReader.nowMillis()
                if now &- lastCheck >= 1000 {
                    refreshCounters()
                    lastCheck = now
                }
            }
            try ring.consume()
        } catch {
            cond.withLock { failure = error }
        }
        if !current.isEmpty { publish() }
        refreshCounters()
        cond.withLock {
            finished = true
            updateShared()
            cond.broadcast()
        }
    }

    /// Hands `current` to the engine. Waits while the queue is full, so decoded events stay
    /// bounded and the backlog sits in the kernel's ring, where overflow is counted.
    private func publish() {
        cond.lock()
        while ready.count >= RingReader.maxQueued && !stopRequested.load(ordering: .relaxed) {
            cond.wait(milliseconds: 50)
        }
        ready.append(current)
        current = free.popLast() ?? []
        if current.capacity < options.batchSize { current.reserveCapacity(options.batchSize) }
        updateShared()
        cond.broadcast()
        cond.unlock()
    }

    private func refreshCounters() {
        kernel = counters.read()
        cond.withLock { updateShared() }
    }

    /// Called with the lock held.
    private func updateShared() {
        shared.records = records
        shared.skipped = skipped
        shared.kernelDrops = kernel.drops
        shared.kernel = kernel.byName
        shared.extra = [
            "live": 1,  // the stats printer shows kernel drops (even 0) for live sources
            "kernel_ring_full": kernel.dropRing,
            "kernel_no_task_buffer": kernel.dropStorage,
            "truncated_records": truncated,
            "user_read_faults": kernel.faults,
            "lost_syscall_exits": kernel.lostExit,
            "ia32_socketcalls": kernel.socketcall,
            "exe_from_proc": decoder.exeProcReads,
        ]
    }

    /// Engine thread: takes one batch, waiting up to `waitMilliseconds` for it. Throws when
    /// reading the ring failed (after handing over what was read before).
    func take(into batch: inout [Event], waitMilliseconds: Int) throws -> Bool {
        cond.lock()
        defer { cond.unlock() }
        if ready.isEmpty && !finished { cond.wait(milliseconds: waitMilliseconds) }
        if !ready.isEmpty {
            var b = ready.removeFirst()
            if batch.isEmpty {
                swap(&batch, &b)
            } else {
                batch.append(contentsOf: b)
                b.removeAll(keepingCapacity: true)
            }
            if free.count < RingReader.maxQueued + 2 { free.append(b) }
            cond.broadcast()
            return true
        }
        if finished, let failure { throw ProbeError.system("reading the kernel's ring buffer: \(failure)") }
        return !finished
    }

    func sourceStats() -> SourceStats {
        // Fresh kernel counters for whoever asks (the end-of-run summary, tests).
        let k = counters.read()
        return cond.withLock {
            var s = shared
            s.kernelDrops = k.drops
            s.kernel = k.byName
            s.extra["kernel_ring_full"] = k.dropRing
            s.extra["kernel_no_task_buffer"] = k.dropStorage
            s.extra["user_read_faults"] = k.faults
            s.extra["lost_syscall_exits"] = k.lostExit
            s.extra["ia32_socketcalls"] = k.socketcall
            return s
        }
    }

    static func nowMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}

extension String {
    /// One decimal, without Foundation.
    init(format1 v: Double) {
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
