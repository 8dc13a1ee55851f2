#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore

/// A bad line in a capture, located by file and line.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads capture files (native JSON lines, or Tracee's JSON event lines, detected per line) and
/// hands out batches of decoded events. Bad lines are reported and counted; with `strict`, the
/// first bad line ends the run.
public final class CaptureReader: EventSource {
    public static let batchSize = 1024
    public static let chunkSize = 1 << 20
    /// How many bad lines are printed before the rest are only counted.
    public static let reportLimit = 20

    public private(set) var stats = SourceStats()
    private let paths: [String]
    private let strict: Bool
    private let log: (String) -> Void
    private var reported = 0

    private var pathIndex = -1
    private var fd: Int32 = -1
    private var displayName = ""
    private var lineNumber = 0
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0, end = 0
    private var eof = true
    private var discarding = false
    /// Lines longer than this are skipped (counted as "line too long") without being buffered.
    public let maxLineBytes: Int
    public static let defaultMaxLineBytes = 4 << 20
    /// Events whose Lua tables would take more than this (EventJSON.luaBytes) are refused here
    /// ("event too large") instead of failing in every signature that selects them.
    public let maxEventBytes: Int
    public static let defaultMaxEventBytes = 8 << 20

    /// `paths` may contain "-" for standard input.
    public init(paths: [String], strict: Bool = false, maxLineBytes: Int = CaptureReader.defaultMaxLineBytes,
                maxEventBytes: Int = CaptureReader.defaultMaxEventBytes, log: @escaping (String) -> Void) {
        self.paths = paths
        self.strict = strict
        self.maxLineBytes = max(1, maxLineBytes)
        self.maxEventBytes = maxEventBytes
        self.log = log
        capacity = CaptureReader.chunkSize
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        if fd > 2 { close(fd) }
        buffer.deallocate()
    }

    /// Opens every file up front so a missing file fails before any work is done.
    public func checkReadable() throws(SystemError) {
        for p in paths where p != "-" {
            let f = open(p, O_RDONLY | O_CLOEXEC)
            guard f >= 0 else { throw SystemError("open", path: p) }
            close(f)
        }
    }

    private func openNext() throws(SystemError) -> Bool {
        if fd > 2 { close(fd) }
        fd = -1
        pathIndex += 1
        guard pathIndex < paths.count else { return false }
        let p = paths[pathIndex]
        if p == "-" {
            fd = 0
            displayName = "<stdin>"
        } else {
            fd = open(p, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemError("open", path: p) }
            displayName = p
        }
        lineNumber = 0
        start = 0; end = 0
        eof = false
        return true
    }

