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

    // Everything below `changed` is guarded by it; `inner` belongs to the producer thread once started.
    private let inner: EventSource
    private let depth: Int
    private let changed = Condition()
    private var items: [Item] = []
    private var innerStats = SourceStats()
    private var thread: pthread_t?
    private var started = false
    private var done = false

    public init(_ inner: EventSource, depth: Int = 8) {
        self.inner = inner
        self.depth = depth
    }

    deinit {
        if let thread { pthread_join(thread, nil) }
    }

    /// The wrapped source's counters as of the last batch it produced.
    public var stats: SourceStats { changed.withLock { innerStats } }

    private func start() {
        started = true
        thread = startThread { [self] in produce() }
        if thread == nil { produce() }   // no thread: decode inline, once
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
            changed.lock()
            while items.count >= depth { changed.wait() }
            if case .batch(let b) = item, b.isEmpty {} else { items.append(item) }
            if last, case .batch = item { items.append(.end) }
            innerStats = stats
            changed.broadcast()
            changed.unlock()
            if last { return }
        }
    }

    public func next(into batch: inout [Event]) throws -> Bool {
        if done { return false }
        if !started { start() }
        changed.lock()
        while items.isEmpty { changed.wait() }
        let item = items.removeFirst()
        changed.broadcast()
        changed.unlock()
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
