#if canImport(Glibc)
import Glibc
#endif
import CMoonwatchWire
import MoonwatchCore

/// What to capture and from whom. Everything here is enforced in the kernel.
public struct LiveOptions: Sendable {
    /// What may leave the kernel, per event kind: nothing else does. Replaceable while running
    /// (`LiveSource.update(interest:)`).
    public var interest: KernelInterest
    /// Only these processes and their descendants (followed through forks).
    public var pids: [Int32] = []
    /// Only tasks whose comm is one of these (at most 8, 15 bytes each).
    public var comms: [String] = []
    /// Only these real uids (at most 8).
    public var uids: [UInt32] = []
    /// Ring buffer size in bytes (a power of two, at least one page).
    public var ringBytes: Int = 16 << 20
    /// How long the reader sleeps between drains when the kernel does not wake it, ms.
    public var pollMilliseconds: Int32 = 25
    /// Events handed to the engine at once, at most.
    public var batchSize: Int = 1024
    /// Where a rejected program's verifier log goes; nil: $TMPDIR (or /tmp)/moonwatch-PID.verifier.log.
    public var verifierLogPath: String?
    /// Warnings while running (kernel drops); called from the monitor thread.
    public var warn: (@Sendable (String) -> Void)?
    /// How often the kernel's drop counters are checked for the warning, ms.
    public var dropCheckMilliseconds: Int = 500
    /// Only try this attach mode ("tp_btf" or "raw_tp"); nil tries tp_btf, then raw_tp.
    public var forceMode: String?
    /// Attach the syscall and scheduler programs even when the first interest needs none of
    /// them, so that a later `update(interest:)` can add any kind (`run` with reload).
    public var attachAll = false
    /// Time every program run in the kernel (bpf_stats; two clock reads per run), for
    /// `LiveSource.programStatistics()`.
    public var programStatistics = false
    /// Sees every ring-buffer record as it arrives, before it is decoded, on the reader thread
    /// (the header's fields that events do not carry, for diagnostics and tests).
    public var recordObserver: (@Sendable (UnsafeRawBufferPointer) -> Void)?

    public init(interest: KernelInterest) { self.interest = interest }

    /// Everything of these kinds (`moonwatch capture`).
    public init(kinds: Set<EventKind>) { self.init(interest: .everything(kinds)) }

    /// Scope limits of the kernel filter.
    public static let maxScopeValues = Int(MW_MAX_SCOPE)

    func validate() throws(ProbeError) {
        if comms.count > LiveOptions.maxScopeValues || uids.count > LiveOptions.maxScopeValues {
            throw .system("at most \(LiveOptions.maxScopeValues) --comm and \(LiveOptions.maxScopeValues) --uid values")
        }
        for c in comms where c.utf8.count > 15 || c.isEmpty {
            throw .system("--comm \"\(c)\": a comm is 1 to 15 bytes (the kernel truncates longer names)")
        }
        if ringBytes < 4096 || ringBytes & (ringBytes - 1) != 0 || ringBytes > 1 << 30 {
            throw .system("ring buffer size \(ringBytes) must be a power of two between 4 KiB and 1 GiB")
        }
    }
}

/// ia32 socketcall(2) sub-calls and the catalogue event each one is reported as.
enum SocketCall {
    static let events: [Int: String] = [
        1: "socket", 2: "bind", 3: "connect", 4: "listen", 5: "accept", 8: "socketpair",
        9: "sendto", 10: "recvfrom", 11: "sendto", 12: "recvfrom", 16: "sendmsg", 17: "recvmsg",
        18: "accept4", 19: "recvmmsg_time32", 20: "sendmmsg",
    ]
}

/// Builds the kernel's read-only configuration (struct mw_config) from the catalogue and the scope.
enum ProbeConfig {
    static func wireType(_ t: ArgType) -> UInt8 {
        let v: mw_type
        switch t {
        case .int: v = MW_T_INT
        case .uint: v = MW_T_UINT
        case .long: v = MW_T_LONG
        case .ulong: v = MW_T_ULONG
        case .pointer: v = MW_T_POINTER
        case .string: v = MW_T_STRING
        case .argv: v = MW_T_ARGV
        case .sockaddr: v = MW_T_SOCKADDR
        case .msghdr: v = MW_T_MSGHDR
        case .mmsghdrs: v = MW_T_MMSGHDRS
        case .timespec: v = MW_T_TIMESPEC
        case .timespec32: v = MW_T_TIMESPEC32
        case .fdPair: v = MW_T_FDPAIR
        case .intRef: v = MW_T_INTREF
        case .program: v = MW_T_PROGRAM
        case .stdio: v = MW_T_STDIO
        case .sockinfo: v = MW_T_SOCKINFO
        }
        return UInt8(v.rawValue)
    }

    static func phaseBits(_ p: ReadPhase) -> UInt8 {
        switch p {
        case .entry: return UInt8(MW_P_ENTRY)
        case .exit: return UInt8(MW_P_EXIT)
        case .both: return UInt8(MW_P_ENTRY | MW_P_EXIT)
        }
    }

