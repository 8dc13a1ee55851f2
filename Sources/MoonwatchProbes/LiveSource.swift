#if canImport(Glibc)
import Glibc
#endif
import CLibbpf
import CMoonwatchWire
import MoonwatchCore
import Synchronization

/// Kernel-side counters, summed over CPUs (struct mw_stats).
public struct KernelCounters: Sendable, Equatable {
    public var dropRing: UInt64 = 0
    public var dropStorage: UInt64 = 0
    public var faults: UInt64 = 0
    public var lostExit: UInt64 = 0
    public var socketcall: UInt64 = 0

    /// Records the kernel could not deliver.
    public var drops: UInt64 { dropRing + dropStorage }
}

/// Live events from the kernel probes.
///
/// A reader thread drains the ring buffer (woken by the kernel once an eighth of it is full,
/// otherwise every `pollMilliseconds`), decodes records straight from the shared pages into
/// events, and hands them over in batches through a small bounded queue; the engine's thread
/// takes whole batches in `next(into:)`. Batch arrays are recycled, so the hand-off allocates
/// nothing per event. When the queue is full the reader waits and the kernel's ring absorbs the
/// burst; what does not fit there is dropped and counted, per CPU, in the kernel.
public final class LiveSource: EventSource {
    /// "tp_btf" or "raw_tp": how the syscall probes are attached.
    public var mode: String { probes.mode }
    /// Why tp_btf was not used, when it was not.
    public var fallbackReason: String? { probes.fallbackReason }

    private let probes: Probes
    private let reader: RingReader
    private var thread: pthread_t?
    private let stopWhen: (() -> Bool)?

    /// Loads and attaches the probes and starts the reader. `stopWhen` is polled from `next`
    /// (the engine's thread); once it returns true the source drains what the kernel already
    /// delivered and ends.
    public init(options: LiveOptions, stopWhen: (() -> Bool)? = nil) throws(ProbeError) {
        probes = try Probes.start(options)
        let cpus: Int
        do { cpus = try possibleCPUs() } catch { throw .system(error.description) }
        reader = RingReader(probes: probes, options: options, cpus: cpus)
        try reader.open()
        self.stopWhen = stopWhen
        let r = reader
        thread = startThread { r.run() }
        if thread == nil { throw .system("cannot start the ring buffer reader thread") }
    }

    deinit {
        stop()
        if let t = thread { pthread_join(t, nil) }
        reader.close()
    }

    /// Ends the source: the reader drains the ring one last time and `next` returns false once
    /// everything is handed over. Callable from any thread.
    public func stop() { reader.stopRequested.store(true, ordering: .releasing) }

    public func next(into batch: inout [Event]) throws -> Bool {
        if let stopWhen, stopWhen() { stop() }
        return reader.take(into: &batch, waitMilliseconds: 100)
    }

    public var stats: SourceStats { reader.sourceStats() }

    /// The kernel's counters right now.
    public func kernelCounters() -> KernelCounters { reader.readKernelCounters() }

    /// Adds a process (and, from now on, its children) to the --pid scope.
    public func addToScope(pid: Int32) throws(ProbeError) {
        do { try bpfMapUpdate(fd: probes.scopeFD, key: UInt32(bitPattern: pid), value: UInt8(1)) } catch {
            throw .system("cannot add pid \(pid) to the scope: \(error)")
        }
    }
}

/// The reader thread's state. Everything but the hand-off queue (guarded by `cond`) and the
/// atomics is touched only by the reader thread.
final class RingReader: @unchecked Sendable {
    let stopRequested = Atomic<Bool>(false)

    private let probes: Probes
    private let options: LiveOptions
    private let cpus: Int
    private var ring: OpaquePointer?
    private var decoder = WireDecoder()

    // Reader-thread only.
    private var current: [Event] = []
    private var records: UInt64 = 0
    private var skipped: [String: UInt64] = [:]
    private var truncated: UInt64 = 0
    private var lastDrops: UInt64 = 0
    private var lastCheck: UInt64 = 0
    private var counters = KernelCounters()

