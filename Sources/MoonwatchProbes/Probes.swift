#if canImport(Glibc)
import Glibc
#endif
import CMoonwatchWire
import Libbpf
import MoonwatchCore
import Synchronization

/// Checks that live capture can work here before touching bpf(2), so the common problems get
/// a precise message instead of a raw EPERM.
public enum Preflight {
    static let btfPath = "/sys/kernel/btf/vmlinux"
    static let CAP_SYS_ADMIN = 21, CAP_PERFMON = 38, CAP_BPF = 39

    /// Effective capability set, from /proc/self/status (read once at start, not per event).
    static func effectiveCaps() -> UInt64 {
        guard let text = try? FileSystem.readText("/proc/self/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst(7).trimmingCharacters(in: " \t"), radix: 16) ?? 0
        }
        return 0
    }

    public static func check() throws(ProbeError) {
        let caps = effectiveCaps()
        func has(_ c: Int) -> Bool { caps & (1 << UInt64(c)) != 0 }
        if !(has(CAP_BPF) && has(CAP_PERFMON)) && !has(CAP_SYS_ADMIN) {
            var missing: [String] = []
            if !has(CAP_BPF) { missing.append("CAP_BPF") }
            if !has(CAP_PERFMON) { missing.append("CAP_PERFMON") }
            throw .notPermitted(euid: geteuid(), missing: missing)
        }
        if access(btfPath, R_OK) != 0 { throw .noBTF(path: btfPath) }
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}

/// The loaded and attached kernel side: the BPF object, its links, its maps, and the live
/// interest tables.
final class Probes {
    let object: BPFObject
    let links: [BPFLink]
    let programs: [BPFProgram]
    let events: BPFMap
    let stats: BPFMap
    let kindStats: BPFMap
    let scope: BPFMap
    /// struct mw_live, shared with the running programs.
    private let live: BPFMappedMemory
    /// Keeps run-time statistics on while the probes live, when asked for.
    private let statistics: BPFStatistics?
    /// "tp_btf" or "raw_tp".
    let mode: String
    /// Why tp_btf was not used, when raw_tp was.
    let fallbackReason: String?
    /// What the current interest could not express exactly (see FilterTables).
    private(set) var interestNotes: [String]

    static let modes = ["tp_btf", "raw_tp"]

    private init(object: BPFObject, links: [BPFLink], programs: [BPFProgram], statistics: BPFStatistics?, mode: String,
                 fallbackReason: String?, notes: [String]) throws(BPFCallError) {
        self.object = object
        self.links = links
        self.programs = programs
        self.statistics = statistics
        self.mode = mode
        self.fallbackReason = fallbackReason
        interestNotes = notes
        events = try object.map("mw_events")
        stats = try object.map("mw_stats")
        kindStats = try object.map("mw_kstats")
        scope = try object.map("mw_scope")
        live = try object.map(".data.mwlive").mapShared()
        guard live.bytes.count >= MemoryLayout<mw_live>.size else {
            throw BPFCallError("mmap", errno: EINVAL, detail: ".data.mwlive is \(live.bytes.count) bytes, this build expects \(MemoryLayout<mw_live>.size)")
        }
    }

    /// Replaces what may leave the kernel while the programs run: writes the half of struct
    /// mw_live not in use, then makes it the one in use. A program reads `gen` once per run, so
    /// it sees either table whole. Before writing, an RCU grace period (membarrier's global
    /// command) lets every program still running on the old half finish.
    func update(_ interest: KernelInterest) {
        let tables = FilterTables(interest)
        let base = live.bytes.baseAddress!
        let genOff = MemoryLayout<mw_live>.offset(of: \mw_live.gen)!
        let fOff = MemoryLayout<mw_live>.offset(of: \mw_live.f)!
        let gen = base.load(fromByteOffset: genOff, as: UInt32.self)
        let next = gen &+ 1
        waitForRunningPrograms()
        var image = tables.image
        withUnsafeBytes(of: &image) { src in
            (base + fOff + Int(next & 1) * MemoryLayout<mw_filter>.stride).copyMemory(from: src.baseAddress!, byteCount: src.count)
        }
        atomicMemoryFence(ordering: .releasing)
        base.storeBytes(of: next, toByteOffset: genOff, as: UInt32.self)
        interestNotes = tables.notes
    }

