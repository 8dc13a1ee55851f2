/// What an argument carries and how it is decoded. The Lua view, the capture format, the docs and
/// the LuaCATS stubs all derive their shapes from this.
public enum ArgType: String, Sendable, CaseIterable {
    case int            // C int, and other 32-bit signed values
    case uint           // unsigned int / 32-bit flags
    case long           // long, 64-bit signed
    case ulong          // size_t, unsigned long
    case pointer        // an address, reported as an integer; the target is not read
    case string         // NUL-terminated user string (path, name)
    case argv           // NULL-terminated array of user strings
    case sockaddr       // struct sockaddr, decoded by family
    case msghdr         // struct msghdr / compat_msghdr, decoded
    case mmsghdrs       // array of struct mmsghdr, decoded
    case timespec       // struct __kernel_timespec
    case timespec32     // struct old_timespec32
    case fdPair         // int[2] written by the kernel
    case intRef         // int * the kernel reads and/or writes (value-result length)
    case program        // exec: the file the kernel executed, with its identity (not a register)
    case stdio          // exec: what descriptors 0, 1, 2 of the new image refer to (not a register)
    case sockinfo       // the call's socket: its inode, family, addresses, peer (not a register)

    /// The Lua/JSON shape of a decoded value of this type, for docs and type stubs.
    public var shape: String {
        switch self {
        case .int, .uint, .long, .ulong, .pointer: return "integer"
        case .string: return "string"
        case .argv: return "string[]"
        case .sockaddr: return "sockaddr"
        case .msghdr: return "msghdr"
        case .mmsghdrs: return "mmsghdr[]"
        case .timespec, .timespec32: return "timespec"
        case .fdPair: return "integer[]"
        case .intRef: return "integer"
        case .program: return "program"
        case .stdio: return "stdio[]"
        case .sockinfo: return "socket"
        }
    }

    /// Not a syscall argument but a fact the probes collect with the call (from the kernel), kept
    /// among the arguments so that signatures, captures and docs see it the same way.
    public var isCollected: Bool {
        switch self {
        case .program, .stdio, .sockinfo: return true
        default: return false
        }
    }
}

/// Argument tags, as in the design: where a value comes from and whether it can race.
public struct ArgTags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The value comes from the kernel: a register or kernel memory.
    public static let K = ArgTags(rawValue: 1)
    /// A user-space pointer whose target is read.
    public static let U = ArgTags(rawValue: 2)
    /// User memory the kernel reads after the tracer may have read it: read at entry and at exit.
    public static let TOCTOU = ArgTags(rawValue: 4)
    /// May be absent or NULL.
    public static let OPT = ArgTags(rawValue: 8)
    /// User memory the kernel read at entry but moonwatch reads only at exit: what is reported is
    /// what the memory held when the call returned, not necessarily what the kernel used.
    public static let AFTER = ArgTags(rawValue: 16)

    /// "K", "U,TOCTOU,OPT", …
    public var label: String {
        var parts: [String] = []
        if contains(.K) { parts.append("K") }
        if contains(.U) { parts.append("U") }
        if contains(.TOCTOU) { parts.append("TOCTOU") }
        if contains(.OPT) { parts.append("OPT") }
        if contains(.AFTER) { parts.append("AFTER") }
        return parts.joined(separator: ",")
    }
}

/// When the probe reads an argument.
public enum ReadPhase: String, Sendable {
    case entry   // at sys_enter (registers, or user memory the kernel has not touched yet)
    case exit    // at sys_exit (kernel-written results)
    case both    // at entry and again at exit (TOCTOU arguments)
}

public struct ArgSpec: Sendable {
    public let name: String
    /// The C declaration type, as the man page writes it ("struct msghdr *").
    public let cType: String
    public let type: ArgType
    public let tags: ArgTags
    public let read: ReadPhase
    public let description: String

    public init(_ name: String, _ cType: String, _ type: ArgType, _ tags: ArgTags, _ read: ReadPhase, _ description: String) {
        self.name = name; self.cType = cType; self.type = type; self.tags = tags; self.read = read
        self.description = description
    }
}

public enum EventCategory: String, Sendable, CaseIterable {
    case network, ipc, process, file, memory, module, debugging
}

/// How the kernel reports the event.
public enum EventOrigin: Sendable, Equatable {
    /// A system call, seen at raw `sys_enter`/`sys_exit`. `nil` where the ABI has no such call.
    /// `ia32Aliases`: further ia32 numbers reported as the same event (fcntl64 for fcntl).
    case syscall(x86_64: Int?, ia32: Int?, ia32Aliases: [Int] = [])
    /// A scheduler tracepoint (process lifecycle), not a syscall.
    case tracepoint(String)
}

/// One event of the catalogue: the single source of truth for decoding, docs, stubs and routing.
/// A class so that `event.spec` on hot paths is a reference, not a copy of all its text.
public final class EventSpec: Sendable {
    public let name: String
    public let source: EventOrigin
    public let category: EventCategory
    /// One line: what the event is.
    public let summary: String
    /// What the call does and what the decoded arguments show.
    public let description: String
    /// What the return value means.
    public let returns: String
    public let args: [ArgSpec]
    /// Why a detection engineer would select it.
    public let useCase: String
    /// Known limits of what moonwatch sees (races, truncation, ABI quirks).
    public let notes: [String]
    public let related: [String]

    public init(name: String, source: EventOrigin, category: EventCategory, summary: String, description: String,
                returns: String, args: [ArgSpec], useCase: String, notes: [String], related: [String]) {
        self.name = name; self.source = source; self.category = category; self.summary = summary
        self.description = description; self.returns = returns; self.args = args; self.useCase = useCase
        self.notes = notes; self.related = related
        toctouArgs = args.indices.filter { args[$0].tags.contains(.TOCTOU) }
        messageArgs = args.indices.filter { args[$0].type == .msghdr || args[$0].type == .mmsghdrs }
    }

    public func argIndex(_ name: String) -> Int? { args.firstIndex { $0.name == name } }

    public var x86_64Number: Int? { if case .syscall(let n, _, _) = source { return n }; return nil }
    /// The ia32 number the call is known by (the one the kernel headers give under its name).
    public var ia32Number: Int? { if case .syscall(_, let n, _) = source { return n }; return nil }
    /// Other ia32 numbers reported as this event.
    public var ia32Aliases: [Int] { if case .syscall(_, _, let a) = source { return a }; return [] }
    /// Every ia32 number reported as this event: ia32Number, then the aliases.
    public var ia32Numbers: [Int] { (ia32Number.map { [$0] } ?? []) + ia32Aliases }
    public var isSyscall: Bool { if case .syscall = source { return true }; return false }
    /// Arguments tagged TOCTOU: read at entry and at exit, compared to fill `changed`.
    public let toctouArgs: [Int]
    /// Arguments holding message headers (msghdr or mmsghdr vectors), where control messages live.
    public let messageArgs: [Int]
}
