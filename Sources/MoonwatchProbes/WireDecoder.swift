#if canImport(Glibc)
import Glibc
#endif
import CMoonwatchWire
import MoonwatchCore

/// A record the decoder rejected; `category` is the skip reason in the stats.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var category: String
    public var detail: String
    init(_ category: String, _ detail: String) { self.category = category; self.detail = detail }
    public var description: String { "\(category): \(detail)" }
}

/// Decodes ring-buffer records (see moonwatch_wire.h) into catalogue events.
///
/// Every size, offset and index on the wire is checked before use: a record of the wrong size,
/// an unknown kind, a block running past the end are errors the caller counts and skips.
public struct WireDecoder {
    /// What decoding one kind needs, computed once instead of copying the spec per event.
    struct Plan {
        var types: [ArgType]
        var phases: [ReadPhase]
        var nils: [Value?]
        var hasTOCTOU: Bool
    }

    let plans: [Plan]
    var exe = ExeCache()
    var containers = ContainerResolver()
    /// CLOCK_REALTIME - CLOCK_MONOTONIC, to turn kernel timestamps into epoch nanoseconds.
    let clockOffset: Int64
    private(set) var blocksSkipped: UInt64 = 0

    public init(containerRoot: String? = nil) {
        plans = Catalogue.events.map { spec in
            Plan(types: spec.args.map(\.type), phases: spec.args.map(\.read),
                 nils: [Value?](repeating: nil, count: spec.args.count),
                 hasTOCTOU: spec.args.contains { $0.tags.contains(.TOCTOU) })
        }
        clockOffset = WireDecoder.realtimeMinusMonotonic()
        if let containerRoot { containers = ContainerResolver(root: containerRoot) }
    }

    static func realtimeMinusMonotonic() -> Int64 {
        var r = timespec(), m = timespec()
        clock_gettime(CLOCK_MONOTONIC, &m)
        clock_gettime(CLOCK_REALTIME, &r)
        return (Int64(r.tv_sec) - Int64(m.tv_sec)) * 1_000_000_000 + (Int64(r.tv_nsec) - Int64(m.tv_nsec))
    }

    public var exeProcReads: UInt64 { exe.procReads }