    /// The table entry for one catalogue syscall.
    static func entry(_ kind: EventKind) -> mw_syscall_cfg {
        let spec = kind.spec
        var c = mw_syscall_cfg()
        c.kind = kind.rawValue
        c.valid = 1
        // The registers are the arguments before the facts the probes collect themselves.
        let registers = spec.args.prefix { !$0.type.isCollected }
        c.nargs = UInt8(min(registers.count, Int(MW_MAX_ARGS)))
        c.prog_arg = UInt8(MW_NO_AUX)
        c.stdio_arg = UInt8(MW_NO_AUX)
        c.sock_arg = UInt8(MW_NO_AUX)
        for (i, a) in spec.args.enumerated() {
            switch a.type {
            case .program: c.prog_arg = UInt8(i)
            case .stdio: c.stdio_arg = UInt8(i)
            case .sockinfo: c.sock_arg = UInt8(i)
            default: break
            }
        }
        if spec.name == "execve" || spec.name == "execveat" { c.flags = UInt8(MW_CFG_EXEC) }
        var types = [UInt8](repeating: 0, count: 6), phases = types, aux = [UInt8](repeating: UInt8(MW_NO_AUX), count: 6)
        for (i, a) in registers.prefix(6).enumerated() {
            types[i] = wireType(a.type)
            phases[i] = phaseBits(a.read)
            switch a.type {
            case .sockaddr:
                // The length is the argument named addrlen: a value, or a value-result pointer.
                if let j = spec.argIndex("addrlen"), j < 6 {
                    aux[i] = UInt8(j) | (spec.args[j].type == .intRef ? UInt8(MW_AUX_PTR) : 0)
                }
            case .mmsghdrs:
                if let j = spec.argIndex("vlen"), j < 6 { aux[i] = UInt8(j) }
            default: break
            }
        }
        for i in 0..<6 where types[i] >= UInt8(MW_T_STRING.rawValue) {
            if phases[i] & UInt8(MW_P_ENTRY) != 0 { c.read_entry |= 1 << UInt8(i) }
            if phases[i] & UInt8(MW_P_EXIT) != 0 { c.read_exit |= 1 << UInt8(i) }
        }
        c.msg_arg = spec.messageArgs.first.map { UInt8($0) } ?? UInt8(MW_NO_AUX)
        c.type = (types[0], types[1], types[2], types[3], types[4], types[5])
        c.phase = (phases[0], phases[1], phases[2], phases[3], phases[4], phases[5])
        c.aux = (aux[0], aux[1], aux[2], aux[3], aux[4], aux[5])
        return c
    }

    /// Fills `buf` (the .rodata.mwcfg image): the scope and every catalogue syscall's table entry.
    /// Which kinds are captured is not here but in the interest tables (`FilterTables`).
    static func write(_ options: LiveOptions, selfTGID: Int32, into buf: UnsafeMutableRawBufferPointer) throws(ProbeError) {
        guard buf.count == MemoryLayout<mw_config>.size else {
            throw .objectMissing("configuration section is \(buf.count) bytes, this build expects \(MemoryLayout<mw_config>.size)")
        }
        buf.initializeMemory(as: UInt8.self, repeating: 0)
        var cfg = mw_config()
        cfg.version = UInt32(MW_WIRE_VERSION)
        cfg.self_tgid = UInt32(bitPattern: selfTGID)
        var filter: Int32 = 0
        if !options.pids.isEmpty { filter |= MW_FILTER_PID }
        if !options.comms.isEmpty { filter |= MW_FILTER_COMM }
        if !options.uids.isEmpty { filter |= MW_FILTER_UID }
        cfg.filter = UInt32(filter)
        // Wake the reader early once an eighth of the ring is pending; timed polls do the rest.
        cfg.wake_bytes = UInt32(options.ringBytes / 8)
        cfg.kind_fork = Catalogue.kind(named: "process_fork")?.rawValue ?? 0xffff
        cfg.kind_exit = Catalogue.kind(named: "process_exit")?.rawValue ?? 0xffff
        cfg.n_uids = UInt32(options.uids.count)
        withUnsafeMutableBytes(of: &cfg.uids) { u in
            for (i, v) in options.uids.enumerated() { u.storeBytes(of: v, toByteOffset: 4 * i, as: UInt32.self) }
        }
        cfg.n_comms = UInt32(options.comms.count)
        withUnsafeMutableBytes(of: &cfg.comms) { c in
            for (i, name) in options.comms.enumerated() {
                for (j, b) in name.utf8.prefix(15).enumerated() { c[16 * i + j] = b }
            }
        }
        buf.storeBytes(of: cfg, as: mw_config.self)

        let stride = MemoryLayout<mw_syscall_cfg>.stride
        let x64 = MemoryLayout<mw_config>.offset(of: \mw_config.x64)!
        let ia32 = MemoryLayout<mw_config>.offset(of: \mw_config.ia32)!
        let sock = MemoryLayout<mw_config>.offset(of: \mw_config.socketcall)!
        let slots = Int(MW_NR_SLOTS)
        for kind in Catalogue.kinds where kind.spec.isSyscall {
            let e = entry(kind)
            if let n = kind.spec.x86_64Number, n >= 0, n < slots { buf.storeBytes(of: e, toByteOffset: x64 + n * stride, as: mw_syscall_cfg.self) }
            for n in kind.spec.ia32Numbers where n >= 0 && n < slots {  // fcntl64 is fcntl's second ia32 number
                buf.storeBytes(of: e, toByteOffset: ia32 + n * stride, as: mw_syscall_cfg.self)
            }
            for (call, name) in SocketCall.events where name == kind.name {
                buf.storeBytes(of: e, toByteOffset: sock + call * stride, as: mw_syscall_cfg.self)
            }
        }
        var sc = mw_syscall_cfg()
        sc.valid = 1
        sc.nargs = 2
        sc.flags = UInt8(MW_CFG_SOCKETCALL)
        sc.msg_arg = UInt8(MW_NO_AUX)
        sc.aux = (0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
        buf.storeBytes(of: sc, toByteOffset: ia32 + Int(MW_IA32_SOCKETCALL) * stride, as: mw_syscall_cfg.self)
    }
}