    /// Fills the buffer after moving the unread tail to the front; grows for very long lines.
    private func fill() throws(SystemError) {
        if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            end -= start
            start = 0
        }
        if end == capacity {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
            bigger.copyMemory(from: buffer, byteCount: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        while true {
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: displayName)
            }
            if n == 0 { eof = true } else { end += n }
            return
        }
    }

    public func next(into batch: inout [Event]) throws -> Bool {
        if fd < 0 && pathIndex >= paths.count { return false }
        if fd < 0 { guard try openNextReadable() else { return false } }
        while batch.count < CaptureReader.batchSize {
            // Find the next line in the buffer.
            var nl = -1
            let base = buffer.assumingMemoryBound(to: UInt8.self)
            if end > start {
                if let p = memchr(buffer + start, 0x0A, end - start) {
                    nl = buffer.distance(to: p)
                }
            }
            if nl < 0 {
                if end - start > maxLineBytes || discarding {
                    // Over the cap: the line is counted once and its bytes are dropped as they come
                    // (`replay /dev/zero` reads forever in constant memory).
                    if !discarding {
                        discarding = true
                        lineNumber += 1
                        stats.records += 1
                        skip("line too long", "line longer than \(maxLineBytes) bytes (--max-line), skipped")
                        if let e = pendingStrictError { pendingStrictError = nil; throw e }
                    }
                    start = end
                    if eof { discarding = false; guard try openNextReadable() else { return !batch.isEmpty }; continue }
                    if !batch.isEmpty { return true }
                    try fillOrSkipFile()
                    return true   // hand control back between chunks of a line being skipped
                }
                if !eof {
                    // The next read may block (a pipe, a terminal): hand over what is decoded first.
                    if !batch.isEmpty { return true }
                    try fillOrSkipFile()
                    continue
                }
                if end > start {
                    // Last line without a newline: decode it, calling a failure a truncation.
                    lineNumber += 1
                    handle(UnsafeRawBufferPointer(start: base + start, count: end - start), truncated: true, into: &batch)
                    start = end
                    if let e = pendingStrictError { pendingStrictError = nil; throw e }
                }
                guard try openNextReadable() else { return !batch.isEmpty }
                continue
            }
            if discarding {
                // The end of a line already counted as too long.
                discarding = false
                start = nl + 1
                continue
            }
            lineNumber += 1
            if nl - start > maxLineBytes {
                stats.records += 1
                skip("line too long", "line longer than \(maxLineBytes) bytes (--max-line), skipped")
            } else {
                handle(UnsafeRawBufferPointer(start: base + start, count: nl - start), truncated: false, into: &batch)
            }
            start = nl + 1
            if let e = pendingStrictError { pendingStrictError = nil; throw e }
        }
        return true
    }

    /// Opens the next file that can be opened. Without --strict, a file that cannot be opened is
    /// reported, counted ("unreadable file") and passed over, so the events of the files before
    /// and after it still count; with --strict it ends the input.
    private func openNextReadable() throws -> Bool {
        while true {
            do { return try openNext() } catch {
                try unreadable(error)
            }
        }
    }

    /// Reads more of the current file; a read error is handled like an unreadable file (the rest
    /// of that file is passed over: it reads as ended).
    private func fillOrSkipFile() throws {
        do { try fill() } catch {
            try unreadable(error)
            start = end
            eof = true
            discarding = false
        }
    }

    private func unreadable(_ error: SystemError) throws {
        stats.skipped["unreadable file", default: 0] += 1
        if strict { throw error }
        log(error.description + " (file passed over)")
    }

    private var pendingStrictError: CaptureError?

    private func skip(_ category: String, _ message: String) {
        stats.skipped[category, default: 0] += 1
        let err = CaptureError(file: displayName, line: lineNumber, message: message)
        if strict { pendingStrictError = err; return }
        if reported < CaptureReader.reportLimit {
            reported += 1
            log(err.description + (reported == CaptureReader.reportLimit ? " (further bad lines are only counted)" : ""))
        }
    }

    private func handle(_ line: UnsafeRawBufferPointer, truncated: Bool, into batch: inout [Event]) {
        // Skip blank lines (and a trailing carriage return).
        var n = line.count
        while n > 0, line[n - 1] == 0x0D || line[n - 1] == 0x20 || line[n - 1] == 0x09 { n -= 1 }
        var i = 0
        while i < n, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        if i == n { return }
        stats.records += 1
        let text = UnsafeRawBufferPointer(rebasing: line[i..<n])
        // Lines moonwatch wrote decode directly; anything else takes the general path below.
        if let e = EventJSON.decodeFast(text) {
            accept(e, lineBytes: text.count, into: &batch)
            return
        }
        let value: Value
        do {
            value = try JSONParser.parse(text)
        } catch {
            if truncated { skip("truncated line", "truncated last line (no newline, JSON incomplete: \(error))") }
            else { skip("malformed JSON", "malformed JSON: \(error)") }
            return
        }
        guard case .object(let f) = value else { skip("malformed event", "expected a JSON object per line"); return }
        if f["eventName"] != nil {
            do {
                switch try TraceeEvent.decode(f) {
                case .event(let e): accept(e, lineBytes: text.count, into: &batch)
                case .foreign(let name): stats.foreign[name, default: 0] += 1
                }
            } catch { skip("bad Tracee event", "Tracee event: \(error)") }
            return
        }
        do {
            accept(try EventJSON.decode(value), lineBytes: text.count, into: &batch)
        } catch {
            skip(error.category, error.reason)
        }
    }

    /// One JSON byte builds at most ~40 bytes of Lua (`{},` is a table in a slot), so only long
    /// lines need their size worked out.
    private func accept(_ e: Event, lineBytes: Int, into batch: inout [Event]) {
        if lineBytes * 40 > maxEventBytes {
            let n = EventJSON.luaBytes(e)
            if n > maxEventBytes {
                skip("event too large", "the event would take about \(n) bytes as Lua tables, over the limit of \(maxEventBytes) "
                     + "(half a signature's memory cap, --memory)")
                return
            }
        }
        batch.append(e)
    }
}
