#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import MoonwatchSignatures
import Synchronization

/// Set by the SIGHUP handler; read between batches.
private let hangupRequested = Atomic<Bool>(false)

/// Hot reload for `moonwatch run`: on SIGHUP, and with `watch` whenever a signature file (or a
/// watched folder's list of files) changes. Checked between batches on the pipeline thread, so a
/// reload never races an event.
public final class SignatureReloader {
    private let paths: [String]
    private let limits: SandboxLimits
    private let watch: Bool
    private let log: (String) -> Void
    private var fingerprint: [String: Int64] = [:]
    private var lastPoll: UInt64 = 0
    /// How often --watch looks at the files.
    public static let pollInterval: UInt64 = 1_000_000_000

    public init(paths: [String], limits: SandboxLimits, watch: Bool, log: @escaping (String) -> Void) {
        self.paths = paths
        self.limits = limits
        self.watch = watch
        self.log = log
        fingerprint = currentFingerprint()
    }

    /// Installs the SIGHUP handler (once per process).
    public static func handleHangup() {
        var sa = sigaction()
        sa.__sigaction_handler.sa_handler = { _ in hangupRequested.store(true, ordering: .relaxed) }
        sigemptyset(&sa.sa_mask)
        sa.sa_flags = SA_RESTART
        sigaction(SIGHUP, &sa, nil)
    }

    /// Path → modification time (ns) of every signature file; a new or removed file changes it.
    private func currentFingerprint() -> [String: Int64] {
        var f: [String: Int64] = [:]
        guard let sources = try? SignatureLoader.sources(at: paths) else { return f }
        for s in sources {
            var st = stat()
            if stat(s.path, &st) == 0 { f[s.path] = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec) }
        }
        return f
    }

    /// Reloads when asked (SIGHUP) or, with --watch, when files changed. Returns the outcome
    /// of a reload, nil when none was due.
    @discardableResult
    public func check(_ engine: Engine) -> Engine.ReloadOutcome? {
        var due = hangupRequested.exchange(false, ordering: .relaxed)
        if watch && !due {
            let now = Engine.now()
            if now &- lastPoll >= SignatureReloader.pollInterval {
                lastPoll = now
                let f = currentFingerprint()
                if f != fingerprint { fingerprint = f; due = true }
            }
        }
        guard due else { return nil }
        if paths.isEmpty {
            log("reload: the bundled signatures are compiled into the binary; nothing to reload (use --signatures PATH)")
            return nil
        }
        let sources: [SignatureSource]
        do { sources = try SignatureLoader.sources(at: paths) } catch {
            log("reload failed, keeping every signature as it was: \(error)")
            return nil
        }
        fingerprint = currentFingerprint()
        let out = engine.reload(sources, limits: limits)
        for (path, reason) in out.failed {
            log("reload: \(reason) — the previous version of \(path) keeps running" )
        }
        log("reload: \(out.reloaded.count) reloaded, \(out.added.count) added, \(out.removed.count) removed, "
            + "\(out.unchanged.count) unchanged, \(out.failed.count) failed; \(engine.signatures.count) active")
        return out
    }
}