    /// One record. `raw` is the record exactly as the ring buffer delivered it.
    public mutating func decode(_ raw: UnsafeRawBufferPointer) throws(WireError) -> Event {
        let hdrSize = Int(MW_HDR_SIZE)
        guard raw.count >= hdrSize else { throw WireError("short record", "\(raw.count) bytes, header needs \(hdrSize)") }
        let h = raw.loadUnaligned(as: mw_event_hdr.self)
        guard h.version == UInt16(MW_WIRE_VERSION) else {
            throw WireError("wire version", "record version \(h.version), this build reads \(MW_WIRE_VERSION)")
        }
        let size = Int(h.size)
        guard size >= hdrSize, size <= raw.count else { throw WireError("bad size", "header says \(size) bytes, record has \(raw.count)") }
        let kindIndex = Int(h.kind)
        guard kindIndex < plans.count else { throw WireError("unknown kind", "kind \(kindIndex) is not in the catalogue") }
        // The probes write only these; anything else is a damaged record, not a process.
        guard h.bits == 0 || h.bits == 32 || h.bits == 64 else { throw WireError("bad header", "word size \(h.bits) is not 0, 32 or 64") }
        // Times and cgroup ids are Lua integers downstream; the kernel never writes one past 2^63.
        guard h.cgroup <= UInt64(Int64.max) else { throw WireError("bad header", "cgroup id \(h.cgroup) is past 2^63") }
        let (t, over) = Int64(bitPattern: h.ts_enter).addingReportingOverflow(clockOffset)
        guard !over, t >= 0, h.ts_enter <= UInt64(Int64.max) else { throw WireError("bad header", "time \(h.ts_enter) is out of range") }
        let kind = EventKind(rawValue: h.kind)
        let plan = plans[kindIndex]
        let compat = h.flags & UInt16(MW_EV_COMPAT) != 0
        let b = WireBytes(UnsafeRawBufferPointer(rebasing: raw[0..<size]))

        var args = plan.nils
        var exitArgs = plan.nils
        var learned: Executable?
        var sawExit = false
        var late: UInt64 = 0
        var truncated: UInt64 = 0
        var interpreted: Int?
        var interpretedCut = false

        // Scalars come from the argument registers in the header.
        let n = min(plan.types.count, Int(MW_MAX_ARGS))
        withUnsafeBytes(of: h.args) { regs in
            for i in 0..<n {
                let r = regs.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                switch plan.types[i] {
                case .int: args[i] = .int(Int64(Int32(truncatingIfNeeded: r)))
                case .uint: args[i] = .int(Int64(UInt32(truncatingIfNeeded: r)))
                case .long: args[i] = .int(compat ? Int64(Int32(truncatingIfNeeded: r)) : Int64(bitPattern: r))
                case .ulong: args[i] = .unsigned(compat ? UInt64(UInt32(truncatingIfNeeded: r)) : r)
                case .pointer: args[i] = .unsigned(r)
                default: break
                }
            }
        }

        // Blocks: what was read from memory.
        var o = hdrSize
        var seen = 0
        while seen < Int(h.nblocks) {
            seen += 1
            guard let arg = b.u8(o), let phase = b.u8(o + 1), let type = b.u8(o + 2), let status = b.u8(o + 3),
                  let len32 = b.u32(o + 4) else { throw WireError("bad block", "block \(seen) header past the record end") }
            let len = Int(len32)
            guard let payload = b.slice(o + 8, len) else { throw WireError("bad block", "block \(seen) payload past the record end") }
            o += 8 + round8(len)

            if arg == UInt8(MW_ARG_EXE) {
                learned = ArgDecode.executable(payload)
                continue
            }
            let i = Int(arg)
            guard i < plan.types.count, type == ProbeConfig.wireType(plan.types[i]) else {
                blocksSkipped += 1
                continue
            }
            let value: Value?
            if status & UInt8(MW_S_NULL) != 0 {
                value = .null
            } else if status & UInt8(MW_S_FAULT) != 0 && len == 0 {
                value = nil  // not captured: the memory could not be read
            } else {
                var cut = false
                value = decodeValue(plan.types[i], payload, compat: compat, status: status, cut: &cut)
                if cut || status & UInt8(MW_S_TRUNC) != 0 { truncated |= 1 << UInt64(i) }
            }
            let isExit = phase == UInt8(MW_P_EXIT)
            if isExit { sawExit = true }
            if isExit && status & UInt8(MW_S_INTERP) != 0 { interpreted = i; interpretedCut = status & UInt8(MW_S_TRUNC) != 0 }
            if isExit && status & UInt8(MW_S_LATE) != 0 {
                // The entry read failed; this read at exit is the value (and nothing to compare).
                if value != nil { args[i] = value; late |= 1 << UInt64(i) }
                continue
            }
            // A TOCTOU argument's exit read goes to exitArgs; an exit-only argument is the value.
            if isExit && plan.phases[i] == .both { exitArgs[i] = value } else if args[i] == nil || !isExit { args[i] = value }
        }

        if let i = interpreted { Self.dropInterpreterArguments(i, plan: plan, args: &args, exitArgs: &exitArgs, late: late, cut: interpretedCut) }

        let pid = Int32(bitPattern: h.pid)
        var p = ProcessContext()
        p.pid = pid
        p.tid = Int32(bitPattern: h.tid)
        p.ppid = Int32(bitPattern: h.ppid)
        p.uid = h.uid
        p.gid = h.gid
        p.comm = withUnsafeBytes(of: h.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let learned { exe.learn(pid: pid, learned) }
        let x = learned ?? exe.executable(pid: pid)
        p.exe = x.path
        p.exeIno = x.ino
        p.exeDev = x.dev
        p.exeFs = x.fs
        p.cgroup = h.cgroup
        p.container = containers.container(cgroup: h.cgroup)
        p.mntns = UInt64(h.mntns)
        p.pidns = UInt64(h.pidns)
        p.compat = compat
        p.bits = h.bits

        let time = UInt64(t)
        var e = Event(kind: kind, time: time, ret: h.ret, process: p, args: args, exitArgs: exitArgs)
        e.late = late
        e.truncated = truncated
        if h.flags & UInt16(MW_EV_URING) != 0 { e.via = .ioUring } else if h.flags & UInt16(MW_EV_SOCKETCALL) != 0 { e.via = .socketcall }
        if plan.hasTOCTOU && sawExit { e.computeChanged() }
        if h.flags & UInt16(MW_EV_PROCESS) != 0, kind.name == "process_exit", p.pid == p.tid { exe.forget(pid: pid) }
        return e
    }

    /// An exec whose file an interpreter ran (a script): the new image's argv starts with the
    /// interpreter's own arguments (interpreter, its optional argument, the file's path) where the
    /// caller's argv[0] was. The exit read keeps the caller's argv[0] and what followed the path,
    /// so that it compares with the entry read; when the path is not found in the first four (or
    /// the entry read was cut to a digest of the caller's vector), there is nothing to compare.
    static func dropInterpreterArguments(_ i: Int, plan: Plan, args: inout [Value?], exitArgs: inout [Value?], late: UInt64, cut: Bool) {
        let isLate = late & (1 << UInt64(i)) != 0
        guard let path = plan.types.indices.first(where: { plan.types[$0] == .string }),
              case .string(let file)? = exitArgs[path] ?? args[path],
              case .array(let v)? = isLate ? args[i] : exitArgs[i] else { return }
        let entry = isLate ? nil : args[i]
        let entryCut: Bool = { if case .array(let e)? = entry, case .string(let s)? = e.last { return s.first == "\u{0}" }; return false }()
        guard !entryCut, !cut, let j = v.indices.prefix(4).dropFirst().first(where: { LongValue.same(v[$0], .string(file)) }) else {
            if isLate { return }  // the value stays what the interpreter received
            exitArgs[i] = nil
            return
        }
        let first: Value = { if case .array(let e)? = entry, let f = e.first { return f }; return .string(file) }()
        let kept: [Value] = [first] + v[(j + 1)...]
        if isLate { args[i] = .array(kept) } else { exitArgs[i] = .array(kept) }
    }

    func decodeValue(_ type: ArgType, _ b: WireBytes, compat: Bool, status: UInt8, cut: inout Bool) -> Value? {
        let digested = status & UInt8(MW_S_DIGEST) != 0 ? ArgDecode.digest(b) : nil
        switch type {
        case .string:
            guard let (rest, marker) = digested else { return .string(b.cString()) }
            return .string(rest.cString() + marker)
        case .argv:
            guard let (rest, marker) = digested, case .array(var v) = ArgDecode.argv(rest) else { return ArgDecode.argv(b) }
            v.append(.string(marker))
            return .array(v)
        case .sockaddr: return b.count == 0 ? .null : ArgDecode.sockaddr(b)
        case .msghdr:
            guard let m = ArgDecode.msghdr(b, compat: compat) else { return nil }
            cut = m.cut
            return m.value
        case .mmsghdrs:
            guard let m = ArgDecode.mmsghdrs(b, compat: compat) else { return nil }
            cut = m.cut
            return m.value
        case .timespec: return ArgDecode.timespec(b)
        case .timespec32: return ArgDecode.timespec32(b)
        case .fdPair: return ArgDecode.fdPair(b)
        case .intRef: return ArgDecode.intRef(b)
        case .program: return ArgDecode.program(b)
        case .stdio: return ArgDecode.stdio(b)
        case .sockinfo: return ArgDecode.sockinfo(b)
        case .int, .uint, .long, .ulong, .pointer: return nil
        }
    }
}
