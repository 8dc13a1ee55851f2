#if canImport(Glibc)
import Glibc
#endif
import MoonwatchSignatures
import Synchronization

/// SIGINT/SIGTERM set a flag the sources and the pipeline poll, and tell the signature watchdog
/// to cut any running call short, so a stuck signature never holds up shutdown; a second signal
/// kills the process outright. SIGPIPE is ignored: a closed output becomes an EPIPE error that
/// ends the run with a message and the counters instead of a silent death.
enum StopSignal {
    static let flag = Atomic<Bool>(false)
    static let number = Atomic<Int32>(0)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    /// The exit status of a run a signal ended early: 128 + the signal, as a shell reports it.
    static var exitStatus: Int32 { 128 + number.load(ordering: .relaxed) }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            StopSignal.number.store(sig, ordering: .relaxed)
            StopSignal.flag.store(true, ordering: .relaxed)
            Watchdog.requestStop()   // async-signal-safe: one atomic store and a clock read
            signal(sig, SIG_DFL)     // async-signal-safe; the next one terminates
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGPIPE, SIG_IGN)
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
