/// Who made the call. Field names are the Lua and capture names.
public struct ProcessContext: Sendable, Equatable {
    public var pid: Int32 = 0
    public var tid: Int32 = 0
    public var ppid: Int32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var comm: String = ""
    public var exe: String = ""
    /// Container id from the cgroup path, empty on the host.
    public var container: String = ""
    public var cgroup: UInt64 = 0
    public var mntns: UInt64 = 0
    public var pidns: UInt64 = 0
    /// The call was a 32-bit compat syscall (`int $0x80` or a 32-bit process on x86_64).
    public var compat: Bool = false
    /// Word size of the program itself, from its memory image (64, or 32 for an ia32 program); 0
    /// when unknown. A 64-bit program making a compat call is the ABI-evasion shape.
    public var bits: UInt8 = 0
    /// The executable's identity: inode and device (as stat(2) reports st_dev) of the file, and the
    /// type of the filesystem it is on ("ext4", "tmpfs", "overlay", ...). A name or a path can be
    /// chosen by the process; the file behind them cannot. 0 / "" when unknown (replay of older
    /// captures, kernel threads).
    public var exeIno: UInt64 = 0
    public var exeDev: UInt64 = 0
    public var exeFs: String = ""

    public init() {}
    public init(pid: Int32, tid: Int32, ppid: Int32, uid: UInt32, gid: UInt32, comm: String, exe: String = "",
                container: String = "", cgroup: UInt64 = 0, mntns: UInt64 = 0, pidns: UInt64 = 0, compat: Bool = false,
                bits: UInt8 = 0) {
        self.pid = pid; self.tid = tid; self.ppid = ppid; self.uid = uid; self.gid = gid; self.comm = comm
        self.exe = exe; self.container = container; self.cgroup = cgroup; self.mntns = mntns; self.pidns = pidns
        self.compat = compat; self.bits = bits
    }
}

/// A decoded kernel event: one syscall (entry and exit folded together) or one process event.
///
/// Arguments are positional, in catalogue order, so the hot path never looks a name up.
public struct Event: Sendable, Equatable {
    public var kind: EventKind
    /// Nanoseconds since the Unix epoch, taken at syscall entry.
    public var time: UInt64
    /// Return value at exit (syscalls); 0 for process events.
    public var ret: Int64
    public var process: ProcessContext
    /// One slot per catalogue argument; `nil` when the argument was not captured.
    public var args: [Value?]
    /// Exit-time re-reads of TOCTOU arguments (same indexing; `nil` elsewhere).
    public var exitArgs: [Value?]
    /// Bit `i` is set when argument `i` read differently at entry and exit.
    public var changed: UInt64
    /// Bit `i` is set when argument `i` could not be read at entry (memory not resident yet) and its
    /// value is the read at exit, after the kernel faulted the memory in.
    public var late: UInt64 = 0
    /// Bit `i` is set when argument `i` was cut to the probe's limits (a long string or vector, a
    /// message with more control data, descriptors or entries than it keeps). Cut strings and
    /// vectors end with a digest of the whole value (``LongValue``); what a message had past the
    /// cut is summarised, never dropped silently.
    public var truncated: UInt64 = 0
    /// How the call reached the kernel when not as its own syscall: `socketcall` (ia32's
    /// multiplexer) or `io_uring` (a request in a submission ring: no syscall at all; a
    /// descriptor argument is the one the request named, -1 for a fixed-file index).
    public var via: Via? = nil

    public enum Via: String, Sendable, Equatable, CaseIterable {
        case socketcall
        case ioUring = "io_uring"
    }

    public init(kind: EventKind, time: UInt64 = 0, ret: Int64 = 0, process: ProcessContext = ProcessContext(),
                args: [Value?]? = nil, exitArgs: [Value?]? = nil, changed: UInt64 = 0) {
        let n = kind.spec.args.count
        self.kind = kind; self.time = time; self.ret = ret; self.process = process
        self.args = args ?? [Value?](repeating: nil, count: n)
        self.exitArgs = exitArgs ?? [Value?](repeating: nil, count: n)
        self.changed = changed
        precondition(self.args.count == n && self.exitArgs.count == n, "argument count does not match the catalogue")
    }

    public var name: String { kind.name }
    public var spec: EventSpec { kind.spec }

    public subscript(arg name: String) -> Value? {
        get { spec.argIndex(name).flatMap { args[$0] } }
        set { if let i = spec.argIndex(name) { args[i] = newValue } }
    }

    public func exitArg(_ name: String) -> Value? { spec.argIndex(name).flatMap { exitArgs[$0] } }

    /// Names of the arguments in `changed`, in catalogue order.
    public var changedNames: [String] { names(changed) }

    /// Names of the arguments in `late`, in catalogue order.
    public var lateNames: [String] { names(late) }

    /// Names of the arguments in `truncated`, in catalogue order.
    public var truncatedNames: [String] { names(truncated) }

    private func names(_ bits: UInt64) -> [String] {
        guard bits != 0 else { return [] }
        return spec.args.indices.filter { bits & (1 << UInt64($0)) != 0 }.map { spec.args[$0].name }
    }

    /// Sets `changed` by comparing entry and exit reads of every TOCTOU argument that has both.
    public mutating func computeChanged() {
        var bits: UInt64 = 0
        for i in spec.toctouArgs {
            if let a = args[i], let b = exitArgs[i], !Event.sameInput(a, b, type: spec.args[i].type) { bits |= 1 << UInt64(i) }
        }
        changed = bits
    }

    /// Compares only what the caller supplies to the kernel. For message headers the kernel
    /// legitimately writes `flags` back, and per-message `len` in vectors; those are outputs.
    static func sameInput(_ a: Value, _ b: Value, type: ArgType) -> Bool {
        switch type {
        case .msghdr: return stripOutputs(a) == stripOutputs(b)
        case .string, .argv: return LongValue.same(a, b)
        case .mmsghdrs:
            guard case .array(let x) = a, case .array(let y) = b, x.count == y.count else { return a == b }
            for (m, n) in zip(x, y) where stripOutputs(m["msg"] ?? .null) != stripOutputs(n["msg"] ?? .null) { return false }
            return true
        default: return a == b
        }
    }

    private static func stripOutputs(_ v: Value) -> Value {
        guard case .object(var f) = v else { return v }
        f["flags"] = nil
        return .object(f)
    }
}
