import CLuaSandbox
import MoonwatchCore

/// Feeds the C process table that `mw.process()` and `mw.ancestors()` read. Every event's process
/// context is offered; the table keeps one entry per pid and ignores unchanged ones cheaply.
/// Pipeline thread only (like the sandboxes that read it).
public enum ProcessTable {
    static let forkKind = Catalogue.kind(named: "process_fork")
    static let exitKind = Catalogue.kind(named: "process_exit")
    static let childPidArg = forkKind.flatMap { $0.spec.argIndex("child_pid") }

    /// The last context offered: consecutive events of one process skip the C call.
    nonisolated(unsafe) private static var last = ProcessContext()

    public static func observe(_ e: Event) {
        let p = e.process
        if p.pid != last.pid || p.ppid != last.ppid || p.uid != last.uid || p.comm != last.comm || p.exe != last.exe
            || p.mntns != last.mntns || p.pidns != last.pidns || p.exeIno != last.exeIno || p.exeDev != last.exeDev {
            put(pid: p.pid, ppid: p.ppid, p)
            last = p
        }
        if e.kind == forkKind, let i = childPidArg, let child = e.args[i]?.int64, let pid = Int32(exactly: child), pid != e.process.pid {
            put(pid: pid, ppid: e.process.pid, e.process)
        }
    }

    /// After the event went through the signatures: a process that exited leaves the table.
    public static func retire(_ e: Event) {
        if e.kind == exitKind, e.process.tid == e.process.pid {
            mw_proctable_remove(e.process.pid)
            if last.pid == e.process.pid { last = ProcessContext() }
        }
    }

    public static func clear() {
        mw_proctable_clear()
        last = ProcessContext()
    }

    /// Adds one entry directly (startup snapshot from /proc, tests).
    public static func put(pid: Int32, ppid: Int32, _ p: ProcessContext) {
        var comm = p.comm, exe = p.exe
        comm.withUTF8 { c in
            exe.withUTF8 { x in
                c.withMemoryRebound(to: CChar.self) { cc in
                    x.withMemoryRebound(to: CChar.self) { xx in
                        _ = mw_proctable_put(pid, ppid, p.uid, cc.baseAddress, cc.count, xx.baseAddress, xx.count, p.mntns, p.pidns,
                                             p.exeIno, p.exeDev)
                    }
                }
            }
        }
    }
}
