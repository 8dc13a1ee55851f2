#if canImport(Glibc)
import Glibc
#endif
import CLuaSandbox
import MoonwatchCore

/// Limits every signature runs under. Defaults come from the C side.
public struct SandboxLimits: Sendable, Equatable {
    public var memoryBytes: Int
    public var instructionsPerCall: Int64
    public var instructionsAtLoad: Int64
    /// CPU time one call (or running the file at load) may take before the watchdog stops it.
    public var callTimeoutMilliseconds: Int64
    public var maxFindingsPerCall: Int
    /// A finding's data (as JSON) over this is replaced by {"truncated":true,...}, and counted.
    public var maxFindingBytes: Int
    /// A finding's message over this is cut (at a character boundary), and counted.
    public var maxMessageBytes: Int

    public static let `default`: SandboxLimits = {
        let l = mw_default_limits()
        return SandboxLimits(memoryBytes: l.memory_bytes, instructionsPerCall: l.instructions_per_call,
                             instructionsAtLoad: l.instructions_at_load, callTimeoutMilliseconds: l.call_timeout_ms,
                             maxFindingsPerCall: l.max_findings_per_call, maxFindingBytes: l.max_finding_bytes,
                             maxMessageBytes: l.max_message_bytes)
    }()

    public init(memoryBytes: Int, instructionsPerCall: Int64, instructionsAtLoad: Int64, callTimeoutMilliseconds: Int64,
                maxFindingsPerCall: Int, maxFindingBytes: Int, maxMessageBytes: Int) {
        self.memoryBytes = memoryBytes; self.instructionsPerCall = instructionsPerCall
        self.instructionsAtLoad = instructionsAtLoad; self.callTimeoutMilliseconds = callTimeoutMilliseconds
        self.maxFindingsPerCall = maxFindingsPerCall; self.maxFindingBytes = maxFindingBytes
        self.maxMessageBytes = maxMessageBytes
    }

    var c: mw_limits {
        mw_limits(memory_bytes: memoryBytes, instructions_per_call: instructionsPerCall,
                  instructions_at_load: instructionsAtLoad, call_timeout_ms: callTimeoutMilliseconds,
                  max_findings_per_call: maxFindingsPerCall, max_finding_bytes: maxFindingBytes,
                  max_message_bytes: maxMessageBytes)
    }
}

/// The process's watchdog over signature calls (see watchdog.c): every call into a sandbox is
/// bounded in time, including calls stuck inside a C function.
public enum Watchdog {
    /// Makes every running and later call stop after a short wall-clock limit. Async-signal-safe:
    /// SIGINT/SIGTERM handlers call it so shutdown never waits on a stuck signature.
    public static func requestStop() { mw_watchdog_request_stop() }
    /// Back to normal limits (tests that simulate a stop in-process).
    public static func resetStop() { mw_watchdog_reset_stop() }
    /// Interrupt signals sent, and stuck calls abandoned, since the process started.
    public static var interrupts: UInt64 { mw_watchdog_interrupts() }
    public static var escapes: UInt64 { mw_watchdog_escapes() }
}

/// Why a call into a signature failed.
public enum SandboxFailure: String, Sendable {
    case runtime, budget, memory, syntax, contract, timeout

    init?(_ s: mw_status) {
        switch s {
        case MW_OK: return nil
        case MW_ERR_BUDGET: self = .budget
        case MW_ERR_MEMORY: self = .memory
        case MW_ERR_SYNTAX: self = .syntax
        case MW_ERR_CONTRACT: self = .contract
        case MW_ERR_TIMEOUT: self = .timeout
        default: self = .runtime
        }
    }
}

/// A finding as the sandbox recorded it, before the host attaches metadata and the event.
public struct RawFinding: Sendable {
    public var message: String
    public var severity: Severity?
    public var data: Value
    /// `report{ dedup = ... }`: the signature's own key for "the same finding again".
    public var dedupKey: String?
}

enum SignatureRuntime {
    /// Hands the catalogue's names to C once (thread-safe: Swift globals initialize once).
    private static let registered: Bool = {
        for kind in Catalogue.kinds {
            let spec = kind.spec
            var cNames = spec.args.map { strdup($0.name) }
            defer { cNames.forEach { free($0) } }
            cNames.withUnsafeMutableBufferPointer { buf in
                buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { names in
                    mw_register_kind(UInt32(kind.rawValue), spec.name, UInt32(spec.args.count), names.baseAddress)
                }
            }
        }
        return true
    }()

    static func registerCatalogue() { _ = registered }
}

/// One `lua_State` owned by one signature. Not thread-safe: confined to the pipeline thread.
public final class LuaSandbox {
    let raw: OpaquePointer
    public let limits: SandboxLimits

    public init?(limits: SandboxLimits = .default) {
        SignatureRuntime.registerCatalogue()
        var c = limits.c
        guard let s = mw_sandbox_new(&c) else { return nil }
        raw = s
        self.limits = limits
    }

    deinit { mw_sandbox_free(raw) }