    // Shared, under `cond`.
    private let cond = Condition()
    private var ready: [[Event]] = []
    private var free: [[Event]] = []
    private var finished = false
    private var shared = SourceStats()
    static let maxQueued = 16

    init(probes: Probes, options: LiveOptions, cpus: Int) {
        self.probes = probes
        self.options = options
        self.cpus = cpus
        current.reserveCapacity(options.batchSize)
    }

    /// `ring_buffer__new` on the events map, with this reader as the callback context.
    func open() throws(ProbeError) {
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let cb: ring_buffer_sample_fn = { ctx, data, size in
            let r = Unmanaged<RingReader>.fromOpaque(ctx!).takeUnretainedValue()
            r.record(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        guard let rb = ring_buffer__new(probes.eventsFD, cb, ctx, nil) else {
            throw .system(BPFCallError("ring_buffer__new", errno: errno).description)
        }
        ring = rb
    }

    func close() {
        if let ring { ring_buffer__free(ring) }
        ring = nil
    }

    /// One record, straight from the ring's pages.
    private func record(_ raw: UnsafeRawBufferPointer) {
        records &+= 1
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
        while !stopRequested.load(ordering: .acquiring) {
            // Sleeps until the kernel forces a wake-up (the ring is filling) or the timeout;
            // then drains everything, including records that did not trigger a wake-up.
            _ = ring_buffer__poll(ring, options.pollMilliseconds)
            _ = ring_buffer__consume(ring)
            if !current.isEmpty { publish() }
            let now = RingReader.nowMillis()
            if now &- lastCheck >= 1000 {
                checkDrops(elapsedMillis: now &- lastCheck)
                lastCheck = now
            }
        }
        _ = ring_buffer__consume(ring)
        if !current.isEmpty { publish() }
        checkDrops(elapsedMillis: RingReader.nowMillis() &- lastCheck)
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

    /// Called with the lock held.
    private func updateShared() {
        shared.records = records
        shared.skipped = skipped
        shared.kernelDrops = counters.drops
        shared.extra = [
            "live": 1,  // the stats printer shows kernel drops (even 0) for live sources
            "kernel_ring_full": counters.dropRing,
            "kernel_no_task_buffer": counters.dropStorage,
            "truncated_records": truncated,
            "user_read_faults": counters.faults,
            "lost_syscall_exits": counters.lostExit,
            "ia32_socketcalls": counters.socketcall,
            "exe_from_proc": decoder.exeProcReads,
        ]
    }

    /// Engine thread: takes one batch, waiting up to `waitMilliseconds` for it.
    func take(into batch: inout [Event], waitMilliseconds: Int) -> Bool {
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
        return !finished
    }

    func sourceStats() -> SourceStats { cond.withLock { shared } }

    func readKernelCounters() -> KernelCounters {
        guard let per = try? bpfPerCPULookup(fd: probes.statsFD, key: 0, cpus: cpus, as: mw_stats.self) else { return KernelCounters() }
        var k = KernelCounters()
        for s in per {
            k.dropRing &+= s.drop_ring
            k.dropStorage &+= s.drop_storage
            k.faults &+= s.faults
            k.lostExit &+= s.lost_exit
            k.socketcall &+= s.socketcall
        }
        return k
    }

    /// Reads the kernel counters and warns when records were dropped since the last check.
    private func checkDrops(elapsedMillis: UInt64) {
        counters = readKernelCounters()
        let drops = counters.drops
        if drops > lastDrops, let warn = options.warn {
            let secs = Double(elapsedMillis) / 1000
            warn("""
                the kernel dropped \(drops - lastDrops) events in the last \(String(format1: secs))s (\(drops) in all): \
                the reader is not keeping up. Select fewer events (--events) or narrow the scope (--pid, --comm, --uid).
                """)
        }
        lastDrops = drops
        cond.withLock { updateShared() }
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
