#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore

/// Runs another source's `next` on its own thread, a few batches ahead, so decoding (JSON
/// parsing for replay) overlaps with signature evaluation on the pipeline thread. Batches, not
/// events, cross the thread boundary: one hand-off per ~1000 events.
public final class PrefetchSource: EventSource, @unchecked Sendable {
    private enum Item { case batch([Event]), end, failure(String) }

    /// Errors from the wrapped source, re-thrown from `next` with their message.
    public struct SourceFailure: Error, CustomStringConvertible { public var description: String }

    // Everything below `lock` is guarded by it; `inner` belongs to the producer thread once started.
    private let inner: EventSource
    private let depth: Int
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var items: [Item] = []
    private var innerStats = SourceStats()
    private var thread: pthread_t?
    private var started = false
    private var done = false

    public init(_ inner: EventSource, depth: Int = 8) {
        self.inner = inner
        self.depth = depth
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        if let thread { pthread_join(thread, nil) }
        pthread_cond_destroy(changed); changed.deallocate()
        pthread_mutex_destroy(lock); lock.deallocate()
    }

    /// The wrapped source's counters as of the last batch it produced.
    public var stats: SourceStats {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        return innerStats
    }

    private func start() {
        started = true
        let me = Unmanaged.passRetained(self)
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { raw in
            Unmanaged<PrefetchSource>.fromOpaque(raw!).takeRetainedValue().produce()
            return nil
        }, me.toOpaque())
        if rc == 0 { thread = t } else { me.release(); produce() }   // no thread: decode inline, once
    }

    private func produce() {
        while true {
            var batch: [Event] = []
            batch.reserveCapacity(1024)
            var item: Item
            var last = false
            do {
                last = !(try inner.next(into: &batch))
                item = .batch(batch)
            } catch {
                item = .failure("\(error)")
                last = true
            }
            let stats = inner.stats
            pthread_mutex_lock(lock)
            while items.count >= depth { pthread_cond_wait(changed, lock) }
            if case .batch(let b) = item, b.isEmpty {} else { items.append(item) }
            if last, case .batch = item { items.append(.end) }
            innerStats = stats
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(lock)
            if last { return }
        }
    }

    public func next(into batch: inout [Event]) throws -> Bool {
        if done { return false }
        if !started { start() }
        pthread_mutex_lock(lock)
        while items.isEmpty { pthread_cond_wait(changed, lock) }
        let item = items.removeFirst()
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
        switch item {
        case .batch(let b):
            batch.append(contentsOf: b)
            return true
        case .end:
            done = true
            return false
        case .failure(let message):
            done = true
            throw SourceFailure(description: message)
        }
    }
}