    /// The compiled object embedded at build time, or the file MOONWATCH_BPF_OBJECT names (for
    /// trying a rebuilt bpf/ without relinking, and for the loader's error-path tests).
    static func embeddedImage() throws(ProbeError) -> [UInt8] {
        if let path = getenv("MOONWATCH_BPF_OBJECT").map({ String(cString: $0) }), !path.isEmpty {
            let bytes: [UInt8]
            do { bytes = try FileSystem.readBytes(path) } catch { throw .objectMissing("MOONWATCH_BPF_OBJECT: \(error)") }
            guard bytes.count > 64, bytes[0] == 0x7f, bytes[1] == 0x45 else { throw .objectMissing("\(path) is not an ELF object") }
            return bytes
        }
        guard let entry = EmbeddedBPF.files.first(where: { $0.path == "moonwatch.bpf.o" }) else {
            throw .objectMissing("moonwatch.bpf.o is not embedded")
        }
        let bytes = Base64.decode(entry.base64)
        guard bytes.count > 64, bytes[0] == 0x7f, bytes[1] == 0x45 else { throw .objectMissing("moonwatch.bpf.o is not an ELF object") }
        return bytes
    }

    /// Opens, configures, loads and attaches, trying tp_btf first and raw_tp if tp_btf does not
    /// load or attach here.
    static func start(_ options: LiveOptions) throws(ProbeError) -> Probes {
        try options.validate()
        try Preflight.check()
        LibbpfLog.install()
        let image = try embeddedImage()
        var failures: [(mode: String, error: ProbeError)] = []
        var logs: [String] = []
        for mode in options.forceMode.map({ [$0] }) ?? modes {
            do throws(ProbeError) {
                let fallback = failures.first.map { "\($0.mode): \($0.error.shortReason)" }
                return try attempt(mode: mode, image: image, options: options, fallbackReason: fallback, logs: &logs)
            } catch {
                failures.append((mode, error))
                // Permission problems do not depend on the program type: stop here.
                if case .refused = error { throw error }
                if case .notPermitted = error { throw error }
            }
        }
        // Report the last failure (raw_tp is the last resort); the log file has every attempt.
        guard var last = failures.last?.error else { throw .system("no attach mode to try") }
        if case .verifierRejected(let program, _, let summary) = last {
            last = .verifierRejected(program: program, logPath: saveLog(options: options, logs), summary: summary)
        }
        throw last
    }

    /// Catalogue events an io_uring request can stand for (IORING_OP_SENDMSG, _CONNECT, _SOCKET,
    /// _OPENAT, _OPENAT2), reported with `via = "io_uring"`.
    static let ioUringKinds: Set<String> = ["sendmsg", "connect", "socket", "openat", "openat2"]

    /// io_uring is built in and not disabled for everyone (kernel.io_uring_disabled = 2): its
    /// tracepoints exist and requests can be made.
    static var ioUringAvailable: Bool {
        guard let s = try? FileSystem.readText("/proc/sys/kernel/io_uring_disabled") else { return false }
        return !s.hasPrefix("2")
    }

