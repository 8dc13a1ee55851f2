#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore

/// Writes events as native JSON lines (the capture format `replay` reads back).
public final class CaptureWriter {
    private var fd: Int32
    private let path: String
    private let ownsFD: Bool
    private var w = JSONWriter(capacity: 1 << 16)
    public private(set) var written: UInt64 = 0

    /// `path` "-" writes to standard output.
    public init(path: String) throws(SystemError) {
        self.path = path
        if path == "-" {
            fd = 1; ownsFD = false
        } else {
            fd = try FileSystem.openForOutput(path)
            ownsFD = true
        }
    }

    deinit {
        try? flush()
        if ownsFD { close(fd) }
    }

    public func write(_ events: [Event]) throws(SystemError) {
        for e in events {
            EventJSON.write(e, to: &w)
            w.bytes.append(0x0A)
        }
        written += UInt64(events.count)
        if w.bytes.count >= 1 << 16 { try flush() }
    }

    public func flush() throws(SystemError) {
        guard !w.bytes.isEmpty else { return }
        try FileSystem.writeAll(fd, w.bytes, path: path)
        w.bytes.removeAll(keepingCapacity: true)
    }

    /// Continues in `newFD` (the file opened again at the same path after logrotate moved it),
    /// closing the old one once what was pending is written to it.
    public func replaceDescriptor(_ newFD: Int32) throws(SystemError) {
        guard ownsFD else { close(newFD); return }
        defer { close(fd); fd = newFD }
        try flush()
    }

    /// The file written, nil for standard output.
    public var filePath: String? { ownsFD ? path : nil }
}

/// Passes another source's batches through, writing each to a capture file on the way
/// (`run --capture`, `capture`).
public final class TeeSource: EventSource {
    private let inner: EventSource
    private let writer: CaptureWriter

    public init(_ inner: EventSource, _ writer: CaptureWriter) { self.inner = inner; self.writer = writer }

    public func next(into batch: inout [Event]) throws -> Bool {
        let more = try inner.next(into: &batch)
        if !batch.isEmpty { try writer.write(batch) }
        return more
    }

    public var stats: SourceStats { inner.stats }
}
