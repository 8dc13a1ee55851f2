#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex and condition variable (CLOCK_MONOTONIC timed waits) at stable heap
/// addresses, for the reader thread / engine thread hand-off.
final class Condition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
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

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits (the lock held) for a broadcast or `milliseconds`, whichever comes first.
    func wait(milliseconds: Int) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ns = Int(ts.tv_nsec) + (milliseconds % 1000) * 1_000_000
        ts.tv_sec += milliseconds / 1000 + ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        _ = pthread_cond_timedwait(cond, mutex, &ts)
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
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
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
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
