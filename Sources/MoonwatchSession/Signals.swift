#if canImport(Glibc)
import Glibc
#endif
import MoonwatchSignatures
import Synchronization

/// The one place that owns signals. Handlers only set flags; the session acts on them between
/// batches, on its own thread:
///
/// - SIGINT, SIGTERM: stop. Events already captured are processed, findings flushed, counters
///   printed. The watchdog cuts any running signature call short, so a stuck signature never holds
///   up shutdown; a second signal kills the process outright.
/// - SIGHUP (`run`): reload the configuration and the signatures; a bad configuration keeps the
///   previous one.
/// - SIGUSR1 (`run`): reopen the output files (logrotate moved them).
/// - SIGPIPE is ignored: a closed output becomes an EPIPE error that ends the run with a message
///   and the counters instead of a silent death.
public enum Signals {
    static let stop = Atomic<Bool>(false)
    static let number = Atomic<Int32>(0)
    static let hangup = Atomic<Bool>(false)
    static let usr1 = Atomic<Bool>(false)

    public static var stopRequested: Bool { stop.load(ordering: .relaxed) }

    /// The exit status of a run a signal ended early: 128 + the signal, as a shell reports it.
    public static var exitStatus: Int32 { 128 + number.load(ordering: .relaxed) }

    /// Installs the handlers: stop always; reload and reopen when the caller acts on them
    /// (otherwise SIGHUP and SIGUSR1 keep their default action).
    public static func install(stop: Bool = true, reload: Bool, reopen: Bool) {
        let stopHandler: @convention(c) (Int32) -> Void = { sig in
            Signals.number.store(sig, ordering: .relaxed)
            Signals.stop.store(true, ordering: .relaxed)
            Watchdog.requestStop()   // async-signal-safe: one atomic store and a clock read
            signal(sig, SIG_DFL)     // async-signal-safe; the next one terminates
        }
        if stop {
            handle(SIGINT, stopHandler)
            handle(SIGTERM, stopHandler)
            signal(SIGPIPE, SIG_IGN)
        }
        if reload { handle(SIGHUP) { _ in Signals.hangup.store(true, ordering: .relaxed) } }
        if reopen { handle(SIGUSR1) { _ in Signals.usr1.store(true, ordering: .relaxed) } }
    }

    private static func handle(_ sig: Int32, _ handler: @convention(c) (Int32) -> Void) {
        var sa = sigaction()
        sa.__sigaction_handler.sa_handler = handler
        sigemptyset(&sa.sa_mask)
        sa.sa_flags = SA_RESTART
        sigaction(sig, &sa, nil)
    }

    /// Was a reload asked for since the last call?
    public static func takeHangup() -> Bool { hangup.exchange(false, ordering: .relaxed) }
    /// Was a reopen asked for since the last call?
    public static func takeReopen() -> Bool { usr1.exchange(false, ordering: .relaxed) }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
