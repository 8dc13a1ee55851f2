#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex and condition variable (CLOCK_MONOTONIC timed waits) at stable heap
/// addresses, for hand-offs between a producer thread and the pipeline thread (the ring-buffer
/// reader, the replay prefetcher).
public final class Condition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits (the lock held) for a broadcast.
    public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits (the lock held) for a broadcast or `milliseconds`, whichever comes first.
    public func wait(milliseconds: Int) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ns = Int(ts.tv_nsec) + (milliseconds % 1000) * 1_000_000
        ts.tv_sec += milliseconds / 1000 + ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        _ = pthread_cond_timedwait(cond, mutex, &ts)
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Starts `body` on a new joinable pthread (`pthread_create`).
public func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    let ctx = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var tid = pthread_t()
    let r = pthread_create(&tid, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, ctx)
    if r != 0 {
        Unmanaged<ThreadBody>.fromOpaque(ctx).release()
        return nil
    }
    return tid
}
