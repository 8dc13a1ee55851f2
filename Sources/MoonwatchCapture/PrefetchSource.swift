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
    private var stopping = false
    private let waitMilliseconds: Int

    public init(_ inner: EventSource, depth: Int = 8, waitMilliseconds: Int = 100) {
        self.inner = inner
        self.depth = depth
        self.waitMilliseconds = waitMilliseconds
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

    /// Asks the producer to stop after the batch it is reading; `next` then ends the source.
    /// A producer blocked in a read (a pipe nobody writes to) stays blocked until the process ends.
    public func stop() {
        changed.withLock {
            stopping = true
            changed.broadcast()
        }
    }

    private func produce() {
        while true {
            var batch: [Event] = []
            batch.reserveCapacity(1024)
            var failure: String?
            var last = false
            do {
                last = !(try inner.next(into: &batch))
            } catch {
                failure = "\(error)"
                last = true
            }
            let stats = inner.stats
            changed.lock()
            while items.count >= depth && !stopping { changed.wait() }
            // Events read before a failure are delivered ahead of it.
            if !batch.isEmpty { items.append(.batch(batch)) }
            if let failure { items.append(.failure(failure)) } else if last { items.append(.end) }
            innerStats = stats
            let quit = last || stopping
            changed.broadcast()
            changed.unlock()
            if quit { return }
        }
    }

    /// Waits at most `waitMilliseconds` for a batch: with nothing yet (a slow pipe, a line still
    /// being skipped) it returns true and an empty batch, so the caller can look at its stop flag.
    public func next(into batch: inout [Event]) throws -> Bool {
        if done { return false }
        if !started { start() }
        changed.lock()
        if items.isEmpty && !stopping { changed.wait(milliseconds: waitMilliseconds) }
        if items.isEmpty {
            let ended = stopping
            changed.unlock()
            if ended { done = true; return false }
            return true
        }
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
