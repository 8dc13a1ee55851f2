import CLuaSandbox
import MoonwatchCore

/// The process table that `mw.process()` and `mw.ancestors()` read: one per session (the engine
/// owns one and points its signatures at it), so two sessions in one process, or two test cases,
/// never see each other's processes. Every event's process context is offered; the table keeps
/// one entry per pid and ignores unchanged ones cheaply. Confined to the session's pipeline thread
/// (like the sandboxes that read it).
public final class ProcessTable {
    static let forkKind = Catalogue.kind(named: "process_fork")
    static let exitKind = Catalogue.kind(named: "process_exit")
    static let childPidArg = forkKind.flatMap { $0.spec.argIndex("child_pid") }

    let raw: OpaquePointer
    /// The last context offered: consecutive events of one process skip the C call.
    private var last = ProcessContext()

    public init() {
        guard let t = mw_proctable_new() else { fatalError("moonwatch: out of memory creating a process table") }
        raw = t
    }

    deinit { mw_proctable_free(raw) }

    /// Entries held (tombstones of exited processes included until the table is cleared).
    public var count: Int { mw_proctable_count(raw) }

    @inline(__always)
    public func observe(_ e: Event) {
        let p = e.process
        if p.pid != last.pid || p.ppid != last.ppid || p.uid != last.uid || p.comm != last.comm || p.exe != last.exe
            || p.mntns != last.mntns || p.pidns != last.pidns || p.exeIno != last.exeIno || p.exeDev != last.exeDev {
            put(pid: p.pid, ppid: p.ppid, p)
            last = p
        }
        if e.kind == ProcessTable.forkKind, let i = ProcessTable.childPidArg, let child = e.args[i]?.int64,
           let pid = Int32(exactly: child), pid != e.process.pid {
            put(pid: pid, ppid: e.process.pid, e.process)
        }
    }

    /// After the event went through the signatures: a process that exited leaves the table.
    @inline(__always)
    public func retire(_ e: Event) {
        if e.kind == ProcessTable.exitKind, e.process.tid == e.process.pid {
            mw_proctable_remove(raw, e.process.pid)
            if last.pid == e.process.pid { last = ProcessContext() }
        }
    }

    public func clear() {
        mw_proctable_clear(raw)
        last = ProcessContext()
    }

    /// Adds one entry directly (a start-up snapshot, tests).
    public func put(pid: Int32, ppid: Int32, _ p: ProcessContext) {
        var comm = p.comm, exe = p.exe
        comm.withUTF8 { c in
            exe.withUTF8 { x in
                c.withMemoryRebound(to: CChar.self) { cc in
                    x.withMemoryRebound(to: CChar.self) { xx in
                        _ = mw_proctable_put(raw, pid, ppid, p.uid, cc.baseAddress, cc.count, xx.baseAddress, xx.count, p.mntns, p.pidns,
                                             p.exeIno, p.exeDev)
                    }
                }
            }
        }
    }
}