    /// Lua shortens chunk names past 60 bytes ("...end/of/path.lua"), so chunks get short tokens
    /// and messages get the real paths back.
    private var chunkPaths: [(token: String, path: String)] = []

    private func token(for path: String) -> String {
        let t = "@\(chunkPaths.count + 1)"
        chunkPaths.append((t, path))
        return "=" + t
    }

    /// The last error, with file paths restored ("path:12: message").
    public var lastError: String {
        var m = String(decoding: UnsafeRawBufferPointer(start: mw_sandbox_error(raw), count: strlen(mw_sandbox_error(raw))), as: UTF8.self)
        for (t, path) in chunkPaths.reversed() { m = m.replacingAll(t + ":", with: path + ":") }
        return m
    }

    /// Runs the file; it must return a table.
    public func load(source: String, path: String) -> SandboxFailure? {
        var source = source
        let name = token(for: path)
        let status = source.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { mw_sandbox_load(raw, $0.baseAddress, $0.count, name) }
        }
        return SandboxFailure(status)
    }

    public func installLibrary(named name: String, source: String, path: String) -> SandboxFailure? {
        var source = source
        let chunk = token(for: path)
        let status = source.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { mw_sandbox_install_library(raw, name, $0.baseAddress, $0.count, chunk) }
        }
        return SandboxFailure(status)
    }

    /// The returned table as a `Value` (functions appear as the string "<function>").
    public func describe() -> Value? {
        var len = 0
        guard let p = mw_sandbox_describe(raw, &len) else { return nil }
        return try? JSONParser.parse(UnsafeRawBufferPointer(start: p, count: len))
    }

    public func hasFunction(_ field: String) -> Bool { mw_sandbox_has_function(raw, field) != 0 }

    /// The process table `mw.process()` reads; held, so it lives as long as the sandbox reads it.
    public var processTable: ProcessTable? {
        didSet { mw_sandbox_set_proctable(raw, processTable?.raw) }
    }

    /// Sets a global of the sandbox to `value` (tables for objects and arrays).
    public func setGlobal(_ name: String, _ value: Value) -> SandboxFailure? {
        let tape = EventTape()
        tape.load(value: value)
        return SandboxFailure(tape.withTape { mw_sandbox_set_global(raw, name, $0) })
    }

    public func onEvent(_ tape: EventTape) -> SandboxFailure? {
        SandboxFailure(tape.withTape { mw_sandbox_on_event(raw, $0) })
    }

    public func onFinish() -> SandboxFailure? { SandboxFailure(mw_sandbox_on_finish(raw)) }

    public var pendingFindingCount: Int { mw_sandbox_finding_count(raw) }
    public var droppedFindingCount: Int { mw_sandbox_findings_dropped(raw) }
    public var cutFindingCount: Int { mw_sandbox_findings_cut(raw) }

    /// Findings reported during the last call; clears them. `bytes` receives their size as the
    /// sandbox kept them (message and data JSON): what they will cost until they are written.
    public func takeFindings(bytes: inout Int) -> [RawFinding] {
        let n = mw_sandbox_finding_count(raw)
        guard n > 0 else { return [] }
        var out: [RawFinding] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let f = mw_sandbox_finding(raw, i)
            bytes += f.message_len + f.data_len
            let message = string(f.message, f.message_len)
            let sev = f.severity_len > 0 ? Severity(rawValue: string(f.severity, f.severity_len)) : nil
            let data = (try? JSONParser.parse(UnsafeRawBufferPointer(start: f.data_json, count: f.data_len))) ?? .object(Value.Fields())
            out.append(RawFinding(message: message, severity: sev, data: data,
                                  dedupKey: f.has_dedup != 0 ? string(f.dedup, f.dedup_len) : nil))
        }
        mw_sandbox_clear_findings(raw)
        return out
    }

    /// Lines the signature printed since the last call; clears them.
    public func takeLog() -> [String] {
        var len = 0, n = 0
        guard let p = mw_sandbox_log(raw, &len, &n), n > 0 else { return [] }
        let buf = UnsafeRawBufferPointer(start: p, count: len)
        let lines = buf.split(separator: 0, omittingEmptySubsequences: false).prefix(n).map { String(decoding: $0, as: UTF8.self) }
        mw_sandbox_clear_log(raw)
        return lines
    }

    /// A call was stuck inside a C function and abandoned: this sandbox cannot run again.
    public var isAbandoned: Bool { mw_sandbox_abandoned(raw) != 0 }

    public var memoryUsed: Int { mw_sandbox_memory_used(raw) }
    public var memoryPeak: Int { mw_sandbox_memory_peak(raw) }
    public var lastInstructions: Int64 { mw_sandbox_last_instructions(raw) }

    private func string(_ p: UnsafePointer<CChar>?, _ n: Int) -> String {
        guard let p, n > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }
}

extension String {
    /// Replaces every occurrence of `target` (plain text, no patterns).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) {
                out += replacement
                i = index(i, offsetBy: target.count)
            } else {
                out.append(self[i])
                i = index(after: i)
            }
        }
        return out
    }
}