    private static func attempt(mode: String, image: [UInt8], options: LiveOptions, fallbackReason: String?,
                                logs: inout [String]) throws(ProbeError) -> Probes {
        let suffix = mode == "tp_btf" ? "_btf" : "_raw"
        let object: BPFObject
        do { object = try BPFObject(image: image, name: "moonwatch") } catch { throw .objectMissing(error.description) }

        let kinds = options.interest.kinds.keys
        let syscalls = options.attachAll || kinds.contains { $0.spec.isSyscall }
        let scoped = !options.pids.isEmpty
        let wantFork = options.attachAll || scoped || kinds.contains { $0.name == "process_fork" }
        let wantExit = options.attachAll || scoped || kinds.contains { $0.name == "process_exit" }
        // What an exec's new image received is read at sched_process_exec.
        let wantExec = options.attachAll || kinds.contains { $0.spec.args.contains { $0.type == .program } }
        // io_uring requests that do what these calls do make no syscall: their own tracepoints.
        let wantUring = Self.ioUringAvailable
            && (options.attachAll || kinds.contains { Self.ioUringKinds.contains($0.name) })
        var toAttach: [BPFProgram] = []
        let tables = FilterTables(options.interest)
        do throws(BPFCallError) {
            for prog in object.programs {
                let name = prog.name
                let base = name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : nil
                let needed: Bool
                switch base {
                case "mw_sys_enter", "mw_sys_exit": needed = syscalls
                case "mw_fork": needed = wantFork
                case "mw_exit": needed = wantExit
                case "mw_execd": needed = wantExec
                case "mw_uring_submit", "mw_uring_complete": needed = wantUring
                default: needed = false
                }
                try prog.setAutoload(needed)
                if needed { toAttach.append(prog) }
            }
            try object.map("mw_events").setMaxEntries(UInt32(options.ringBytes))
            // The first interest goes in before load, in half 0.
            let live = try object.map(".data.mwlive").initialValue()
            guard live.count == MemoryLayout<mw_live>.size else {
                throw BPFCallError("bpf_map__initial_value", errno: EINVAL, detail: ".data.mwlive is \(live.count) bytes, this build expects \(MemoryLayout<mw_live>.size)")
            }
            live.initializeMemory(as: UInt8.self, repeating: 0)
            var img = tables.image
            withUnsafeBytes(of: &img) { src in
                (live.baseAddress! + MemoryLayout<mw_live>.offset(of: \mw_live.f)!).copyMemory(from: src.baseAddress!, byteCount: src.count)
            }
            let cfg = try object.map(".rodata.mwcfg").initialValue()
            do { try ProbeConfig.write(options, selfTGID: getpid(), into: cfg) } catch {
                throw BPFCallError("configuration", errno: EINVAL, detail: error.description)
            }
        } catch {
            throw .objectMissing(error.description)
        }
        if toAttach.isEmpty { throw .system("no events selected") }

        let statistics: BPFStatistics?
        do { statistics = options.programStatistics ? try BPFStatistics() : nil } catch { throw .system(error.description) }

        _ = LibbpfLog.shared.take()
        do {
            try object.load()
        } catch {
            let libbpfText = LibbpfLog.shared.take()
            if error.errno == EPERM { throw .refused("bpf_object__load: \(error)") }
            let program = failedProgram(in: libbpfText) ?? "(unknown)"
            let log = object.verifierLog
            logs.append("== \(mode) programs: libbpf ==\n\(libbpfText)\n== \(mode) programs: verifier log ==\n\(log)\n")
            throw .verifierRejected(program: program, logPath: nil, summary: summary(log: log, libbpf: libbpfText, error: error))
        }

        if scoped {
            do {
                let map = try object.map("mw_scope")
                for pid in options.pids { try map.update(key: UInt32(bitPattern: pid), value: UInt8(1)) }
            } catch {
                throw .system("cannot add the --pid processes to the scope: \(error)")
            }
        }

        var links: [BPFLink] = []
        for prog in toAttach {
            do { links.append(try prog.attach()) } catch {
                if error.errno == EPERM && mode == "raw_tp" { throw .refused("attaching \(prog.name): \(error)") }
                throw .attachFailed("\(mode): \(error)")
            }
        }
        do {
            return try Probes(object: object, links: links, programs: toAttach, statistics: statistics, mode: mode,
                              fallbackReason: fallbackReason, notes: tables.notes)
        } catch {
            throw .system(error.description)
        }
    }

    /// "prog 'NAME': BPF program load failed" in libbpf's output.
    static func failedProgram(in text: String) -> String? {
        for line in text.split(separator: "\n") where line.contains("load failed") || line.contains("failed to load") {
            // libbpf: prog 'mw_sys_enter_btf': BPF program load failed: ...
            let parts = line.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[0].hasSuffix("prog ") { return String(parts[1]) }
        }
        return nil
    }

    /// The verifier's last words: the lines just before its "processed N insns" statistics.
    static func summary(log: String, libbpf: String, error: BPFCallError) -> String {
        let lines = log.split(separator: "\n").map(String.init)
        let end = lines.lastIndex(where: { $0.hasPrefix("processed ") }) ?? lines.count
        // The complaint itself starts after the last instruction line ("12: (79) r1 = ...").
        var start = end
        while start > 0, let first = lines[start - 1].first, !first.isNumber, !lines[start - 1].hasPrefix(";") { start -= 1 }
        let words = lines[start..<end].filter { !$0.isEmpty }.suffix(3)
        if !words.isEmpty { return words.joined(separator: "; ") }
        if let l = libbpf.split(separator: "\n").last(where: { $0.contains("libbpf:") }) { return String(l) }
        return error.description
    }

    /// Writes every failed attempt's libbpf output and verifier log to one file.
    static func saveLog(options: LiveOptions, _ logs: [String]) -> String? {
        guard !logs.isEmpty else { return nil }
        let dir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = options.verifierLogPath ?? "\(dir)/moonwatch-\(getpid()).verifier.log"
        var text = "moonwatch: eBPF programs rejected at load, kernel "
        var u = utsname()
        if uname(&u) == 0 { text += withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        text += "\n\n" + logs.joined(separator: "\n")
        do { try FileSystem.write(path, Array(text.utf8)) } catch { return nil }
        return path
    }
}

extension ProbeError {
    /// One line for "fell back from tp_btf because …".
    var shortReason: String {
        switch self {
        case .verifierRejected(let program, _, let summary): return "\(program) rejected: \(summary)"
        case .attachFailed(let s): return s
        default: return description
        }
    }
}
